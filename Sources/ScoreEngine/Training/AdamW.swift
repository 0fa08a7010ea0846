import Foundation

/// Hyperparameters of `AdamW`. Defaults follow `torch.optim.AdamW` except the weight decay,
/// which is off by default (torch uses 0.01): β2 = 0.999 keeps parity with a default PyTorch
/// peer; language-model recipes that want faster second-moment adaptation use 0.95.
public struct AdamWOptions: Codable, Sendable, Equatable {
    /// Nominal step size; trainers fall back to it when no schedule is given.
    public var learningRate: Float
    /// Decay rate of the first moment (mean of gradients).
    public var beta1: Float
    /// Decay rate of the second moment (mean of squared gradients).
    public var beta2: Float
    /// Added to the bias-corrected RMS in the denominator.
    public var epsilon: Float
    /// Decoupled weight decay: each step multiplies decayed weights by (1 − lr·weightDecay).
    public var weightDecay: Float

    /// Options with the documented defaults; any argument may be overridden.
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Throws `ScoreError.invalidArgument` naming the first value out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw ScoreError.invalidArgument("AdamW options: " + message()) }
        }
        try check(learningRate.isFinite && learningRate >= 0, "learning rate must be finite and >= 0 (got \(learningRate))")
        try check(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1) (got \(beta1))")
        try check(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1) (got \(beta2))")
        try check(epsilon.isFinite && epsilon > 0, "epsilon must be finite and > 0 (got \(epsilon))")
        try check(weightDecay.isFinite && weightDecay >= 0, "weight decay must be finite and >= 0 (got \(weightDecay))")
    }

    enum CodingKeys: String, CodingKey {
        case learningRate, beta1, beta2, epsilon, weightDecay
    }

    /// Decodes, taking the default for every missing key.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AdamWOptions()
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? d.beta2
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? d.epsilon
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
    }
}

/// Adam with decoupled weight decay (Loshchilov & Hutter), step for step as `torch.optim.AdamW`:
///
///     p ← p · (1 − lr·wd)                       (decayed tensors only)
///     m ← β1·m + (1 − β1)·g
///     v ← β2·v + (1 − β2)·g²
///     p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// over one flat parameter buffer and its gradient buffer. Weight decay applies to matrices
/// only (tensors of rank ≥ 2): every linear weight and the token embedding (which, tied, is
/// also the output projection — as the Hugging Face Trainer does), never norm weights or biases.
/// Gradients are read as they are: clip them first (`GradientClipping` rejects non-finite ones).
public final class AdamW {
    /// Hyperparameters (the learning rate of each update is passed to `step(learningRate:)`).
    public let options: AdamWOptions
    /// Running mean of gradients, laid out like the parameters.
    public let firstMoment: FloatBuffer
    /// Running mean of squared gradients, laid out like the parameters.
    public let secondMoment: FloatBuffer
    /// Number of updates applied so far (t in the bias corrections).
    public private(set) var step: Int = 0
    /// Threads the update uses: the model's current thread count when built from a model.
    public var threads: Int { max(1, model?.threads ?? ownThreads) }

    private let parameters: FloatBuffer
    private let gradients: FloatBuffer
    private let model: Transformer?
    private let ownThreads: Int
    /// Contiguous runs covering 0..<count, each decayed or not.
    private let spans: [(start: Int, end: Int, decay: Bool)]

    /// An optimizer over what a model trains (`trainableParameters`: every weight, or the LoRA
    /// adapters when attached) and their gradients, decaying its matrices.
    public convenience init(model: Transformer, options: AdamWOptions = AdamWOptions()) throws {
        try self.init(parameters: model.trainableParameters, gradients: model.trainableGradients,
                      decayedRanges: model.trainableMatrixRanges, options: options, threads: model.threads, model: model)
    }

    /// An optimizer over any pair of equally sized buffers; `decayedRanges` lists the element
    /// ranges that receive weight decay (non-overlapping, inside the buffer).
    public convenience init(parameters: FloatBuffer, gradients: FloatBuffer, decayedRanges: [Range<Int>],
                            options: AdamWOptions = AdamWOptions(), threads: Int = 1) throws {
        try self.init(parameters: parameters, gradients: gradients, decayedRanges: decayedRanges,
                      options: options, threads: threads, model: nil)
    }

