/// Which objective each training step uses.
public enum StagePlan: Codable, Sendable, Equatable {
    /// SCoRe: `stageI` steps of Stage I then `stageII` steps of Stage II, repeated `rounds` times
    /// (rounds > 1 interleaves the stages). `stageI: 0` is the "w/o Stage I" ablation.
    case score(stageI: Int, stageII: Int, rounds: Int)
    /// The "w/o multi-turn training" ablation: REINFORCE on attempt 1 alone.
    case singleTurn(steps: Int)

    /// Total optimizer steps.
    public var totalSteps: Int {
        switch self {
        case .score(let stageI, let stageII, let rounds): return (stageI + stageII) * rounds
        case .singleTurn(let steps): return steps
        }
    }

    /// The stage of step `step` (0-based).
    public func stage(at step: Int) -> TrainingStage {
        switch self {
        case .score(let stageI, let stageII, _):
            let period = max(1, stageI + stageII)
            return step % period < stageI ? .stageI : .stageII
        case .singleTurn:
            return .singleTurn
        }
    }

    func validate() throws {
        switch self {
        case .score(let stageI, let stageII, let rounds):
            guard stageI >= 0, stageII >= 0, rounds >= 1, stageI + stageII > 0 else {
                throw ScoreError.invalidArgument("stage plan: needs stageI, stageII >= 0 with a positive sum and rounds >= 1")
            }
        case .singleTurn(let steps):
            guard steps > 0 else { throw ScoreError.invalidArgument("stage plan: single-turn needs steps > 0") }
        }
    }
}

/// Settings of a SCoRe run. Defaults follow what was stable on the built-in task: 32 prompts × 4
/// samples per step, temperature 1, Adam at 1e-4 (1e-3 collapsed Stage I), β2 = 1.0, β1 = 0.01, α = 10.
public struct SCoReOptions: Codable, Sendable, Equatable {
    /// Distinct prompts per step.
    public var promptsPerStep: Int = 32
    /// Samples per prompt (k); the leave-one-out baseline needs k >= 2.
    public var samplesPerPrompt: Int = 4
    /// Sampling temperature of both attempts during training.
    public var temperature: Float = 1
    /// A different temperature for attempt 1 only (nil: `temperature`). Below 1 the first attempts
    /// resemble greedy ones more, at the price of turn-1 tokens no longer being exact on-policy
    /// samples (their REINFORCE term is then biased; their KL term is not affected).
    public var firstAttemptTemperature: Float?
    /// Longest attempt, in tokens.
    public var maxNewTokens: Int = 8
    /// Constant learning rate of the policy.
    public var learningRate: Float = 1e-4
    /// Optimizer settings other than the learning rate.
    public var adamW: AdamWOptions = AdamWOptions(learningRate: 1e-4)
    /// Clip the global gradient norm to this value (0 = measure only).
    public var gradientClipNorm: Float = 1
    /// KL weights, shaping, estimator and baseline.
    public var objective: ObjectiveOptions = ObjectiveOptions()
    /// Which stage each step runs.
    public var plan: StagePlan = .score(stageI: 150, stageII: 150, rounds: 1)
    /// Seed of prompt choice and sampling.
    public var seed: UInt64 = 0

    public init() {}

    /// Throws `ScoreError.invalidArgument` naming the first bad setting.
    public func validate() throws {
        guard promptsPerStep >= 1, samplesPerPrompt >= 1 else {
            throw ScoreError.invalidArgument("SCoRe: promptsPerStep and samplesPerPrompt must be at least 1")
        }
        guard temperature.isFinite, temperature >= 0, maxNewTokens >= 1,
              (firstAttemptTemperature.map { $0.isFinite && $0 >= 0 } ?? true) else {
            throw ScoreError.invalidArgument("SCoRe: temperature must be finite and >= 0, maxNewTokens >= 1")
        }
        guard learningRate.isFinite, learningRate > 0, gradientClipNorm.isFinite, gradientClipNorm >= 0 else {
            throw ScoreError.invalidArgument("SCoRe: learning rate must be positive and the clip norm >= 0")
        }
        try adamW.validate()
        try objective.validate()
        try plan.validate()
    }
}
