import Foundation

/// Hugging Face checkpoint folders: `config.json` plus `model.safetensors`.
extension Transformer {
    /// Name of the weights file inside a checkpoint folder.
    public static let weightsFileName = "model.safetensors"
    /// Name of the configuration file inside a checkpoint folder.
    public static let configFileName = "config.json"

    /// Saves the model as a Hugging Face checkpoint folder, creating `directory` if needed:
    /// `model.safetensors` holds every tensor of `layout` in F32 under its Hugging Face name (no
    /// `lm_head.weight` when embeddings are tied) and `config.json` the configuration. Each file is
    /// replaced atomically.
    public func save(to directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ScoreError.io(path: directory.path, reason: "cannot create directory: \(error.localizedDescription)")
        }
        let base = UnsafePointer(parameters.pointer)
        let tensors = layout.tensors.map { tensor in
            (name: tensor.name, shape: tensor.shape,
             values: UnsafeBufferPointer(start: base + tensor.offset, count: tensor.count))
        }
        // Keep the buffer alive while the pointers above are in use.
        try withExtendedLifetime(parameters) {
            try SafeTensorsWriter.write(
                tensors: tensors, metadata: ["format": "pt"],
                to: directory.appendingPathComponent(Transformer.weightsFileName))
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

    /// Loads a checkpoint folder written by `save(to:)` or by Hugging Face `transformers`
    /// (`config.json` plus a single F32, F16 or BF16 `model.safetensors`).
    /// Throws `ScoreError.invalidFile` naming the file when either is missing or malformed, when the
    /// configuration is invalid, or when the tensors do not match it (see `loadParameters(from:)`).
    public static func load(from directory: URL, threads: Int = 1) throws -> Transformer {
        let configURL = directory.appendingPathComponent(configFileName)
        let configPath = configURL.path
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw ScoreError.invalidFile(path: configPath, reason: "missing config.json in checkpoint folder")
        }
        let json: Data
        do {
            json = try Data(contentsOf: configURL)
        } catch {
            throw ScoreError.io(path: configPath, reason: "cannot read: \(error.localizedDescription)")
        }
        let config: ModelConfig
        do {
            config = try JSONDecoder().decode(ModelConfig.self, from: json)
            try config.validate()
        } catch ScoreError.invalidArgument(let message) {
            throw ScoreError.invalidFile(path: configPath, reason: message)
        } catch let error as DecodingError {
            throw ScoreError.invalidFile(
                path: configPath, reason: "malformed config: \(SafeTensorsFile.describe(error))")
        } catch {
            throw ScoreError.invalidFile(path: configPath, reason: "malformed config: \(error.localizedDescription)")
        }
        // Check the weights against the layout before allocating anything: the file's real tensors
        // bound the model's size, whatever config.json claims.
        let weights = try SafeTensorsFile(contentsOf: directory.appendingPathComponent(weightsFileName))
        try check(weights, against: ParameterLayout(config: config), tied: config.tieEmbeddings)
        let model = try Transformer(config: config, threads: threads)
        try model.loadParameters(from: weights)
        return model
    }

    /// Replaces every parameter with the tensor of the same Hugging Face name in `file`.
    /// Every tensor of `layout` must be present with exactly its shape and a floating-point dtype,
    /// and `file` may hold no other tensor, except `lm_head.weight` when embeddings are tied (it is
    /// ignored, as `transformers` does). All checks run before anything is copied, so on error the
    /// parameters are unchanged. Gradients are left as they are.
    public func loadParameters(from file: SafeTensorsFile) throws {
        try Self.check(file, against: layout, tied: config.tieEmbeddings)
        for tensor in layout.tensors {
            try file.copyFloats(tensor.name, into: parameters.pointer + tensor.offset, count: tensor.count)
        }
    }

    /// Throws unless `file` holds exactly the tensors of `layout` with their shapes and a
    /// floating-point dtype (plus an ignored `lm_head.weight` when embeddings are tied).
    static func check(_ file: SafeTensorsFile, against layout: ParameterLayout, tied: Bool) throws {
        func invalid(_ reason: String) -> ScoreError { .invalidFile(path: file.path, reason: reason) }
        let expected = Set(layout.tensors.map(\.name))
        let unexpected = file.names.filter {
            !expected.contains($0) && !($0 == "lm_head.weight" && tied)
        }
        if !unexpected.isEmpty {
            throw invalid("unexpected tensor\(unexpected.count == 1 ? "" : "s") for this model config: "
                          + Transformer.list(unexpected))
        }
        let missing = layout.tensors.map(\.name).filter { file.info($0) == nil }
        if !missing.isEmpty {
            throw invalid("missing tensor\(missing.count == 1 ? "" : "s"): " + Transformer.list(missing))
        }
        for tensor in layout.tensors {
            guard let found = file.info(tensor.name) else { continue }
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
}
