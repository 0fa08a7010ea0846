import Foundation

/// Hugging Face model folders: `config.json` plus `model.safetensors` (or shards with an index),
/// optionally `generation_config.json` and tokenizer files.
extension Transformer {
    /// Name of the weights file inside a checkpoint folder.
    public static let weightsFileName = CheckpointWeights.singleFileName
    /// Name of the configuration file inside a checkpoint folder.
    public static let configFileName = "config.json"
    /// Files `save(to:copyingTokenizerFrom:)` copies from the source folder when present: the
    /// tokenizer in its `tokenizers` and slow forms, its chat template, and the generation defaults.
    public static let tokenizerFileNames = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
        "tokenizer.model", "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja",
        "chat_template.json",
    ]

    /// Saves the model as a Hugging Face checkpoint folder that `transformers`
    /// (`AutoModelForCausalLM.from_pretrained`) loads as the same model, creating `directory` if
    /// needed: `model.safetensors` holds every tensor of `layout` in F32 under its Hugging Face
    /// name (no `lm_head.weight` when embeddings are tied) and `config.json` the configuration
    /// (see `ModelConfig+HuggingFace.swift`). With `source`, the files of `tokenizerFileNames`
    /// found there are copied too (`source` may be `directory` itself). The folder appears whole
    /// (`AtomicFolder`): an existing one is replaced with every file libscore wrote into it; other
    /// files in it are kept, other subfolders make the save fail. With adapters attached, the weights written are the
    /// merged ones (W + s·B·A: a plain folder that computes what this model computes) unless
    /// `mergingAdapters` is false (the base alone); the model in memory is not changed either way.
    public func save(to directory: URL, copyingTokenizerFrom source: URL? = nil, mergingAdapters: Bool = true) throws {
        try AtomicFolder.write(directory) { folder in
            try writeFiles(into: folder, mergingAdapters: mergingAdapters)
            if let source { try Self.copyTokenizerFiles(from: source, to: folder) }
        }
    }

    /// Writes `model.safetensors` and `config.json` into `directory` (an existing folder).
    func writeFiles(into directory: URL, mergingAdapters: Bool) throws {
        let base = UnsafePointer(parameters.pointer)
        let tensors = layout.tensors.map { tensor in
            (name: tensor.name, shape: tensor.shape,
             values: UnsafeBufferPointer(start: base + tensor.offset, count: tensor.count))
        }
        // Keep the buffer alive while the pointers above are in use.
        try withExtendedLifetime(parameters) {
            try SafeTensorsWriter.write(
                tensors: tensors, metadata: ["format": "pt"],
                to: directory.appendingPathComponent(Transformer.weightsFileName),
                replacement: mergingAdapters ? mergedTensor : nil)
        }

        let configURL = directory.appendingPathComponent(Transformer.configFileName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json: Data
        do {
            json = try encoder.encode(config)
        } catch {
            throw ScoreError.invalidArgument("cannot encode model config: \(error.localizedDescription)")
        }
        try AtomicFileWriter.write(json + Data("\n".utf8), to: configURL)
    }

    /// Copies the files of `tokenizerFileNames` present in `source` to `destination`.
    static func copyTokenizerFiles(from source: URL, to destination: URL) throws {
        let from = source.standardizedFileURL.resolvingSymlinksInPath()
        let to = destination.standardizedFileURL.resolvingSymlinksInPath()
        guard from.path != to.path else { return }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: from.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ScoreError.invalidArgument("tokenizer source folder \(source.path) does not exist")
        }
        for name in tokenizerFileNames {
            let file = from.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: file.path) else { continue }
            let data = try FileContents.read(file)
            try AtomicFileWriter.write(data, to: destination.appendingPathComponent(name))
        }
    }

    /// Loads a model folder as Hugging Face publishes it (`LlamaForCausalLM`, `Qwen2ForCausalLM`,
    /// `MistralForCausalLM`) or as `save(to:)` writes it: `config.json`; `model.safetensors` or
    /// sharded `model-0000N-of-0000M.safetensors` with `model.safetensors.index.json`, in F32, F16
    /// or BF16 (converted to float32 tensor by tensor); and `generation_config.json` when present.
    ///
    /// Throws `ScoreError.invalidFile` naming the file and the field or tensor when something is
    /// missing, malformed, unsupported (see `ModelConfig+HuggingFace.swift` for the configuration
    /// fields refused) or inconsistent with the configuration (see `loadParameters(from:)`). All
    /// checks on the weights run before the model is allocated.
    public static func loadPretrained(from directory: URL, threads: Int = 1) throws -> PretrainedModel {
        let config = try readConfig(in: directory)
        // Check the weights against the layout before allocating anything: the files' real tensors
        // bound the model's size, whatever config.json claims.
        let weights = try CheckpointWeights(folder: directory)
        try check(weights, against: ParameterLayout(config: config), tied: config.tieEmbeddings)
        let generation = try GenerationDefaults.load(from: directory)
        let model = try Transformer(config: config, threads: threads)
        try model.loadParameters(from: weights)
        return PretrainedModel(model: model, generationDefaults: generation)
    }

    /// Loads a checkpoint folder; `loadPretrained(from:threads:)` without the generation defaults.
    public static func load(from directory: URL, threads: Int = 1) throws -> Transformer {
        try loadPretrained(from: directory, threads: threads).model
    }

    /// The validated configuration in `directory/config.json`.
    static func readConfig(in directory: URL) throws -> ModelConfig {
        let configURL = directory.appendingPathComponent(configFileName)
        let configPath = configURL.path
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw ScoreError.invalidFile(path: configPath, reason: "missing config.json in checkpoint folder")
        }
        let json = try FileContents.read(configURL)
        do {
            let config = try JSONDecoder().decode(ModelConfig.self, from: json)
            try config.validate()
            return config
        } catch ScoreError.invalidArgument(let message) {
            throw ScoreError.invalidFile(path: configPath, reason: message)
        } catch let error as DecodingError {
            throw ScoreError.invalidFile(
                path: configPath, reason: "malformed config: \(SafeTensorsFile.describe(error))")
        } catch {
            throw ScoreError.invalidFile(path: configPath, reason: "malformed config: \(error.localizedDescription)")
        }
    }

    /// Replaces every parameter with the tensor of the same Hugging Face name in `file`
    /// (see `loadParameters(from:)` for a set of files).
    public func loadParameters(from file: SafeTensorsFile) throws {
        try loadParameters(from: CheckpointWeights(file: file))
    }

    /// Replaces every parameter with the tensor of the same Hugging Face name in `weights`,
    /// converting F16 and BF16 to float32 one tensor at a time. Every tensor of `layout` must be
    /// present with exactly its shape and a floating-point dtype. No other tensor may be present,
    /// except ones `transformers` also ignores: `lm_head.weight` when embeddings are tied (the
    /// embedding is used) and the rotary buffers `*.rotary_emb.inv_freq` older versions saved
    /// (the frequencies always come from the configuration). All checks run before anything is
    /// copied, so on error the parameters are unchanged. Gradients are left as they are.
    public func loadParameters(from weights: CheckpointWeights) throws {
        try Self.check(weights, against: layout, tied: config.tieEmbeddings)
        for tensor in layout.tensors {
            try weights.copyFloats(tensor.name, into: parameters.pointer + tensor.offset, count: tensor.count)
        }
    }

    /// Whether a tensor that is not a parameter may be present and is skipped.
    static func isIgnored(_ name: String, tied: Bool) -> Bool {
        (name == "lm_head.weight" && tied) || name.hasSuffix(".rotary_emb.inv_freq")
    }

    /// Throws unless `weights` holds exactly the tensors of `layout` with their shapes and a
    /// floating-point dtype (plus ignored extras, see `isIgnored`).
    static func check(_ weights: CheckpointWeights, against layout: ParameterLayout, tied: Bool) throws {
        let expected = Set(layout.tensors.map(\.name))
        let unexpected = weights.names.filter { !expected.contains($0) && !isIgnored($0, tied: tied) }
        if let first = unexpected.first {
            throw ScoreError.invalidFile(
                path: weights.file(holding: first)?.path ?? weights.path,
                reason: "unexpected tensor\(unexpected.count == 1 ? "" : "s") for this model config: "
                    + Transformer.list(unexpected))
        }
        let missing = layout.tensors.map(\.name).filter { weights.info($0) == nil }
        if !missing.isEmpty {
            throw ScoreError.invalidFile(
                path: weights.path, reason: "missing tensor\(missing.count == 1 ? "" : "s"): " + Transformer.list(missing))
        }
        for tensor in layout.tensors {
            guard let found = weights.info(tensor.name) else { continue }
            func invalid(_ reason: String) -> ScoreError {
                .invalidFile(path: weights.file(holding: tensor.name)?.path ?? weights.path, reason: reason)
            }
            guard found.shape == tensor.shape else {
                throw invalid("tensor '\(tensor.name)' has shape \(found.shape), expected \(tensor.shape)")
            }
            guard found.dtype.isFloatingPoint else {
                throw invalid("tensor '\(tensor.name)' has dtype \(found.dtype.rawValue), expected F32, F16 or BF16")
            }
        }
    }

    /// Names for an error message, quoted, at most five of them.
    private static func list(_ names: [String]) -> String {
        let shown = names.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
        return names.count > 5 ? shown + " and \(names.count - 5) more" : shown
    }

    /// Tensor `index` of the layout with its adapter's update added, or nil when it has no adapter.
    func mergedTensor(_ index: Int) -> [Float]? {
        guard let adapters, adaptersEnabled else { return nil }
        let tensor = layout.tensors[index]
        for l in 0..<config.nLayers {
            for target in LoRATarget.allCases where weightOffset(layer: l, target: target) == tensor.offset {
                guard let site = adapters.site(layer: l, target: target) else { return nil }
                var values = Array(UnsafeBufferPointer(start: parameters.pointer + tensor.offset, count: tensor.count))
                values.withUnsafeMutableBufferPointer { buffer in
                    if let base = buffer.baseAddress { addUpdate(site, of: adapters, into: base) }
                }
                return values
            }
        }
        return nil
    }
}
