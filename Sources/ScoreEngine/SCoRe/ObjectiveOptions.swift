/// Which SCoRe objective a step optimises (Kumar et al. 2024, arXiv 2409.12917).
public enum TrainingStage: String, Codable, Sendable {
    /// Stage I: maximise r(y2) − β2·KL(turn 1) − β1·KL(turn 2). Turn-1 tokens carry no reward
    /// term, only the strong KL that keeps the first attempt near the reference policy.
    case stageI
    /// Stage II: maximise r(y1) + r̂(y2) − β1·(KL(turn 1) + KL(turn 2)), r̂ the shaped reward.
    case stageII
    /// The single-turn RL ablation: turn 1 trained on r(y1) with β1·KL; turn 2 untouched.
    case singleTurn
}

/// How the KL penalty against the reference enters the objective, from d = log π(token) −
/// log π_ref(token) of each sampled token (estimators after Schulman 2020).
///
/// The paper penalises KL(π‖π_ref). Each case names the divergence its expected gradient follows:
/// - `k1InReward`: the penalty is part of the return. Token t is credited with
///   β·Σ_{t' ≥ t} d_{t'} over the rest of its turn, so the expected gradient is that of the turn's
///   sequence-level KL(π‖π_ref), including the effect of each token on the later ones. The
///   paper's divergence, exactly in expectation.
/// - `k2`: the slope d per token, the expected gradient of each position's KL(π‖π_ref) given its
///   prefix (not the effect on later positions). Same direction as the paper's, per token.
/// - `k3`: the slope 1 − π_ref/π per token, the expected gradient of KL(π_ref‖π) given the prefix:
///   the reverse direction, mass-covering. The default (it was the first that worked here).
/// - `k1`: the slope 1, whose expectation under π is zero (E_π[∇log π] = 0): no pull towards the
///   reference at all, noise only. Kept to measure that.
/// Every case reports the same kind of value per token in the statistics: d for k1 and
/// k1InReward, d²/2 for k2, exp(−d) + d − 1 for k3.
public enum KLEstimator: String, Codable, Sendable, CaseIterable {
    /// Value d, slope 1.
    case k1
    /// Value d²/2, slope d: KL(π‖π_ref) per token.
    case k2
    /// Value exp(−d) + d − 1, slope 1 − exp(−d): KL(π_ref‖π) per token.
    case k3
    /// Value d as a penalty in the return: KL(π‖π_ref) of the whole turn.
    case k1InReward
}

/// Baseline subtracted from each turn's returns to form that turn's advantages.
public enum BaselineKind: String, Codable, Sendable, CaseIterable {
    /// A_i = R_i − mean of the other samples of the same prompt (RLOO). A prompt with a single
    /// sample has no others: its advantage is its return (no baseline).
    case leaveOneOut
    /// A_i = R_i − mean of R over every episode of the batch.
    case batchMean
    /// A_i = R_i.
    case none
}

/// How the second-turn reward is shaped in Stage II.
public enum RewardShaping: String, Codable, Sendable, CaseIterable {
    /// r̂2 = r2 + α·(r2 − r1) (paper Eq. 5): rewards progress, penalises regressions.
    case progress
    /// r̂2 = r2 + α·1[r2 correct ∧ r1 incorrect], "correct" meaning r ≥ 0.5
    /// (`SCoReObjective.correctThreshold`), so non-binary rewards are thresholded.
    case flip
    /// r̂2 = r2.
    case none
}

