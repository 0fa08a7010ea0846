import Foundation

/// What one SCoRe step did: the paper's self-correction metrics on its own rollouts, the
/// objective's terms and the optimizer's state. Encodes as one JSON line of the metrics log.
public struct SCoReStepStats: Codable, Sendable {
    /// 1-based step number.
    public var step: Int
    public var stage: TrainingStage
    /// Acc@t1, Acc@t2, Δ, Δi→c, Δc→i, edit distance, reward statistics... of this step's rollouts
    /// (in single-turn steps there is no second attempt and turn-2 figures repeat turn 1).
    public var metrics: SelfCorrectionMetrics
    public var loss: Float
    /// Summed KL per episode for each turn (k1/k3 estimator as configured), averaged over episodes.
    public var klTurn1: Float
    public var klTurn2: Float
    public var meanAdvantageTurn1: Float
    public var meanAdvantageTurn2: Float
    /// Mean entropy (nats) of the policy's next-token distribution over attempt tokens.
    public var entropy: Float
    /// Gradient norm before clipping.
    public var gradNorm: Float
    public var learningRate: Float
    /// Wall time of the whole step and of its rollouts.
    public var seconds: Double
    public var rolloutSeconds: Double
    /// Tokens of all episodes (prompts included) over the step's wall time.
    public var tokensPerSecond: Double
}

/// SCoRe training: on-policy two-attempt rollouts, verifier rewards, REINFORCE with a per-token
/// KL to a frozen reference (a copy of the initial weights), Stage I / Stage II objectives as the
/// plan says, clipping and AdamW. A failing verifier or a non-finite value stops the step before
/// any weight changes; the trainer stays usable.
public final class SCoReTrainer {
    public let policy: Transformer
    /// The frozen reference policy π_ref.
    public let reference: Transformer
    public let optimizer: AdamW
    public let options: SCoReOptions
    public let format: SelfCorrectionFormat
    public let verifier: any Verifier
    /// Training problems; each step draws `promptsPerStep` of them.
    public let problems: [SelfCorrectionProblem]
    /// Steps completed.
    public internal(set) var completedSteps = 0
    /// The generator of prompt choice and sampling (saved with the trainer state).
    public internal(set) var generator: RandomGenerator

    /// A trainer whose reference policy is a copy of `policy` as it is now.
    public init(policy: Transformer, problems: [SelfCorrectionProblem], format: SelfCorrectionFormat,
                verifier: any Verifier, options: SCoReOptions) throws {
        try options.validate()
        guard !problems.isEmpty else { throw ScoreError.invalidArgument("SCoRe needs at least one training problem") }
        var adam = options.adamW
        adam.learningRate = options.learningRate
        self.policy = policy
        reference = policy.copy()
        optimizer = try AdamW(model: policy, options: adam)
        self.options = options
        self.format = format
        self.verifier = verifier
        self.problems = problems
        generator = RandomGenerator(seed: options.seed)
    }

    /// The stage the next step runs.
    public var nextStage: TrainingStage { options.plan.stage(at: completedSteps) }

    /// Whether the plan is complete.
    public var isFinished: Bool { completedSteps >= options.plan.totalSteps }

    /// One step of the plan.
    public func step() throws -> SCoReStepStats {
        let start = DispatchTime.now().uptimeNanoseconds
        let stage = nextStage
        var draw = generator
        let chosen = (0..<options.promptsPerStep).map { _ in problems[draw.nextIndex(below: problems.count)] }
        let sampling = format.attemptSampling(temperature: options.temperature, maxNewTokens: options.maxNewTokens)
        let first = format.attemptSampling(temperature: options.firstAttemptTemperature ?? options.temperature,
                                           maxNewTokens: options.maxNewTokens)
        let episodes = try policy.rollout(
            prompts: chosen.map { format.promptTokens($0.prompt) }, samplesPerPrompt: options.samplesPerPrompt,
            format: format, turn1: first, turn2: stage == .singleTurn ? nil : sampling, generator: &draw)
        let rolloutEnd = DispatchTime.now().uptimeNanoseconds
        let scores = try format.score(episodes, problems: chosen, verifier: verifier)

        let batch = try SequenceBatch(sequences: episodes.map(\.segments), padID: format.padID,
                                      maxSeqLen: policy.config.maxSeqLen)
        let policyLogProbs = try policy.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch,
                                                seqLen: batch.seqLen)
        let trained = batch.targets.map { $0 >= 0 }
        let entropies = try policy.lastEntropies(mask: trained)
        let trainedCount = max(1, trained.filter { $0 }.count)
        let entropy = entropies.reduce(0, +) / Float(trainedCount)
        let referenceLogProbs = try reference.forward(tokens: batch.tokens, targets: batch.targets,
                                                      batch: batch.batch, seqLen: batch.seqLen)
        let objective = try SCoReObjective.assemble(
            policy: policyLogProbs, reference: referenceLogProbs,
            turns: try SCoReObjective.turnLabels(targetSegments: batch.targetSegments), seqLen: batch.seqLen,
            rewards1: scores.rewards1, rewards2: stage == .singleTurn ? scores.rewards1.map { _ in 0 } : scores.rewards2,
            groups: episodes.map(\.group), stage: stage, options: options.objective)
        policy.zeroGradients()
        try policy.backward(dLogProbs: objective.dLogProbs)
        let clipNorm = options.gradientClipNorm > 0 ? options.gradientClipNorm : .infinity
        let gradNorm = try GradientClipping.clip(policy, maxNorm: clipNorm)
        try optimizer.step(learningRate: options.learningRate)

        generator = draw
        completedSteps += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return SCoReStepStats(
            step: completedSteps, stage: stage, metrics: SelfCorrectionMetrics(pairs: scores.pairs),
            loss: objective.loss, klTurn1: objective.klTurn1, klTurn2: objective.klTurn2,
            meanAdvantageTurn1: objective.meanAdvantageTurn1, meanAdvantageTurn2: objective.meanAdvantageTurn2,
            entropy: entropy,
            gradNorm: gradNorm, learningRate: options.learningRate, seconds: seconds,
            rolloutSeconds: Double(rolloutEnd - start) / 1e9,
            tokensPerSecond: Double(episodes.reduce(0) { $0 + $1.count }) / max(seconds, 1e-9))
    }
}
