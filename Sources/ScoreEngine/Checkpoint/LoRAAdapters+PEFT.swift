import Foundation

/// PEFT's adapter folders: `adapter_config.json` and `adapter_model.safetensors`, which `peft`
/// (`PeftModel.from_pretrained(base, folder)`) loads onto the `transformers` model of the base.
extension LoRAAdapters {
    public static let configFileName = "adapter_config.json"
    public static let weightsFileName = "adapter_model.safetensors"

    /// The part of PEFT's `LoraConfig` this engine reads and writes.
    struct PEFTConfig: Codable {
        var peft_type: String? = "LORA"
        var task_type: String? = "CAUSAL_LM"
        var r: Int
        var lora_alpha: Float
        var target_modules: TargetModules
        var lora_dropout: Float? = 0
        var bias: String? = "none"
        var fan_in_fan_out: Bool? = false
        var use_rslora: Bool? = false
        var use_dora: Bool? = false
        var base_model_name_or_path: String?
        var inference_mode: Bool? = true
        var layers_to_transform: [Int]?
        var modules_to_save: [String]?
        var rank_pattern: [String: Int]? = [:]
        var alpha_pattern: [String: Float]? = [:]
        var lora_bias: Bool? = false
        var layer_replication: [[Int]]?
        var trainable_token_indices: [Int]?
        var target_parameters: [String]?
    }