    private init(parameters: FloatBuffer, gradients: FloatBuffer, decayedRanges: [Range<Int>],
                 options: AdamWOptions, threads: Int, model: Transformer?) throws {
        try options.validate()
        guard parameters.count == gradients.count else {
            throw ScoreError.invalidArgument(
                "AdamW: \(parameters.count) parameters but \(gradients.count) gradients")
        }
        guard threads >= 1 else { throw ScoreError.invalidArgument("AdamW: threads must be at least 1 (got \(threads))") }
        self.spans = try AdamW.spans(count: parameters.count, decayed: decayedRanges)
        self.options = options
        self.parameters = parameters
        self.gradients = gradients
        self.model = model
        self.ownThreads = threads
        firstMoment = FloatBuffer(count: parameters.count)
        secondMoment = FloatBuffer(count: parameters.count)
    }

    /// Number of elements that receive weight decay.
    public var decayedCount: Int { spans.reduce(0) { $0 + ($1.decay ? $1.end - $1.start : 0) } }

    /// Applies one update with the given learning rate (usually from a `LearningRateSchedule`).
    public func step(learningRate: Float) throws {
        guard learningRate.isFinite, learningRate >= 0 else {
            throw ScoreError.invalidArgument("AdamW: learning rate must be finite and >= 0 (got \(learningRate))")
        }
        let t = step + 1
        let o = options
        let correction1 = 1 - Foundation.pow(Double(o.beta1), Double(t))
        let correction2 = 1 - Foundation.pow(Double(o.beta2), Double(t))
        let stepSize = Float(Double(learningRate) / correction1)
        let invSqrtCorrection2 = Float(1 / correction2.squareRoot())
        let decayFactor = 1 - learningRate * o.weightDecay
        let b1 = o.beta1, b2 = o.beta2, c1 = 1 - o.beta1, c2 = 1 - o.beta2, eps = o.epsilon
        let p = parameters.pointer, g = gradients.pointer
        let m = firstMoment.pointer, v = secondMoment.pointer
        let spans = self.spans
        let count = parameters.count
        let workers = count >= 1 << 15 ? threads : 1
        Parallel.chunks(count, threads: workers) { start, end in
            for span in spans where span.end > start && span.start < end {
                let factor: Float = span.decay ? decayFactor : 1
                for i in max(start, span.start)..<min(end, span.end) {
                    let gi = g[i]
                    let mi = b1 * m[i] + c1 * gi
                    let vi = b2 * v[i] + c2 * gi * gi
                    m[i] = mi
                    v[i] = vi
                    p[i] = p[i] * factor - stepSize * mi / (vi.squareRoot() * invSqrtCorrection2 + eps)
                }
            }
        }
        step = t
    }

    /// Restores the state saved from `step`, `firstMoment` and `secondMoment` (a resumed run).
    /// Sizes must match the parameters; moments must be finite and the second non-negative.
    public func restore(step: Int, firstMoment first: [Float], secondMoment second: [Float]) throws {
        guard step >= 0 else { throw ScoreError.invalidArgument("AdamW: step must be >= 0 (got \(step))") }
        guard first.count == parameters.count, second.count == parameters.count else {
            throw ScoreError.invalidArgument(
                "AdamW: moments of \(first.count) and \(second.count) values for \(parameters.count) parameters")
        }
        if let bad = first.firstIndex(where: { !$0.isFinite }) {
            throw ScoreError.nonFinite("AdamW first moment at \(bad) is \(first[bad])")
        }
        if let bad = second.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
            throw ScoreError.nonFinite("AdamW second moment at \(bad) is \(second[bad])")
        }
        first.withUnsafeBufferPointer { if let base = $0.baseAddress { firstMoment.pointer.update(from: base, count: $0.count) } }
        second.withUnsafeBufferPointer { if let base = $0.baseAddress { secondMoment.pointer.update(from: base, count: $0.count) } }
        self.step = step
    }

    /// Forgets all state: zero moments, step 0.
    public func reset() {
        firstMoment.zero()
        secondMoment.zero()
        step = 0
    }

    /// Sorted runs covering 0..<count, adjacent runs with the same flag merged.
    private static func spans(count: Int, decayed: [Range<Int>]) throws -> [(start: Int, end: Int, decay: Bool)] {
        let sorted = decayed.filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        var result = [(start: Int, end: Int, decay: Bool)]()
        func append(_ start: Int, _ end: Int, _ decay: Bool) {
            guard start < end else { return }
            if let last = result.last, last.decay == decay, last.end == start {
                result[result.count - 1].end = end
            } else {
                result.append((start, end, decay))
            }
        }
        var cursor = 0
        for range in sorted {
            guard range.lowerBound >= cursor, range.upperBound <= count else {
                throw ScoreError.invalidArgument(
                    "AdamW: decayed range \(range) overlaps another or lies outside 0..<\(count)")
            }
            append(cursor, range.lowerBound, false)
            append(range.lowerBound, range.upperBound, true)
            cursor = range.upperBound
        }
        append(cursor, count, false)
        return result
    }
}
