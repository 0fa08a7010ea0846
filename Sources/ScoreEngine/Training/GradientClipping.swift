/// Clipping by global L2 norm over one flat gradient buffer, as
/// `torch.nn.utils.clip_grad_norm_`: when the norm exceeds `maxNorm` every gradient is scaled by
/// maxNorm / (norm + 1e-6).
public enum GradientClipping {
    /// The L2 norm of all values, accumulated in Double (per-thread partial sums).
    public static func globalNorm(_ values: FloatBuffer, threads: Int = 1) -> Double {
        let count = values.count
        let pieces = count >= 1 << 15 ? max(1, min(threads, count)) : 1
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: pieces)
        partial.initialize(repeating: 0, count: pieces)
        defer { partial.deallocate() }
        let x = values.pointer
        Parallel.forEach(pieces, threads: pieces) { piece in
            let start = count * piece / pieces, end = count * (piece + 1) / pieces
            var sum: Double = 0
            for i in start..<end {
                let value = Double(x[i])
                sum += value * value
            }
            partial[piece] = sum
        }
        var total: Double = 0
        for piece in 0..<pieces { total += partial[piece] }
        return total.squareRoot()
    }

    /// Multiplies every value by `factor` in place.
    public static func scale(_ values: FloatBuffer, by factor: Float, threads: Int = 1) {
        let x = values.pointer
        Parallel.chunks(values.count, threads: values.count >= 1 << 15 ? threads : 1) { start, end in
            for i in start..<end { x[i] *= factor }
        }
    }

    /// Scales `gradients` in place so their global norm is at most `maxNorm` (`.infinity`
    /// measures without clipping) and returns the norm before clipping. A non-finite norm throws
    /// `ScoreError.nonFinite` and leaves the gradients untouched.
    @discardableResult
    public static func clip(_ gradients: FloatBuffer, maxNorm: Float, threads: Int = 1) throws -> Float {
        guard maxNorm > 0 else {
            throw ScoreError.invalidArgument("gradient clipping: max norm must be > 0 (got \(maxNorm))")
        }
        let norm = globalNorm(gradients, threads: threads)
        guard norm.isFinite, Float(norm).isFinite else {
            throw ScoreError.nonFinite("gradient norm is \(norm)")
        }
        if norm > Double(maxNorm) {
            scale(gradients, by: Float(Double(maxNorm) / (norm + 1e-6)), threads: threads)
        }
        return Float(norm)
    }

    /// Clips the gradients of what a model trains (its weights, or its adapters) with its own thread
    /// count; returns the pre-clip norm.
    @discardableResult
    public static func clip(_ model: Transformer, maxNorm: Float) throws -> Float {
        try clip(model.trainableGradients, maxNorm: maxNorm, threads: model.threads)
    }
}
