/// Shape of a Llama-family decoder (Llama, Qwen2, Mistral, SmolLM). Encodes to and decodes from
/// the keys of a Hugging Face `config.json` (see `ModelConfig+HuggingFace.swift`), so a saved
/// folder reads as a `transformers` checkpoint.
public struct ModelConfig: Sendable, Equatable {
    /// Number of token ids.
    public var vocabSize: Int
    /// Width of the residual stream (`hidden_size`).
    public var dim: Int
    /// Number of transformer blocks.
    public var nLayers: Int
    /// Number of query heads.
    public var nHeads: Int
    /// Number of key/value heads (grouped-query attention); divides `nHeads`.
    public var nKVHeads: Int
    /// Width of the SwiGLU MLP (`intermediate_size`).
    public var hiddenDim: Int
    /// Longest sequence the rotary tables cover (`max_position_embeddings`).
    public var maxSeqLen: Int
    /// Rotary base frequency.
    public var ropeTheta: Float
    /// RMSNorm epsilon.
    public var normEps: Float
    /// Whether the output projection shares the token embedding.
    public var tieEmbeddings: Bool
    /// Whether q/k/v projections carry a bias (Qwen2).
    public var qkvBias: Bool
    /// Width of one attention head; `dim / nHeads` unless a checkpoint says otherwise.
    public var headDim: Int
    /// The Hugging Face class a saved folder declares. Must be `.qwen2` exactly when `qkvBias`
    /// is set (Qwen2 is the one class with q/k/v biases and no output bias).
    public var architecture: ModelArchitecture
    /// Llama 3 frequency scaling of the rotary embedding; nil for plain RoPE.
    public var ropeScaling: RopeScaling?

    /// A configuration; `headDim` defaults to `dim / nHeads` and `architecture` to `.qwen2` when
    /// `qkvBias` is set, `.llama` otherwise.
    public init(
        vocabSize: Int, dim: Int, nLayers: Int, nHeads: Int, nKVHeads: Int, hiddenDim: Int,
        maxSeqLen: Int, ropeTheta: Float = 10_000, normEps: Float = 1e-5,
        tieEmbeddings: Bool = true, qkvBias: Bool = false, headDim: Int? = nil,
        architecture: ModelArchitecture? = nil, ropeScaling: RopeScaling? = nil
    ) {
        self.vocabSize = vocabSize
        self.dim = dim
        self.nLayers = nLayers
        self.nHeads = nHeads
        self.nKVHeads = nKVHeads
        self.hiddenDim = hiddenDim
        self.maxSeqLen = maxSeqLen
        self.ropeTheta = ropeTheta
        self.normEps = normEps
        self.tieEmbeddings = tieEmbeddings
        self.qkvBias = qkvBias
        self.headDim = headDim ?? (nHeads > 0 ? dim / nHeads : 0)
        self.architecture = architecture ?? (qkvBias ? .qwen2 : .llama)
        self.ropeScaling = ropeScaling
    }

    /// The `tiny` benchmark shape: 320 tokens, width 128, 4 layers, 4 heads over 2 KV heads.
    public static let tiny = ModelConfig(
        vocabSize: 320, dim: 128, nLayers: 4, nHeads: 4, nKVHeads: 2, hiddenDim: 384, maxSeqLen: 128)

    /// Width of all query heads together.
    public var qDim: Int { nHeads * headDim }
    /// Width of all key (or value) heads together.
    public var kvDim: Int { nKVHeads * headDim }

