/// A Llama-family decoder in fp32: weights and their gradients in two flat buffers laid out by
/// `ParameterLayout`, rotary tables, and the thread count its kernels use.
/// One instance is used by one thread at a time.
public final class Transformer: @unchecked Sendable {
    /// The validated shape.
    public let config: ModelConfig
    /// Where each named tensor lives in `parameters` and `gradients`.
    public let layout: ParameterLayout
    /// All weights, flat.
    public let parameters: FloatBuffer
    /// Gradients, same layout as `parameters`; backward passes accumulate into it.
    public let gradients: FloatBuffer
    /// Threads the kernels may use (1 = everything on the caller's thread).
    public var threads: Int
    let ropeCos: FloatBuffer
    let ropeSin: FloatBuffer
    /// Low-rank adapters on the frozen weights (see `Transformer+LoRA.swift`); nil trains every weight.
    public internal(set) var adapters: LoRAAdapters?
    /// Whether forward passes apply the adapters; off, the model is its base (the SCoRe reference).
    public var adaptersEnabled = true
    /// Activation checkpointing: training passes keep only each block's input and the backward
    /// pass recomputes the block (about one more forward pass of work, a fraction of the memory).
    public var checkpointsActivations = false
    /// Saved activations and shard gradients; a frozen reference shares its policy's
    /// (`shareActivations(with:)`), so the two never hold two sets.
    var store = ActivationStore()
    /// Saved activations of the last forward pass, one per batch shard.
    var activations: [TrainingActivations] {
        get { store.parts }
        set { store.parts = newValue }
    }

    /// A model with Hugging Face's default initialisation: linear and embedding weights
    /// ~ N(0, 0.02²), norm weights 1, biases 0, drawn from a seeded generator.
    public convenience init(config: ModelConfig, seed: UInt64, threads: Int = 1) throws {
        try self.init(config: config, threads: threads)
        var rng = RandomGenerator(seed: seed)
        for tensor in layout.tensors {
            let p = parameters.pointer + tensor.offset
            if tensor.name.hasSuffix("norm.weight") {
                p.update(repeating: 1, count: tensor.count)
            } else if tensor.name.hasSuffix(".bias") {
                p.update(repeating: 0, count: tensor.count)
            } else {
                for i in 0..<tensor.count { p[i] = 0.02 * rng.nextNormal() }
            }
        }
    }

    /// A model whose parameters are all zero (to be filled by a checkpoint or a copy).
    public convenience init(config: ModelConfig, threads: Int = 1) throws {
        try config.validate()
        guard threads >= 1 else { throw ScoreError.invalidArgument("threads must be at least 1 (got \(threads))") }
        self.init(validated: config, threads: threads)
    }

    private init(validated config: ModelConfig, threads: Int) {
        self.config = config
        layout = ParameterLayout(config: config)
        parameters = FloatBuffer(count: layout.count)
        gradients = FloatBuffer(count: layout.count)
        self.threads = threads
        (ropeCos, ropeSin) = Kernels.ropeTables(maxSeqLen: config.maxSeqLen,
                                                inverseFrequencies: config.ropeInverseFrequencies)
    }

    /// An independent copy of the weights (gradients zero), e.g. the frozen reference policy.
    public func copy() -> Transformer {
        let clone = Transformer(validated: config, threads: threads)
        clone.parameters.copy(from: parameters)
        return clone
    }

    /// Number of parameters (tied embeddings counted once).
    public var parameterCount: Int { layout.count }

    /// Makes this model's training passes reuse the activation buffers of `other` (a reference
    /// policy evaluated just before its policy's forward pass needs no buffers of its own). The two
    /// must then run one after the other, and a backward pass needs its own model's forward last.
    public func shareActivations(with other: Transformer) {
        guard other.config == config else { return }
        store = other.store
    }

    /// Sets every gradient of the trained values to zero (the adapters' only, when attached: the
    /// frozen base's gradient buffer is never written, so its memory is never touched).
    public func zeroGradients() { trainableGradients.zero() }

    @inline(__always) func weight(_ offset: Int) -> UnsafeMutablePointer<Float> { parameters.pointer + offset }
    @inline(__always) func grad(_ offset: Int) -> UnsafeMutablePointer<Float> { gradients.pointer + offset }
}

/// The buffers a training forward pass saves for its backward pass, in a box that two models
/// of one shape can share.
final class ActivationStore {
    /// One per batch shard.
    var parts: [TrainingActivations] = []
    /// Gradient buffers of the shards after the first (see `Transformer.shardCount`).
    var shardGradients: [FloatBuffer] = []
}
