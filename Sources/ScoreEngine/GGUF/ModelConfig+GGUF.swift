import Foundation

/// The model configuration of a GGUF file, from its `general.architecture` and the
/// `<architecture>.*` metadata, as llama.cpp's converter writes them for Llama-family models
/// (Llama, Mistral, SmolLM: `llama`) and Qwen2 (`qwen2`).
extension ModelConfig {
    /// Reads the configuration of `file`. Throws `ScoreError.invalidFile` naming the key when a
    /// required key is missing or has the wrong type, when the architecture is neither `llama`
    /// nor `qwen2`, or when the file describes something the engine does not compute (mixture of
    /// experts, partial rotary dimensions, a rotary scaling other than Llama-3's, different key and
    /// value head sizes).
    public init(gguf file: GGUFFile) throws {
        func invalid(_ reason: String) -> ScoreError { .invalidFile(path: file.path, reason: reason) }
        guard let architectureName = file["general.architecture"]?.stringValue else {
            throw invalid("general.architecture is missing or not a string")
        }
        let architecture: ModelArchitecture
        switch architectureName {
        case "llama": architecture = .llama
        case "qwen2": architecture = .qwen2
        default: throw invalid("general.architecture '\(architectureName)' is not supported (supported: llama, qwen2)")
        }
        let a = architectureName
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            switch file["\(a).\(key)"] {
            case nil:
                if let value { return value }
                throw invalid("\(a).\(key) is missing")
            case .array?:
                throw invalid("\(a).\(key) differs per layer, which is not supported")
            case let found?:
                guard let number = found.intValue, number >= 0 else {
                    throw invalid("\(a).\(key) must be a non-negative integer, found \(found.typeName)")
                }
                return number
            }
        }
        func float(_ key: String, default value: Double) throws -> Double {
            guard let found = file["\(a).\(key)"] else { return value }
            guard let number = found.doubleValue, number.isFinite else {
                throw invalid("\(a).\(key) must be a finite number, found \(found.typeName)")
            }
            return number
        }
        if try int("expert_count", default: 0) > 0 { throw invalid("\(a).expert_count: mixtures of experts are not supported") }
        guard let embedding = file.tensor("token_embd.weight") else { throw invalid("tensor 'token_embd.weight' is missing") }
        guard embedding.dimensions.count == 2 else {
            throw invalid("tensor 'token_embd.weight' has \(embedding.dimensions.count) dimensions, expected 2")
        }
        let dim = try int("embedding_length")
        let heads = try int("attention.head_count")
        guard heads > 0, dim > 0 else { throw invalid("\(a).embedding_length and \(a).attention.head_count must be positive") }
        let headDim = try int("attention.key_length", default: dim / heads)
        guard try int("attention.value_length", default: headDim) == headDim else {
            throw invalid("\(a).attention.value_length differs from the key length, which is not supported")
        }
        guard try int("rope.dimension_count", default: headDim) == headDim else {
            throw invalid("\(a).rope.dimension_count is not the head size \(headDim): partial rotary embeddings are not supported")
        }
        let vocabulary = embedding.dimensions[1]
        guard try int("vocab_size", default: vocabulary) == vocabulary else {
            throw invalid("\(a).vocab_size disagrees with tensor 'token_embd.weight' (\(vocabulary) rows)")
        }
        self.init(
            vocabSize: vocabulary, dim: dim, nLayers: try int("block_count"), nHeads: heads,
            nKVHeads: try int("attention.head_count_kv", default: heads), hiddenDim: try int("feed_forward_length"),
            maxSeqLen: try int("context_length"), ropeTheta: Float(try float("rope.freq_base", default: 10_000)),
            normEps: Float(try float("attention.layer_norm_rms_epsilon", default: 1e-5)),
            tieEmbeddings: file.tensor("output.weight") == nil, qkvBias: file.tensor("blk.0.attn_q.bias") != nil,
            headDim: headDim, architecture: architecture)
        if architecture == .llama, qkvBias {
            throw invalid("tensor 'blk.0.attn_q.bias': attention biases are not supported for the llama architecture")
        }
        ropeScaling = try Self.ggufRopeScaling(file, architecture: a, config: self)
        do {
            try validate()
        } catch ScoreError.invalidArgument(let message) {
            throw invalid(message)
        }
    }

    /// The rotary scaling of a GGUF file: none, or Llama-3's as llama.cpp's converter stores it
    /// (a `rope_freqs.weight` tensor of per-frequency divisors, computed with low_freq_factor 1,
    /// high_freq_factor 4 and the original context length, default 8192).
    private static func ggufRopeScaling(_ file: GGUFFile, architecture a: String, config: ModelConfig) throws -> RopeScaling? {
        func invalid(_ reason: String) -> ScoreError { .invalidFile(path: file.path, reason: reason) }
        if let type = file["\(a).rope.scaling.type"]?.stringValue, type != "none" {
            throw invalid("\(a).rope.scaling.type '\(type)' is not supported (supported: none, or Llama-3 rope_freqs)")
        }
        guard let tensor = file.tensor("rope_freqs.weight") else { return nil }
        guard tensor.count == config.headDim / 2 else {
            throw invalid("tensor 'rope_freqs.weight' has \(tensor.count) values, expected \(config.headDim / 2)")
        }
        let divisors = try file.floats("rope_freqs.weight")
        guard let factor = divisors.max(), factor.isFinite, factor >= 1 else {
            throw invalid("tensor 'rope_freqs.weight' holds values that are not rotary divisors")
        }
        let original = file["\(a).rope.scaling.original_context_length"]?.intValue ?? 8192
        let scaling = RopeScaling(factor: Double(factor), lowFreqFactor: 1, highFreqFactor: 4,
                                  originalMaxPositionEmbeddings: original)
        var plain = config
        plain.ropeScaling = nil
        let base = plain.ropeInverseFrequencies
        let scaled = scaling.apply(to: base)
        for i in 0..<divisors.count where abs(base[i] / scaled[i] - divisors[i]) > 1e-3 * divisors[i] {
            throw invalid("tensor 'rope_freqs.weight' is not Llama-3 rotary scaling (low_freq_factor 1, "
                          + "high_freq_factor 4, original context \(original)), which is the only form supported")
        }
        return scaling
    }
}
