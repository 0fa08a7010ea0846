import Foundation

/// Where one adapter's two matrices live in `LoRAAdapters.parameters`.
public struct LoRASite: Sendable, Equatable {
    /// Offset of A [rank, inWidth] and of B [outWidth, rank].
    public let a, b: Int
    public let rank, inWidth, outWidth: Int
    /// alpha / rank.
    public let scale: Float
}

/// The low-rank adapters of a model: for every block and targeted linear layer an A and a B
/// matrix, all in one flat parameter buffer with a gradient buffer of the same layout (so the
/// optimizer, clipping and checkpoints treat them as they treat a whole model). Tensor names
/// follow PEFT's files: `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`.
public final class LoRAAdapters: @unchecked Sendable {
    public let options: LoRAOptions
    /// The adapted model's shape.
    public let config: ModelConfig
    /// Every A and B, flat.
    public let parameters: FloatBuffer
    /// Gradients, same layout; backward passes accumulate into them.
    public let gradients: FloatBuffer
    /// Each tensor under its PEFT name, in storage order (layer by layer, A before B).
    public let tensors: [ParameterTensor]
    /// sites[layer][target] for the targeted layers.
    let sites: [[LoRATarget: LoRASite]]

    /// Adapters initialised as PEFT does: A ~ U(−1/√in, 1/√in) (Kaiming-uniform with a = √5), B = 0,
    /// so the adapted model starts equal to its base. Throws on invalid options.
    public convenience init(config: ModelConfig, options: LoRAOptions, seed: UInt64) throws {
        try self.init(config: config, options: options)
        initialize(seed: seed)
    }

    /// Adapters whose matrices are all zero (to be filled from a file).
    public init(config: ModelConfig, options: LoRAOptions) throws {
        try options.validate(for: config)
        var tensors = [ParameterTensor](), sites = [[LoRATarget: LoRASite]]()
        var cursor = 0
        for layer in 0..<config.nLayers {
            var row = [LoRATarget: LoRASite]()
            for target in LoRATarget.allCases where options.targets.contains(target) {
                let shape = config.linearShape(target)
                let prefix = "base_model.model.model.layers.\(layer).\(target.modulePath)"
                let a = ParameterTensor(name: prefix + ".lora_A.weight", shape: [options.rank, shape.in], offset: cursor)
                cursor += a.count
                let b = ParameterTensor(name: prefix + ".lora_B.weight", shape: [shape.out, options.rank], offset: cursor)
                cursor += b.count
                tensors += [a, b]
                row[target] = LoRASite(a: a.offset, b: b.offset, rank: options.rank, inWidth: shape.in,
                                       outWidth: shape.out, scale: options.scale)
            }
            sites.append(row)
        }
        self.options = options
        self.config = config
        self.tensors = tensors
        self.sites = sites
        parameters = FloatBuffer(count: cursor)
        gradients = FloatBuffer(count: cursor)
    }

    /// Number of trainable values.
    public var parameterCount: Int { parameters.count }

    /// A fresh start: A random (seeded), B zero; the adapted model equals its base again.
    public func initialize(seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        for layer in sites {
            for target in LoRATarget.allCases {
                guard let site = layer[target] else { continue }
                let bound = 1 / Float(site.inWidth).squareRoot()
                let a = parameters.pointer + site.a
                for i in 0..<(site.rank * site.inWidth) { a[i] = bound * (2 * rng.nextUnitFloat() - 1) }
                (parameters.pointer + site.b).update(repeating: 0, count: site.outWidth * site.rank)
            }
        }
    }

    /// The adapter of `target` in block `layer`, if there is one.
    public func site(layer: Int, target: LoRATarget) -> LoRASite? { sites[layer][target] }

    /// Element ranges of every matrix (all receive weight decay, as in PEFT with the HF Trainer).
    var matrixRanges: [Range<Int>] { tensors.map { $0.offset..<($0.offset + $0.count) } }
}