    /// Throws `ScoreError.invalidArgument` naming the first inconsistency.
    public func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw ScoreError.invalidArgument("model config: " + message()) }
        }
        try check(vocabSize > 0, "vocab_size must be positive (got \(vocabSize))")
        try check(dim > 0, "hidden_size must be positive (got \(dim))")
        try check(nLayers > 0, "num_hidden_layers must be positive (got \(nLayers))")
        try check(nHeads > 0, "num_attention_heads must be positive (got \(nHeads))")
        try check(nKVHeads > 0, "num_key_value_heads must be positive (got \(nKVHeads))")
        try check(nHeads % nKVHeads == 0,
                  "num_key_value_heads (\(nKVHeads)) must divide num_attention_heads (\(nHeads))")
        try check(headDim > 0 && headDim % 2 == 0, "head_dim must be positive and even (got \(headDim))")
        try check(hiddenDim > 0, "intermediate_size must be positive (got \(hiddenDim))")
        try check(maxSeqLen > 0, "max_position_embeddings must be positive (got \(maxSeqLen))")
        try check(ropeTheta.isFinite && ropeTheta > 0, "rope_theta must be finite and positive")
        try check(normEps.isFinite && normEps > 0, "rms_norm_eps must be finite and positive")
        try check(qkvBias == (architecture == .qwen2),
                  qkvBias ? "q/k/v biases without an o_proj bias exist only in Qwen2ForCausalLM (architecture is \(architecture.rawValue))"
                          : "Qwen2ForCausalLM always has q/k/v biases (attention_bias is false)")
        try ropeScaling?.validate()
        let limit = 1 << 31
        try check(vocabSize < limit && dim < limit && hiddenDim < limit && maxSeqLen < limit && headDim < limit,
                  "a dimension exceeds 2^31")
        try check(nLayers <= 1024 && nHeads <= 4096, "more than 1024 layers or 4096 heads")
        try check(maxSeqLen <= 1 << 20 && headDim <= 1 << 12,
                  "max_position_embeddings above 2^20 or head_dim above 4096 (the rotary tables would be huge)")
        // The rotary tables hold maxSeqLen × headDim floats: at most 128 MB (Llama 3.1's 131072 × 128 is 64 MB).
        try check(maxSeqLen * headDim <= Self.maximumRotaryEntries,
                  "max_position_embeddings × head_dim = \(maxSeqLen) × \(headDim) is above \(Self.maximumRotaryEntries) "
                  + "(the rotary tables would take \(maxSeqLen * headDim * 4 >> 20) MB)")
        try check(parameterCount.map { $0 > 0 && $0 <= Self.maximumParameters } ?? false,
                  "more than \(Self.maximumParameters) parameters")
    }

    /// The rotary inverse frequencies, one per pair of head dimensions: θ^(−2i/headDim) as
    /// `transformers` computes them, then adjusted by `ropeScaling` when set.
    public var ropeInverseFrequencies: [Float] {
        let plain = Kernels.ropeInverseFrequencies(headDim: headDim, theta: ropeTheta)
        return ropeScaling?.apply(to: plain) ?? plain
    }

    /// The largest model the engine accepts (2^34 parameters, 64 GiB in fp32): a bound that keeps
    /// every size computation far from overflow and rejects absurd configs before any allocation.
    public static let maximumParameters = 1 << 34

    /// The most rotary-table entries (max_position_embeddings × head_dim) a model may have.
    public static let maximumRotaryEntries = 1 << 25

    /// Number of parameters this shape has (tied embeddings counted once); nil on overflow.
    public var parameterCount: Int? {
        let perLayer = [[dim], [qDim, dim], [kvDim, dim], [kvDim, dim], [dim, qDim], [dim],
                        [hiddenDim, dim], [hiddenDim, dim], [dim, hiddenDim]]
            + (qkvBias ? [[qDim], [kvDim], [kvDim]] : [])
        var layer = 0
        for shape in perLayer {
            let (count, overflow) = Self.multiplyChecked(shape)
            guard !overflow, count >= 0 else { return nil }
            let (sum, overflowSum) = layer.addingReportingOverflow(count)
            guard !overflowSum else { return nil }
            layer = sum
        }
        let (layers, overflowLayers) = layer.multipliedReportingOverflow(by: nLayers)
        let (embedding, overflowEmbedding) = Self.multiplyChecked([vocabSize, dim, tieEmbeddings ? 1 : 2])
        guard !overflowLayers, !overflowEmbedding else { return nil }
        let (head, overflowHead) = embedding.addingReportingOverflow(dim)
        let (total, overflow) = layers.addingReportingOverflow(head)
        return overflow || overflowHead ? nil : total
    }

    static func multiplyChecked(_ values: [Int]) -> (Int, Bool) {
        var product = 1
        for value in values {
            let (next, overflow) = product.multipliedReportingOverflow(by: value)
            if overflow { return (0, true) }
            product = next
        }
        return (product, false)
    }
}
