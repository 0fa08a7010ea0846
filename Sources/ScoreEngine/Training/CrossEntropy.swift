/// Token-level cross-entropy on top of `Transformer.forward`'s per-position log-probabilities.
/// Loss = −(1/N) Σ log π(target | prefix) over trained positions (target ≥ 0); its gradient
/// with respect to each log-probability is −1/N, which is what `Transformer.backward` takes.
public enum CrossEntropy {
    /// Summed loss of one block.
    public struct Sum: Sendable, Equatable {
        /// Σ −log π over trained positions, in Double.
        public var negativeLogLikelihood: Double
        /// Number of trained positions.
        public var count: Int
        /// Mean loss (0 when nothing is trained).
        public var mean: Float { count > 0 ? Float(negativeLogLikelihood / Double(count)) : 0 }
    }

    /// Sums −log π over positions whose target is ≥ 0. Throws on a length mismatch or a
    /// non-finite log-probability at a trained position.
    public static func sum(logProbs: [Float], targets: [Int]) throws -> Sum {
        guard logProbs.count == targets.count else {
            throw ScoreError.invalidArgument("\(logProbs.count) log-probabilities for \(targets.count) targets")
        }
        var total: Double = 0
        var count = 0
        for i in 0..<targets.count where targets[i] >= 0 {
            let value = logProbs[i]
            guard value.isFinite else { throw ScoreError.nonFinite("log-probability at position \(i) is \(value)") }
            total -= Double(value)
            count += 1
        }
        return Sum(negativeLogLikelihood: total, count: count)
    }

    /// Mean loss over trained positions and its count.
    public static func meanLoss(logProbs: [Float], targets: [Int]) throws -> (loss: Float, count: Int) {
        let s = try sum(logProbs: logProbs, targets: targets)
        return (s.mean, s.count)
    }

    /// dLoss/dlogπ: −1/`normalizer` at trained positions, 0 elsewhere. Pass the number of
    /// trained positions of this block for its mean, or of all accumulated blocks for the mean
    /// over an accumulated batch.
    public static func gradient(targets: [Int], normalizer: Int) throws -> [Float] {
        guard normalizer > 0 else {
            throw ScoreError.invalidArgument("cross-entropy normaliser must be positive (got \(normalizer))")
        }
        let weight = -1 / Float(normalizer)
        return targets.map { $0 >= 0 ? weight : 0 }
    }

    /// Mean loss over this block's trained positions and the matching dLogProbs for backward.
    public static func lossAndGradient(logProbs: [Float], targets: [Int]) throws -> (loss: Float, dLogProbs: [Float]) {
        let s = try sum(logProbs: logProbs, targets: targets)
        guard s.count > 0 else { throw ScoreError.invalidArgument("no trained positions in the block") }
        return (s.mean, try gradient(targets: targets, normalizer: s.count))
    }
}
