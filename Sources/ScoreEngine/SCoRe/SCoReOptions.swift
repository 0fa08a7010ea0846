/// Which objective each training step uses.
public enum StagePlan: Codable, Sendable, Equatable {
    /// SCoRe: `stageI` steps of Stage I then `stageII` steps of Stage II, repeated `rounds` times
    /// (rounds > 1 interleaves the stages). `stageI: 0` is the "w/o Stage I" ablation.
    case score(stageI: Int, stageII: Int, rounds: Int)
    /// The "w/o multi-turn training" ablation: REINFORCE on attempt 1 alone.
    case singleTurn(steps: Int)

    /// Steps of a single-turn plan when none is given (score_trainer_options_init's).
    public static let defaultSingleTurnSteps = 300

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

    /// The most steps a plan may have (so that step arithmetic cannot overflow).
    public static let maximumSteps = 1 << 40

    func validate() throws {
        let limit = Self.maximumSteps
        switch self {
        case .score(let stageI, let stageII, let rounds):
            guard stageI >= 0, stageII >= 0, rounds >= 1, stageI <= limit, stageII <= limit, rounds <= limit,
                  stageI + stageII > 0 else {
                throw ScoreError.invalidArgument(
                    "stage plan: needs stageI, stageII in 0...\(limit) with a positive sum and rounds in 1...\(limit)")
            }
            let (total, overflow) = (stageI + stageII).multipliedReportingOverflow(by: rounds)
            guard !overflow, total <= limit else {
                throw ScoreError.invalidArgument("stage plan: (stageI + stageII) × rounds is more than \(limit) steps")
            }
        case .singleTurn(let steps):
            guard steps > 0, steps <= limit else {
                throw ScoreError.invalidArgument("stage plan: single-turn needs steps in 1...\(limit)")
            }
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
    /// Second attempts sampled from each first attempt (m). At 2 or more the turn-2 baseline is per
    /// state: the other second attempts of the same first attempt (see `EpisodeCredit`), so a
    /// second attempt is credited for what it adds to its own first attempt. A step then has
    /// prompts × k × m episodes. Single-turn steps sample one attempt per sample whatever m.
    public var secondAttemptsPerFirst: Int = 1
    /// Attempts per episode in the two-attempt stages (2 ... `Transformer.maximumAttempts`): attempt
    /// k + 1 follows the instruction after attempt k, over the whole conversation. With more than
    /// two, Stage I keeps every attempt before the last near the reference (β2) and rewards the last;
    /// Stage II rewards attempt 1 and shapes each later attempt by its progress over the one before
    /// (see `SCoReObjective.turnReturns`). More than two needs `secondAttemptsPerFirst` = 1.
    public var attempts: Int = 2
    /// Sampling temperature of both attempts during training. The policy the objective scores and
    /// differentiates is the one sampled, softmax(logits / temperature), and the KL compares it with
    /// the reference at the same temperature; so a temperature below 1 trains the sharper policy
    /// on its own samples (on-policy), not the untempered one on another's.
    public var temperature: Float = 1
    /// The temperature of the policy's log-probabilities in the objective: `temperature`, or 1 when
    /// training samples greedily (temperature 0, not a distribution).
    public var policyTemperature: Float { temperature > 0 ? temperature : 1 }
    /// A different temperature for attempt 1 of two-attempt steps (nil: `temperature`). Below 1
    /// the first attempts resemble greedy ones, so training sees right first attempts about as
    /// often as greedy evaluation does. Such first attempts are not the policy's own samples, so
    /// their REINFORCE term would be biased: it is masked (turn 1 keeps only its KL term, which
    /// then penalises the tempered samples). Single-turn steps sample at `temperature`, as their
    /// only signal is turn 1's.
    public var firstAttemptTemperature: Float?
    /// Whether first attempts of two-attempt steps are sampled at another temperature than the
    /// policy's (and their policy-gradient term is masked).
    public var tempersFirstAttempts: Bool {
        firstAttemptTemperature.map { $0 != temperature } ?? false
    }
    /// Longest attempt, in tokens.
    public var maxNewTokens: Int = 8
    /// Constant learning rate of the policy: the optimizer's, `adamW.learningRate` (one value).
    public var learningRate: Float {
        get { adamW.learningRate }
        set { adamW.learningRate = newValue }
    }
    /// Optimizer settings, the learning rate among them.
    public var adamW: AdamWOptions = AdamWOptions(learningRate: 1e-4)
    /// Clip the global gradient norm to this value (0 = measure only).
    public var gradientClipNorm: Float = 1
    /// KL weights, shaping, estimator and baseline.
    public var objective: ObjectiveOptions = ObjectiveOptions()
    /// Which stage each step runs.
    public var plan: StagePlan = .score(stageI: 150, stageII: 150, rounds: 1)
    /// Seed of prompt choice and sampling.
    public var seed: UInt64 = 0
    /// Episodes forwarded and back-propagated at once; their gradients accumulate, so the step is
    /// the same whatever the micro-batch (to float-summation rounding). nil chooses the largest
    /// that keeps the pass within `memoryBudget`.
    public var microBatch: Int?
    /// Bytes the activations of one training pass and the KV cache of one rollout chunk should stay
    /// within, beyond the weights and optimizer state; sets the automatic micro-batch and how many
    /// prompts are sampled at once. Default 1 GiB.
    public var memoryBudget: Int = 1 << 30
    /// Low-rank adapters to train on the frozen policy (nil: train every weight). The reference
    /// policy is then the base with the adapters off: no copy of the weights, and AdamW moments for
    /// the adapters only.
    public var lora: LoRAOptions?

    public init() {}

    /// Episodes a step samples per prompt in `stage`: k, times m unless single-turn.
    public func episodesPerPrompt(_ stage: TrainingStage) -> Int {
        stage == .singleTurn ? samplesPerPrompt : samplesPerPrompt * secondAttemptsPerFirst
    }

    /// The most episodes per prompt any step of the plan samples.
    public var largestEpisodesPerPrompt: Int {
        if case .singleTurn = plan { return samplesPerPrompt }
        return samplesPerPrompt * secondAttemptsPerFirst
    }

    enum CodingKeys: String, CodingKey {
        case promptsPerStep, samplesPerPrompt, secondAttemptsPerFirst, attempts, temperature, firstAttemptTemperature, maxNewTokens
        case adamW, gradientClipNorm, objective, plan, seed, microBatch, memoryBudget, lora
    }
    /// Keys only states of earlier versions wrote.
    enum EarlierKeys: String, CodingKey { case learningRate }

    /// Decodes, taking the default for every missing key (states saved before a key existed).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SCoReOptions()
        promptsPerStep = try c.decodeIfPresent(Int.self, forKey: .promptsPerStep) ?? d.promptsPerStep
        samplesPerPrompt = try c.decodeIfPresent(Int.self, forKey: .samplesPerPrompt) ?? d.samplesPerPrompt
        secondAttemptsPerFirst = try c.decodeIfPresent(Int.self, forKey: .secondAttemptsPerFirst)
            ?? d.secondAttemptsPerFirst
        attempts = try c.decodeIfPresent(Int.self, forKey: .attempts) ?? d.attempts
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? d.temperature
        firstAttemptTemperature = try c.decodeIfPresent(Float.self, forKey: .firstAttemptTemperature)
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? d.maxNewTokens
        adamW = try c.decodeIfPresent(AdamWOptions.self, forKey: .adamW) ?? d.adamW
        // States of earlier versions kept the learning rate beside adamW; it is the one that applied.
        let earlier = try decoder.container(keyedBy: EarlierKeys.self)
        if let rate = try earlier.decodeIfPresent(Float.self, forKey: .learningRate) { learningRate = rate }
        gradientClipNorm = try c.decodeIfPresent(Float.self, forKey: .gradientClipNorm) ?? d.gradientClipNorm
        objective = try c.decodeIfPresent(ObjectiveOptions.self, forKey: .objective) ?? d.objective
        plan = try c.decodeIfPresent(StagePlan.self, forKey: .plan) ?? d.plan
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        microBatch = try c.decodeIfPresent(Int.self, forKey: .microBatch)
        memoryBudget = try c.decodeIfPresent(Int.self, forKey: .memoryBudget) ?? d.memoryBudget
        lora = try c.decodeIfPresent(LoRAOptions.self, forKey: .lora)
    }

    /// Throws `ScoreError.invalidArgument` naming the first bad setting.
    public func validate() throws {
        guard (1...(1 << 20)).contains(promptsPerStep), (1...(1 << 16)).contains(samplesPerPrompt),
              (1...(1 << 10)).contains(secondAttemptsPerFirst) else {
            throw ScoreError.invalidArgument(
                "SCoRe: promptsPerStep (1...\(1 << 20)), samplesPerPrompt (1...\(1 << 16)) and secondAttemptsPerFirst "
                + "(1...\(1 << 10)) are out of range (got \(promptsPerStep), \(samplesPerPrompt), \(secondAttemptsPerFirst))")
        }
        guard (2...Transformer.maximumAttempts).contains(attempts) else {
            throw ScoreError.invalidArgument(
                "SCoRe: attempts must be in 2...\(Transformer.maximumAttempts) (got \(attempts))")
        }
        guard attempts == 2 || secondAttemptsPerFirst == 1 else {
            throw ScoreError.invalidArgument(
                "SCoRe: several second attempts per first (\(secondAttemptsPerFirst)) need attempts = 2 (got \(attempts))")
        }
        guard maxNewTokens <= 1 << 24 else {
            throw ScoreError.invalidArgument("SCoRe: maxNewTokens must be at most \(1 << 24) (got \(maxNewTokens))")
        }
        guard temperature.isFinite, temperature >= 0, maxNewTokens >= 1,
              (firstAttemptTemperature.map { $0.isFinite && $0 >= 0 } ?? true) else {
            throw ScoreError.invalidArgument("SCoRe: temperature must be finite and >= 0, maxNewTokens >= 1")
        }
        guard learningRate.isFinite, learningRate > 0, gradientClipNorm.isFinite, gradientClipNorm >= 0 else {
            throw ScoreError.invalidArgument("SCoRe: learning rate must be positive and the clip norm >= 0")
        }
        if let microBatch, microBatch < 1 {
            throw ScoreError.invalidArgument(
                "SCoRe: microBatch must be at least 1, or nil to choose it from the memory budget (got \(microBatch))")
        }
        guard memoryBudget >= 1 else {
            throw ScoreError.invalidArgument("SCoRe: memoryBudget must be positive (got \(memoryBudget) bytes)")
        }
        try adamW.validate()
        try objective.validate()
        try plan.validate()
    }
}
