import Foundation

/// `config.json` as Hugging Face `transformers` writes it for `LlamaForCausalLM`,
/// `Qwen2ForCausalLM` and `MistralForCausalLM`.
///
/// Decoding follows `transformers` 5: absent keys take the defaults of the architecture's config
/// class, the rotary settings may come as `rope_parameters` (transformers ≥ 5) or as `rope_theta`
/// plus `rope_scaling` (earlier versions; `rope_scaling` wins when both are given, and a
/// `rope_theta` inside the object wins over the top-level one). A field that would change what
/// the model computes in a way the engine does not implement is an error naming the field, never
/// ignored:
///
/// - `architectures` / `model_type` other than the three classes above, or the two disagreeing
///   (when neither is present the model is read as Llama, as earlier engine versions wrote it);
/// - a rotary type other than `default` and `llama3` (`linear`, `dynamic`, `yarn`, `longrope`, ...),
///   rotary parameters nested per layer type, or `partial_rotary_factor` other than 1;
/// - `hidden_act` other than `silu` (or its alias `swish`);
/// - Llama with `attention_bias` (q/k/v *and* o_proj biases) or `mlp_bias`;
/// - a sliding attention window that can take effect: Mistral's `sliding_window` (default 4096)
///   unless null or at least `max_position_embeddings`, and Qwen2's when `use_sliding_window`
///   is true and some layer slides (`layer_types`, or the layers from `max_window_layers` on).
///   A window of at least `max_position_embeddings` never masks anything, because no sequence
///   the engine runs is longer than that.
///
/// Ignored on purpose: `attention_dropout` (the engine never applies dropout; inference is
/// unaffected), `pretraining_tp` (a different summation order of the same products), token ids
/// (see `GenerationDefaults`), dtype keys (weights are always converted to float32), and any key
/// `transformers` itself ignores for the class (e.g. `sliding_window` for Llama).
///
/// Encoding writes every key `transformers` needs to rebuild the same model, in both the
/// transformers 5 form (`rope_parameters`, `dtype`) and the earlier one (`rope_theta`,
/// `rope_scaling`, `torch_dtype`). A sliding window is written as null.
extension ModelConfig: Codable {
    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dim = "hidden_size", nLayers = "num_hidden_layers"
        case nHeads = "num_attention_heads", nKVHeads = "num_key_value_heads"
        case hiddenDim = "intermediate_size", maxSeqLen = "max_position_embeddings"
        case ropeTheta = "rope_theta", normEps = "rms_norm_eps", tieEmbeddings = "tie_word_embeddings"
        case qkvBias = "attention_bias", headDim = "head_dim", modelType = "model_type"
        case architectures, hiddenAct = "hidden_act", torchDtype = "torch_dtype", dtype
        case ropeParameters = "rope_parameters", ropeScaling = "rope_scaling"
        case partialRotaryFactor = "partial_rotary_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case mlpBias = "mlp_bias", slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window"
        case maxWindowLayers = "max_window_layers", layerTypes = "layer_types"
    }

    /// Sliding window of Mistral and Qwen2 when `config.json` has no `sliding_window` key.
    static let defaultSlidingWindow = 4096

    /// A `rope_parameters` or `rope_scaling` object.
    struct RopeObject: Codable {
        var ropeType: String?
        var type: String?
        var ropeTheta: Float?
        var factor: Double?
        var lowFreqFactor: Double?
        var highFreqFactor: Double?
        var originalMaxPositionEmbeddings: Int?
        var partialRotaryFactor: Double?
        /// Every key present, to tell an empty object and a per-layer-type nesting apart.
        var keys: [String] = []

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type", type, ropeTheta = "rope_theta", factor
            case lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
            case originalMaxPositionEmbeddings = "original_max_position_embeddings"
            case partialRotaryFactor = "partial_rotary_factor"
        }

        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { return nil }
        }

        init(type: String, theta: Float, scaling: RopeScaling?) {
            ropeType = type
            ropeTheta = theta
            factor = scaling?.factor
            lowFreqFactor = scaling?.lowFreqFactor
            highFreqFactor = scaling?.highFreqFactor
            originalMaxPositionEmbeddings = scaling?.originalMaxPositionEmbeddings
        }

        init(from decoder: Decoder) throws {
            keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ropeType = try c.decodeIfPresent(String.self, forKey: .ropeType)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta)
            factor = try c.decodeIfPresent(Double.self, forKey: .factor)
            lowFreqFactor = try c.decodeIfPresent(Double.self, forKey: .lowFreqFactor)
            highFreqFactor = try c.decodeIfPresent(Double.self, forKey: .highFreqFactor)
            originalMaxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .originalMaxPositionEmbeddings)
            partialRotaryFactor = try c.decodeIfPresent(Double.self, forKey: .partialRotaryFactor)
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(ropeType, forKey: .ropeType)
            try c.encodeIfPresent(ropeTheta, forKey: .ropeTheta)
            try c.encodeIfPresent(factor, forKey: .factor)
            try c.encodeIfPresent(lowFreqFactor, forKey: .lowFreqFactor)
            try c.encodeIfPresent(highFreqFactor, forKey: .highFreqFactor)
            try c.encodeIfPresent(originalMaxPositionEmbeddings, forKey: .originalMaxPositionEmbeddings)
        }
    }

    /// The error for a field the engine cannot honour.
    static func unsupported(_ field: String, _ value: String, _ detail: String) -> ScoreError {
        .invalidArgument("model config: unsupported \(field) = \(value): \(detail)")
    }

    /// Reads a `config.json` object; throws `ScoreError.invalidArgument` naming the field for an
    /// unsupported setting (see the list above) and `DecodingError` for a missing or mistyped key.
    /// Shapes are not validated here (see `validate()`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let architecture = try Self.decodeArchitecture(c)
        self.architecture = architecture
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        dim = try c.decode(Int.self, forKey: .dim)
        nLayers = try c.decode(Int.self, forKey: .nLayers)
        nHeads = try c.decode(Int.self, forKey: .nHeads)
        hiddenDim = try c.decode(Int.self, forKey: .hiddenDim)
        let defaultKVHeads: Int, defaultMaxSeqLen: Int
        switch architecture {
        case .llama: (defaultKVHeads, defaultMaxSeqLen) = (nHeads, 2048)
        case .qwen2: (defaultKVHeads, defaultMaxSeqLen) = (32, 32_768)
        case .mistral: (defaultKVHeads, defaultMaxSeqLen) = (8, 131_072)
        }
        nKVHeads = try c.decodeIfPresent(Int.self, forKey: .nKVHeads) ?? defaultKVHeads
        maxSeqLen = try c.decodeIfPresent(Int.self, forKey: .maxSeqLen) ?? defaultMaxSeqLen
        normEps = try c.decodeIfPresent(Float.self, forKey: .normEps) ?? 1e-6
        tieEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieEmbeddings) ?? false
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? (nHeads > 0 ? dim / nHeads : 0)
        qkvBias = architecture == .qwen2
        (ropeTheta, ropeScaling) = try Self.decodeRope(c, maxSeqLen: maxSeqLen)

        let activation = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        guard activation == "silu" || activation == "swish" else {
            throw Self.unsupported("hidden_act", "\"\(activation)\"", "the MLP is SwiGLU with silu only")
        }
        switch architecture {
        case .llama:
            if try c.decodeIfPresent(Bool.self, forKey: .qkvBias) == true {
                throw Self.unsupported("attention_bias", "true",
                                       "Llama attention biases include an o_proj bias, which the engine does not have")
            }
            if try c.decodeIfPresent(Bool.self, forKey: .mlpBias) == true {
                throw Self.unsupported("mlp_bias", "true", "the engine's MLP projections have no bias")
            }
        case .mistral:
            if let window = try Self.decodeWindow(c), window < maxSeqLen {
                throw Self.unsupported("sliding_window", "\(window)",
                                       "a window shorter than max_position_embeddings (\(maxSeqLen)) takes effect; "
                                       + "only full causal attention is implemented (null or ≥ \(maxSeqLen) is accepted)")
            }
        case .qwen2:
            let layerTypes = try c.decodeIfPresent([String].self, forKey: .layerTypes)
            if let unknown = layerTypes?.first(where: { $0 != "full_attention" && $0 != "sliding_attention" }) {
                throw Self.unsupported("layer_types", "[..., \"\(unknown)\", ...]",
                                       "only full_attention (and sliding_attention with no window in effect) is implemented")
            }
            if try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) == true,
               let window = try Self.decodeWindow(c), window < maxSeqLen {
                let firstSliding = try c.decodeIfPresent(Int.self, forKey: .maxWindowLayers) ?? 28
                let slides = layerTypes.map { $0.contains("sliding_attention") } ?? (firstSliding < nLayers)
                if slides {
                    throw Self.unsupported("use_sliding_window", "true",
                                           "sliding_window \(window) is shorter than max_position_embeddings (\(maxSeqLen)) "
                                           + "and applies to some layers; only full causal attention is implemented")
                }
            }
        }
    }

    /// The class named by `architectures` and/or `model_type` (Llama when neither is present).
    static func decodeArchitecture(_ c: KeyedDecodingContainer<CodingKeys>) throws -> ModelArchitecture {
        let supported = ModelArchitecture.allCases.map(\.rawValue).joined(separator: ", ")
        var fromClass: ModelArchitecture?
        if let names = try c.decodeIfPresent([String].self, forKey: .architectures) {
            let shown = "[" + names.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
            guard names.count == 1, let known = ModelArchitecture(rawValue: names[0]) else {
                throw unsupported("architectures", shown, "expected exactly one of \(supported)")
            }
            fromClass = known
        }
        var fromType: ModelArchitecture?
        if let type = try c.decodeIfPresent(String.self, forKey: .modelType) {
            guard let known = ModelArchitecture(modelType: type) else {
                let types = ModelArchitecture.allCases.map(\.modelType).joined(separator: ", ")
                throw unsupported("model_type", "\"\(type)\"", "expected one of \(types)")
            }
            fromType = known
        }
        if let fromClass, let fromType, fromClass != fromType {
            throw unsupported("model_type", "\"\(fromType.modelType)\"",
                              "architectures names \(fromClass.rawValue), whose model_type is \"\(fromClass.modelType)\"")
        }
        return fromClass ?? fromType ?? .llama
    }

    /// `sliding_window`: absent means the class default (4096), null means none.
    static func decodeWindow(_ c: KeyedDecodingContainer<CodingKeys>) throws -> Int? {
        guard c.contains(.slidingWindow) else { return defaultSlidingWindow }
        return try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
    }

    /// The rotary base and scaling, from `rope_scaling` or `rope_parameters` and `rope_theta`.
    static func decodeRope(_ c: KeyedDecodingContainer<CodingKeys>, maxSeqLen: Int) throws -> (Float, RopeScaling?) {
        let topTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta)
        let topPartial = try c.decodeIfPresent(Double.self, forKey: .partialRotaryFactor)
        let topOriginal = try c.decodeIfPresent(Int.self, forKey: .originalMaxPositionEmbeddings)
        var field = "rope_parameters"
        var rope = try c.decodeIfPresent(RopeObject.self, forKey: .ropeParameters)
        if let scaling = try c.decodeIfPresent(RopeObject.self, forKey: .ropeScaling), !scaling.keys.isEmpty {
            field = "rope_scaling"
            rope = scaling
        }
        if let nested = rope?.keys.first(where: { $0 == "full_attention" || $0 == "sliding_attention" }) {
            throw unsupported("\(field).\(nested)", "{...}", "rotary parameters nested per layer type are not supported")
        }
        let theta = rope?.ropeTheta ?? topTheta ?? 10_000
        if let partial = rope?.partialRotaryFactor ?? topPartial, partial != 1 {
            throw unsupported("partial_rotary_factor", "\(partial)", "rotary embedding of part of each head is not supported")
        }
        let typeField = rope?.ropeType != nil ? "\(field).rope_type" : "\(field).type"
        switch rope?.ropeType ?? rope?.type ?? "default" {
        case "default":
            return (theta, nil)
        case RopeScaling.ropeType:
            func required<T>(_ value: T?, _ key: String) throws -> T {
                guard let value else {
                    throw ScoreError.invalidArgument("model config: \(field) of type llama3 lacks '\(key)'")
                }
                return value
            }
            let inner = rope?.originalMaxPositionEmbeddings
            if let inner, let topOriginal, inner != topOriginal {
                throw unsupported("original_max_position_embeddings", "\(topOriginal)",
                                  "it differs from \(field).original_max_position_embeddings (\(inner))")
            }
            let scaling = RopeScaling(
                factor: try required(rope?.factor, "factor"),
                lowFreqFactor: try required(rope?.lowFreqFactor, "low_freq_factor"),
                highFreqFactor: try required(rope?.highFreqFactor, "high_freq_factor"),
                originalMaxPositionEmbeddings: inner ?? topOriginal ?? maxSeqLen)
            return (theta, scaling)
        case let other:
            throw unsupported(typeField, "\"\(other)\"", "supported rotary types are default and llama3")
        }
    }

    /// Writes the `config.json` object `transformers` rebuilds this model from.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode([architecture.rawValue], forKey: .architectures)
        try c.encode(architecture.modelType, forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(dim, forKey: .dim)
        try c.encode(nLayers, forKey: .nLayers)
        try c.encode(nHeads, forKey: .nHeads)
        try c.encode(nKVHeads, forKey: .nKVHeads)
        try c.encode(hiddenDim, forKey: .hiddenDim)
        try c.encode(maxSeqLen, forKey: .maxSeqLen)
        try c.encode(normEps, forKey: .normEps)
        try c.encode(tieEmbeddings, forKey: .tieEmbeddings)
        try c.encode(headDim, forKey: .headDim)
        try c.encode("silu", forKey: .hiddenAct)
        try c.encode("float32", forKey: .torchDtype)
        try c.encode("float32", forKey: .dtype)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        let type = ropeScaling == nil ? "default" : RopeScaling.ropeType
        try c.encode(RopeObject(type: type, theta: ropeTheta, scaling: ropeScaling), forKey: .ropeParameters)
        if let ropeScaling {
            // Without rope_theta: earlier transformers read it from the top level.
            var scaling = RopeObject(type: type, theta: ropeTheta, scaling: ropeScaling)
            scaling.ropeTheta = nil
            try c.encode(scaling, forKey: .ropeScaling)
        }
        switch architecture {
        case .llama:
            try c.encode(qkvBias, forKey: .qkvBias)
            try c.encode(false, forKey: .mlpBias)
        case .mistral:
            try c.encodeNil(forKey: .slidingWindow)
        case .qwen2:
            try c.encode(false, forKey: .useSlidingWindow)
            try c.encodeNil(forKey: .slidingWindow)
        }
    }
}
