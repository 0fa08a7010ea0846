import Foundation

/// Weights from GGUF files, dequantized to float32.
extension Transformer {
    /// The model of a GGUF file (`llama` or `qwen2` architecture), its tensors dequantized to
    /// float32 one at a time, the query/key rows of llama files put back in Hugging Face's order.
    /// Throws `ScoreError.invalidFile` naming the file and the key or tensor when something is
    /// missing, unsupported or inconsistent; all checks run before the model is allocated.
    public static func load(gguf file: GGUFFile, threads: Int = 1) throws -> Transformer {
        let config = try ModelConfig(gguf: file)
        try checkTensors(of: file, against: ParameterLayout(config: config), config: config)
        let model = try Transformer(config: config, threads: threads)
        try model.loadParameters(from: file)
        return model
    }

    /// Replaces every parameter with its tensor in `file` (see `load(gguf:threads:)`). All checks
    /// run before anything is copied, so on error the parameters are unchanged.
    public func loadParameters(from file: GGUFFile) throws {
        try Self.checkTensors(of: file, against: layout, config: config)
        for tensor in layout.tensors {
            guard let name = GGUFTensorNames.ggufName(forHuggingFace: tensor.name) else { continue }
            let destination = parameters.pointer + tensor.offset
            try file.copyFloats(name, into: destination, count: tensor.count)
            if let heads = GGUFTensorNames.permutedHeads(name, config: config) {
                let rows = tensor.shape[0]
                GGUFTensorNames.unpermuteRows(destination, rows: rows, columns: tensor.count / rows, heads: heads)
            }
        }
    }

    /// Throws unless `file` holds exactly the tensors of `layout`, each with its shape, plus the
    /// ones the configuration reads (`rope_freqs.weight`).
    static func checkTensors(of file: GGUFFile, against layout: ParameterLayout, config: ModelConfig) throws {
        func invalid(_ reason: String) -> ScoreError { .invalidFile(path: file.path, reason: reason) }
        var expected = Set(["rope_freqs.weight"])
        for tensor in layout.tensors {
            guard let name = GGUFTensorNames.ggufName(forHuggingFace: tensor.name) else {
                throw invalid("the engine's tensor '\(tensor.name)' has no GGUF name")
            }
            expected.insert(name)
            guard let found = file.tensor(name) else { throw invalid("tensor '\(name)' is missing") }
            guard found.shape == tensor.shape else {
                throw invalid("tensor '\(name)' has dimensions \(found.dimensions), expected \(Array(tensor.shape.reversed()))")
            }
            if let heads = GGUFTensorNames.permutedHeads(name, config: config), tensor.shape[0] % (2 * heads) != 0 {
                throw invalid("tensor '\(name)' has \(tensor.shape[0]) rows, not whole pairs over \(heads) heads")
            }
        }
        if let extra = file.tensors.first(where: { !expected.contains($0.name) }) {
            throw invalid("unexpected tensor '\(extra.name)' for this model configuration")
        }
    }
}