/// Hyperparameters of the SCoRe objective.
public struct ObjectiveOptions: Codable, Sendable, Equatable {
    /// KL weight on turn 2 in Stage I and on both turns in Stage II and single-turn RL
    /// (paper: 0.01).
    public var beta1: Float
    /// KL weight on turn 1 in Stage I; much larger than `beta1` (paper: 0.1–0.25).
    public var beta2: Float
    /// Bonus scale α of the Stage II reward shaping (paper: 10).
    public var alpha: Float
    /// Second-turn reward shaping in Stage II.
    public var shaping: RewardShaping
    /// Per-token KL estimator (k3 by default: see `KLEstimator`).
    public var klEstimator: KLEstimator
    /// Baseline applied to each turn's returns.
    public var baseline: BaselineKind
    /// Drop from the turn-2 return the part of the shaped reward that depends on attempt 1 alone
    /// (−α·r1 under `progress`). Attempt 1 is fixed before attempt 2 is sampled, so that part is
    /// a valid baseline for turn-2 tokens: the expected gradient is unchanged, but without it each
    /// turn-2 sample carries ±α of noise that a baseline pooled over samples with different first
    /// attempts cannot cancel. No effect on `flip` or `none` shaping, or outside Stage II.
    public var turn2StateBaseline: Bool
    /// λ ≥ 0, not in the paper (0, the default, is the paper's objective): in Stage II, an episode
    /// whose right first attempt was broken (r1 right, r2 wrong) loses λ more from its turn-2
    /// reward. Under a turn-2 state baseline, progress shaping only scales r2 by 1 + α in every
    /// state; this scales it by 1 + α + λ where attempt 1 was right, so keeping a right answer
    /// weighs more than fixing a wrong one.
    public var breakPenalty: Float
    /// With more than two attempts per episode: Stage I holds only attempt 1 near the reference
    /// (β2) and rewards every later attempt with its own reward, instead of holding every attempt
    /// before the last and rewarding only the last (the default). The same objective for two.
    public var stageIHoldsFirstOnly: Bool

    /// Options with the documented defaults; any argument may be overridden.
    public init(beta1: Float = 0.01, beta2: Float = 1.0, alpha: Float = 10,
                shaping: RewardShaping = .progress, klEstimator: KLEstimator = .k3,
                baseline: BaselineKind = .leaveOneOut, turn2StateBaseline: Bool = false, breakPenalty: Float = 0,
                stageIHoldsFirstOnly: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.alpha = alpha
        self.shaping = shaping
        self.klEstimator = klEstimator
        self.baseline = baseline
        self.turn2StateBaseline = turn2StateBaseline
        self.breakPenalty = breakPenalty
        self.stageIHoldsFirstOnly = stageIHoldsFirstOnly
    }

    /// Throws `ScoreError.invalidArgument` naming the first value out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw ScoreError.invalidArgument("objective options: " + message()) }
        }
        try check(beta1.isFinite && beta1 >= 0, "beta1 must be finite and >= 0 (got \(beta1))")
        try check(beta2.isFinite && beta2 >= 0, "beta2 must be finite and >= 0 (got \(beta2))")
        try check(alpha.isFinite && alpha >= 0, "alpha must be finite and >= 0 (got \(alpha))")
        try check(breakPenalty.isFinite && breakPenalty >= 0, "breakPenalty must be finite and >= 0 (got \(breakPenalty))")
    }

    enum CodingKeys: String, CodingKey {
        case beta1, beta2, alpha, shaping, klEstimator, baseline, turn2StateBaseline, breakPenalty, stageIHoldsFirstOnly
    }

    /// Decodes, taking the default for every missing key.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ObjectiveOptions()
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? d.beta2
        alpha = try c.decodeIfPresent(Float.self, forKey: .alpha) ?? d.alpha
        shaping = try c.decodeIfPresent(RewardShaping.self, forKey: .shaping) ?? d.shaping
        klEstimator = try c.decodeIfPresent(KLEstimator.self, forKey: .klEstimator) ?? d.klEstimator
        baseline = try c.decodeIfPresent(BaselineKind.self, forKey: .baseline) ?? d.baseline
        turn2StateBaseline = try c.decodeIfPresent(Bool.self, forKey: .turn2StateBaseline) ?? d.turn2StateBaseline
        breakPenalty = try c.decodeIfPresent(Float.self, forKey: .breakPenalty) ?? d.breakPenalty
        stageIHoldsFirstOnly = try c.decodeIfPresent(Bool.self, forKey: .stageIHoldsFirstOnly) ?? d.stageIHoldsFirstOnly
    }
}
