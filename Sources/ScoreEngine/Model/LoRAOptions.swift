import Foundation

/// A linear layer of each block that a LoRA adapter can wrap, by its Hugging Face module name.
public enum LoRATarget: String, CaseIterable, Codable, Sendable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// The module path inside a block (`self_attn.q_proj`, `mlp.gate_proj`, ...).
    public var modulePath: String {
        switch self {
        case .q, .k, .v, .o: return "self_attn." + rawValue
        case .gate, .up, .down: return "mlp." + rawValue
        }
    }

    /// The target named `name`: a module name (`q_proj`), its short form (`q`) or its path in a
    /// block (`self_attn.q_proj`); nil for anything else.
    public init?(name: String) {
        let short = name.split(separator: ".").last.map(String.init) ?? name
        if let exact = LoRATarget(rawValue: short) {
            self = exact
        } else if let match = LoRATarget.allCases.first(where: { $0.rawValue == short + "_proj" }) {
            self = match
        } else {
            return nil
        }
    }

    /// Targets from a comma-separated list (`q,v`, `q_proj,v_proj`, `all`). Throws naming an
    /// unknown entry.
    public static func parse(_ list: String) throws -> [LoRATarget] {
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names == ["all"] || names == ["all-linear"] { return LoRATarget.allCases }
        var targets = [LoRATarget]()
        for name in names {
            guard let target = LoRATarget(name: name) else {
                throw ScoreError.invalidArgument(
                    "LoRA target '\(name)' is not one of q, k, v, o, gate, up, down (or their *_proj names, or all)")
            }
            if !targets.contains(target) { targets.append(target) }
        }
        guard !targets.isEmpty else { throw ScoreError.invalidArgument("LoRA targets: the list is empty") }
        return targets
    }
}

/// Settings of low-rank adapters (Hu et al. 2021): each targeted linear layer W becomes
/// W x + (alpha / rank) · B A x with A [rank, in] and B [out, rank] trained and W frozen.
public struct LoRAOptions: Codable, Sendable, Equatable {
    /// r, the inner dimension of each adapter.
    public var rank: Int
    /// The scale numerator: updates are scaled by alpha / rank.
    public var alpha: Float
    /// Which linear layers of every block get an adapter (default: all seven).
    public var targets: [LoRATarget]

    /// Rank 16, alpha 2·rank, every linear layer.
    public init(rank: Int = 16, alpha: Float? = nil, targets: [LoRATarget] = LoRATarget.allCases) {
        self.rank = rank
        self.alpha = alpha ?? Float(2 * rank)
        self.targets = LoRATarget.allCases.filter(targets.contains)  // one canonical order
    }

    /// alpha / rank.
    public var scale: Float { alpha / Float(rank) }

    /// Throws `ScoreError.invalidArgument` naming the field: a rank below 1 or larger than a
    /// targeted layer's smaller side, a non-finite alpha, no or repeated targets.
    public func validate(for config: ModelConfig) throws {
        guard rank >= 1 else { throw ScoreError.invalidArgument("LoRA rank must be at least 1 (got \(rank))") }
        guard alpha.isFinite, alpha != 0 else {
            throw ScoreError.invalidArgument("LoRA alpha must be finite and non-zero (got \(alpha))")
        }
        guard !targets.isEmpty else { throw ScoreError.invalidArgument("LoRA targets: none given") }
        guard Set(targets).count == targets.count else { throw ScoreError.invalidArgument("LoRA targets: repeated entry") }
        for target in targets {
            let shape = config.linearShape(target)
            guard rank <= min(shape.out, shape.in) else {
                throw ScoreError.invalidArgument(
                    "LoRA rank \(rank) is larger than \(target.rawValue) (\(shape.out) × \(shape.in)) allows")
            }
        }
    }
}

extension LoRAOptions {
    /// Trainable values of `options`' adapters on a model of shape `config`.
    public static func parameterCount(_ options: LoRAOptions, config: ModelConfig) -> Int {
        config.nLayers * options.targets.reduce(0) { sum, target in
            let shape = config.linearShape(target)
            return sum + options.rank * (shape.in + shape.out)
        }
    }
}

extension ModelConfig {
    /// [out, in] of a block's linear layer.
    public func linearShape(_ target: LoRATarget) -> (out: Int, in: Int) {
        switch target {
        case .q: return (qDim, dim)
        case .k, .v: return (kvDim, dim)
        case .o: return (dim, qDim)
        case .gate, .up: return (hiddenDim, dim)
        case .down: return (dim, hiddenDim)
        }
    }
}
