import Foundation

/// Learning rate per optimizer step: linear warm-up from zero, then constant or cosine decay.
///
/// For the 0-based index `s` of the step about to be taken, with W = `warmupSteps`,
/// T = `totalSteps`, peak = `peakLearningRate`, min = `minLearningRate`:
///
///     s < W:               lr = peak · (s + 1) / W          (step 0 already moves: peak / W)
///     constant, s ≥ W:     lr = peak
///     cosine,   s ≥ W:     p  = min(1, (s − W) / max(1, T − W))
///                          lr = min + (peak − min) · ½ · (1 + cos(π·p))
///
/// so the cosine starts at the peak on step W and reaches `minLearningRate` at step T (the
/// Hugging Face `get_cosine_schedule_with_warmup` shape, but with a floor and a warm-up that
/// never yields a zero step); steps past T stay at the floor.
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    /// Shape after warm-up.
    public enum Kind: String, Codable, Sendable {
        /// Hold the peak.
        case constant
        /// Half a cosine from the peak down to `minLearningRate` at `totalSteps`.
        case cosine
    }

    /// Shape after warm-up.
    public var kind: Kind
    /// Learning rate at the end of warm-up.
    public var peakLearningRate: Float
    /// Steps of linear warm-up (0 = start at the peak).
    public var warmupSteps: Int
    /// Length of the run; the cosine reaches its floor here.
    public var totalSteps: Int
    /// Floor of the cosine (ignored by `.constant`).
    public var minLearningRate: Float

    /// A schedule; `minLearningRate` defaults to a tenth of the peak.
    public init(kind: Kind = .cosine, peakLearningRate: Float, warmupSteps: Int = 0, totalSteps: Int,
                minLearningRate: Float? = nil) {
        self.kind = kind
        self.peakLearningRate = peakLearningRate
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minLearningRate = minLearningRate ?? peakLearningRate * 0.1
    }

    /// A flat learning rate (no warm-up).
    public static func constant(_ learningRate: Float, totalSteps: Int = 1) -> LearningRateSchedule {
        LearningRateSchedule(kind: .constant, peakLearningRate: learningRate, totalSteps: totalSteps)
    }

    /// The learning rate for the 0-based optimizer step `step` (negative steps count as 0).
    public func learningRate(at step: Int) -> Float {
        let s = max(0, step)
        if s < warmupSteps {
            return Float(Double(peakLearningRate) * Double(s + 1) / Double(warmupSteps))
        }
        switch kind {
        case .constant:
            return peakLearningRate
        case .cosine:
            let progress = min(1, Double(s - warmupSteps) / Double(max(1, totalSteps - warmupSteps)))
            let peak = Double(peakLearningRate), floor = Double(minLearningRate)
            return Float(floor + (peak - floor) * 0.5 * (1 + Foundation.cos(Double.pi * progress)))
        }
    }

    /// Throws `ScoreError.invalidArgument` naming the first inconsistency.
    public func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw ScoreError.invalidArgument("learning-rate schedule: " + message()) }
        }
        try check(peakLearningRate.isFinite && peakLearningRate > 0,
                  "peak learning rate must be finite and > 0 (got \(peakLearningRate))")
        try check(totalSteps >= 1, "total steps must be at least 1 (got \(totalSteps))")
        try check(warmupSteps >= 0 && warmupSteps <= totalSteps,
                  "warm-up steps must be in 0...\(totalSteps) (got \(warmupSteps))")
        try check(minLearningRate.isFinite && minLearningRate >= 0 && minLearningRate <= peakLearningRate,
                  "minimum learning rate must be in [0, peak \(peakLearningRate)] (got \(minLearningRate))")
    }

    enum CodingKeys: String, CodingKey {
        case kind, peakLearningRate, warmupSteps, totalSteps, minLearningRate
    }

    /// Decodes; `kind` defaults to cosine, warm-up to 0, the floor to a tenth of the peak.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .cosine,
                  peakLearningRate: try c.decode(Float.self, forKey: .peakLearningRate),
                  warmupSteps: try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? 0,
                  totalSteps: try c.decode(Int.self, forKey: .totalSteps),
                  minLearningRate: try c.decodeIfPresent(Float.self, forKey: .minLearningRate))
    }
}