    /// `target_modules`: a list of module names, or one string (PEFT's "all-linear", or a name).
    enum TargetModules: Codable {
        case list([String]), text(String)
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let list = try? container.decode([String].self) { self = .list(list) } else {
                self = .text(try container.decode(String.self))
            }
        }
        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .list(let names): try container.encode(names)
            case .text(let name): try container.encode(name)
            }
        }
    }

    /// Writes the adapters as a PEFT folder, which appears whole (`AtomicFolder`: files libscore
    /// wrote are replaced, other files kept). `baseModel` is recorded as `base_model_name_or_path`.
    public func save(to directory: URL, baseModel: String? = nil) throws {
        try AtomicFolder.write(directory) { try writeFiles(into: $0, baseModel: baseModel) }
    }

    private func writeFiles(into directory: URL, baseModel: String?) throws {
        let base = UnsafePointer(parameters.pointer)
        let list = tensors.map {
            (name: $0.name, shape: $0.shape, values: UnsafeBufferPointer(start: base + $0.offset, count: $0.count))
        }
        try withExtendedLifetime(parameters) {
            try SafeTensorsWriter.write(tensors: list, metadata: ["format": "pt"],
                                        to: directory.appendingPathComponent(Self.weightsFileName))
        }
        let config = PEFTConfig(r: options.rank, lora_alpha: options.alpha,
                                target_modules: .list(options.targets.map(\.rawValue)), base_model_name_or_path: baseModel)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json: Data
        do { json = try encoder.encode(config) } catch {
            throw ScoreError.invalidArgument("cannot encode the adapter config: \(error.localizedDescription)")
        }
        try AtomicFileWriter.write(json + Data("\n".utf8), to: directory.appendingPathComponent(Self.configFileName))
    }

    /// Reads a PEFT LoRA folder for a model of shape `config`. Throws `ScoreError.invalidFile`
    /// naming the file and field for a missing or malformed file, an option this engine does not
    /// implement (DoRA, rsLoRA, biases, fan-in-fan-out weights, per-layer ranks or layer subsets),
    /// an unknown target module, and a missing, extra or wrongly shaped tensor — which is what an
    /// adapter made for another base model gives.
    public static func load(from directory: URL, config: ModelConfig) throws -> LoRAAdapters {
        let configURL = directory.appendingPathComponent(configFileName)
        func invalid(_ reason: String, _ url: URL = configURL) -> ScoreError { .invalidFile(path: url.path, reason: reason) }
        let data: Data
        do { data = try FileContents.read(configURL) } catch {
            throw invalid("cannot read the adapter config: \(error)")
        }
        let peft: PEFTConfig
        do { peft = try JSONDecoder().decode(PEFTConfig.self, from: data) } catch let error as DecodingError {
            throw invalid("malformed adapter config: \(SafeTensorsFile.describe(error))")
        } catch {
            throw invalid("malformed adapter config: \(error.localizedDescription)")
        }
        if let type = peft.peft_type, type != "LORA" { throw invalid("peft_type is \(type), only LORA is supported") }
        let unsupported: [(Bool, String)] = [
            (peft.use_dora == true, "use_dora: DoRA adapters are not supported"),
            (peft.use_rslora == true, "use_rslora: rank-stabilised scaling is not supported"),
            (peft.fan_in_fan_out == true, "fan_in_fan_out: transposed (Conv1D) weights are not supported"),
            ((peft.bias ?? "none") != "none", "bias is \(peft.bias ?? ""): adapter biases are not supported"),
            (!(peft.rank_pattern ?? [:]).isEmpty || !(peft.alpha_pattern ?? [:]).isEmpty,
             "rank_pattern/alpha_pattern: per-layer ranks are not supported"),
            (peft.layers_to_transform != nil, "layers_to_transform: adapters on a subset of layers are not supported"),
            (!(peft.modules_to_save ?? []).isEmpty, "modules_to_save: fully trained extra modules are not supported"),
            (peft.lora_bias == true, "lora_bias: adapter biases are not supported"),
            (peft.layer_replication != nil, "layer_replication is not supported"),
            (peft.trainable_token_indices != nil, "trainable_token_indices: trained embedding rows are not supported"),
            (!(peft.target_parameters ?? []).isEmpty, "target_parameters: adapters on raw parameters are not supported"),
        ]
        if let (_, reason) = unsupported.first(where: { $0.0 }) { throw invalid(reason) }
        let targets: [LoRATarget]
        do {
            switch peft.target_modules {
            case .list(let names): targets = try LoRATarget.parse(names.joined(separator: ","))
            case .text(let name): targets = try LoRATarget.parse(name)
            }
        } catch ScoreError.invalidArgument(let message) {
            throw invalid("target_modules: \(message)")
        }
        let options = LoRAOptions(rank: peft.r, alpha: peft.lora_alpha, targets: targets)
        do {
            try options.validate(for: config)
        } catch ScoreError.invalidArgument(let message) {
            throw invalid("r / lora_alpha / target_modules: \(message)")
        }
        let adapters = try LoRAAdapters(config: config, options: options)
        let weightsURL = directory.appendingPathComponent(weightsFileName)
        let file = try SafeTensorsFile(contentsOf: weightsURL)
        // PEFT writes names without the adapter name; accept files that kept ".default".
        var byName = [String: String]()
        for name in file.names { byName[name.replacingOccurrences(of: ".default.", with: ".")] = name }
        let expected = Set(adapters.tensors.map(\.name))
        if let extra = byName.keys.sorted().first(where: { !expected.contains($0) }) {
            throw invalid("unexpected tensor '\(extra)' (the config targets \(targets.map(\.rawValue)) with "
                          + "\(config.nLayers) layers)", weightsURL)
        }
        for tensor in adapters.tensors {
            guard let stored = byName[tensor.name], let info = file.info(stored) else {
                throw invalid("missing tensor '\(tensor.name)'", weightsURL)
            }
            guard info.shape == tensor.shape else {
                throw invalid("tensor '\(tensor.name)' has shape \(info.shape), this model needs \(tensor.shape): "
                              + "the adapter was made for another base model"
                              + (peft.base_model_name_or_path.map { " (\($0))" } ?? ""), weightsURL)
            }
            try file.copyFloats(stored, into: adapters.parameters.pointer + tensor.offset, count: tensor.count)
        }
        if let bad = (0..<adapters.parameters.count).first(where: { !adapters.parameters.pointer[$0].isFinite }) {
            throw invalid("adapter value \(bad) is not finite", weightsURL)
        }
        return adapters
    }
}
