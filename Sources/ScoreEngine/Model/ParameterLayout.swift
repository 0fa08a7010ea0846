/// One named tensor inside the flat parameter buffer.
public struct ParameterTensor: Sendable, Equatable {
    /// Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`.
    public let name: String
    /// Row-major shape ([out, in] for linear weights).
    public let shape: [Int]
    /// Offset of the first element in the flat buffer.
    public let offset: Int
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// Offsets of one block's tensors in the flat buffer.
public struct LayerOffsets: Sendable {
    public let attnNorm, wq, bq, wk, bk, wv, bv, wo, mlpNorm, wGate, wUp, wDown: Int
}

/// Where every parameter lives in one contiguous buffer. A flat layout makes the optimizer,
/// gradient clipping, checkpoints and gradient all-reduce single loops over one array.
public struct ParameterLayout: Sendable {
    /// All tensors in storage order.
    public let tensors: [ParameterTensor]
    /// Total element count.
    public let count: Int
    public let embedding: Int
    public let layers: [LayerOffsets]
    public let finalNorm: Int
    /// Offset of the output projection (the embedding when tied).
    public let output: Int

    public init(config: ModelConfig) {
        var tensors = [ParameterTensor]()
        var cursor = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let tensor = ParameterTensor(name: name, shape: shape, offset: cursor)
            tensors.append(tensor)
            cursor += tensor.count
            return tensor.offset
        }
        let d = config.dim, q = config.qDim, kv = config.kvDim, f = config.hiddenDim
        embedding = add("model.embed_tokens.weight", [config.vocabSize, d])
        var layers = [LayerOffsets]()
        for i in 0..<config.nLayers {
            let p = "model.layers.\(i)."
            let attnNorm = add(p + "input_layernorm.weight", [d])
            let wq = add(p + "self_attn.q_proj.weight", [q, d])
            let bq = config.qkvBias ? add(p + "self_attn.q_proj.bias", [q]) : -1
            let wk = add(p + "self_attn.k_proj.weight", [kv, d])
            let bk = config.qkvBias ? add(p + "self_attn.k_proj.bias", [kv]) : -1
            let wv = add(p + "self_attn.v_proj.weight", [kv, d])
            let bv = config.qkvBias ? add(p + "self_attn.v_proj.bias", [kv]) : -1
            let wo = add(p + "self_attn.o_proj.weight", [d, q])
            let mlpNorm = add(p + "post_attention_layernorm.weight", [d])
            let wGate = add(p + "mlp.gate_proj.weight", [f, d])
            let wUp = add(p + "mlp.up_proj.weight", [f, d])
            let wDown = add(p + "mlp.down_proj.weight", [d, f])
            layers.append(LayerOffsets(attnNorm: attnNorm, wq: wq, bq: bq, wk: wk, bk: bk, wv: wv, bv: bv,
                                       wo: wo, mlpNorm: mlpNorm, wGate: wGate, wUp: wUp, wDown: wDown))
        }
        self.layers = layers
        finalNorm = add("model.norm.weight", [d])
        output = config.tieEmbeddings ? embedding : add("lm_head.weight", [config.vocabSize, d])
        self.tensors = tensors
        self.count = cursor
    }

    /// The tensor with this Hugging Face name, if the model has one.
    public func tensor(named name: String) -> ParameterTensor? {
        tensors.first { $0.name == name }
    }
}
