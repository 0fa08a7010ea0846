import Foundation

/// What one SCoRe step did: the paper's self-correction metrics on its own rollouts, the
/// objective's terms and the optimizer's state. Encodes as one JSON line of the metrics log.
public struct SCoReStepStats: Codable, Sendable {
    /// 1-based step number.
    public var step: Int
    public var stage: TrainingStage
    /// Acc@t1, Acc@t2, Δ, Δi→c, Δc→i, edit distance, reward statistics... of this step's rollouts
    /// (in single-turn steps there is no second attempt and turn-2 figures repeat turn 1; with more
    /// than two attempts, "turn 2" is the last attempt).
    public var metrics: SelfCorrectionMetrics
    public var loss: Float
    /// Summed KL per episode for turn 1 and for the turns after it (k1/k3 estimator as configured),
    /// averaged over episodes.
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

/// The parts of a training step (and of an evaluation) reported to `SCoReTrainer.progress`.
public enum TrainingPhase: Int, Sendable {
    /// Both attempts were sampled.
    case rollout
    /// They were scored by the verifier.
    case verify
    /// The gradients were computed.
    case backward
    /// Evaluation finished a batch of problems.
    case evaluate
}

/// SCoRe training: on-policy two-attempt rollouts, verifier rewards, REINFORCE with a per-token
/// KL to a frozen reference (a copy of the initial weights), Stage I / Stage II objectives as the
/// plan says, clipping and AdamW. The policy trained is the one sampled: softmax(logits / T) at the
/// training temperature T (`SCoReOptions.policyTemperature`), for the reference too. A failing
/// verifier or a non-finite value stops the step before any weight changes; the trainer stays usable.
///
/// A step is two halves a host can run separately: `computeGradients(on:)` leaves the step's
/// gradients in `policy.gradients`, `applyGradients()` clips them and updates the weights. Between
/// the two, replicas trained in several processes can average their gradient buffers.
public final class SCoReTrainer {
    public let policy: Transformer
    /// The frozen reference policy π_ref: a copy of the initial weights, or, with LoRA, the policy
    /// itself (evaluated with its adapters off).
    public let reference: Transformer
    public let optimizer: AdamW
    public let options: SCoReOptions
    public let format: SelfCorrectionFormat
    public let verifier: any Verifier
    /// Training problems `step()` draws `promptsPerStep` of; may be empty when every step is
    /// given its problems (`step(on:)`).
    public let problems: [SelfCorrectionProblem]
    /// Steps completed.
    public internal(set) var completedSteps = 0
    /// The generator of prompt choice and sampling (saved with the trainer state).
    public internal(set) var generator: RandomGenerator
    /// Called after each phase of a step with (phase, done, total); a thrown error stops the step
    /// (nothing is updated) and reaches the caller.
    public var progress: ((TrainingPhase, Int, Int) throws -> Void)?

    /// A step whose gradients are computed and not yet applied.
    private struct Pending {
        var stats: SCoReStepStats
        var generator: RandomGenerator
        var start: UInt64
        /// Tokens of all episodes, prompts included.
        var tokens: Int
    }
    private var pending: Pending?
    /// The adapters this trainer's optimizer updates (nil: every weight).
    let trainedAdapters: LoRAAdapters?
    /// Memory a step may use (the machine's; tests lower it).
    var availableMemory = MemoryEstimate.availableBytes

    /// A trainer whose reference policy is a copy of `policy` as it is now.
    public init(policy: Transformer, problems: [SelfCorrectionProblem] = [], format: SelfCorrectionFormat,
                verifier: any Verifier, options: SCoReOptions) throws {
        try options.validate()
        if let lora = options.lora {
            try lora.validate(for: policy.config)
            if let attached = policy.adapters, attached.options != lora {
                throw ScoreError.invalidArgument(
                    "LoRA: the policy already carries adapters of rank \(attached.options.rank) on "
                    + "\(attached.options.targets.map(\.rawValue)); train those (same options) or merge them first")
            }
        } else if policy.adapters != nil {
            throw ScoreError.invalidArgument(
                "the policy carries LoRA adapters: set the LoRA options to train them, or merge them into the weights first")
        }
        let state = Self.stateBytes(parameters: policy.parameterCount, lora: options.lora, config: policy.config)
        guard state <= MemoryEstimate.availableBytes else {
            throw ScoreError.invalidArgument(
                "training all \(policy.parameterCount) parameters needs \(MemoryEstimate.describe(state)) for weights, "
                + "gradients, AdamW moments and the reference, more than the \(MemoryEstimate.describe(MemoryEstimate.availableBytes)) "
                + "this machine has; train LoRA adapters instead (lora_rank, --lora-rank)")
        }
        self.policy = policy
        if let lora = options.lora {
            if policy.adapters == nil {
                try policy.attach(LoRAAdapters(config: policy.config, options: lora, seed: options.seed ^ Self.adapterSeed))
            }
            policy.adaptersEnabled = true
            reference = policy
        } else {
            reference = policy.copy()
        }
        trainedAdapters = policy.adapters
        optimizer = try AdamW(model: policy, options: options.adamW)
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

    /// Restarts prompt choice and sampling from `seed`, keeping everything else (a data-parallel
    /// rank gives each replica its own stream, also after all ranks resumed one saved state).
    /// Discards pending gradients.
    public func reseedSampling(_ seed: UInt64) {
        pending = nil
        generator = RandomGenerator(seed: seed)
    }

    /// Whether gradients are computed and waiting for `applyGradients()`.
    public var hasPendingGradients: Bool { pending != nil }

    /// One step of the plan on `promptsPerStep` problems drawn from `problems`.
    public func step() throws -> SCoReStepStats {
        guard !problems.isEmpty else {
            throw ScoreError.invalidArgument("SCoRe step: the trainer has no training problems; pass them to step(on:)")
        }
        var draw = generator
        let chosen = (0..<options.promptsPerStep).map { _ in problems[draw.nextIndex(below: problems.count)] }
        return try wholeStep(on: chosen, generator: draw)
    }

    /// One step of the plan on the given problems (`samplesPerPrompt` episodes each).
    public func step(on chosen: [SelfCorrectionProblem]) throws -> SCoReStepStats {
        try wholeStep(on: chosen, generator: generator)
    }

    /// Both halves of a step; a failure in the second discards the computed gradients, so a
    /// failed step leaves nothing pending.
    private func wholeStep(on chosen: [SelfCorrectionProblem], generator start: RandomGenerator) throws -> SCoReStepStats {
        try computeGradients(on: chosen, generator: start)
        do {
            return try applyPending()
        } catch {
            pending = nil
            throw error
        }
    }

    /// The first half of a step: rollouts, rewards and the objective's gradients, left in
    /// `policy.gradients`; the weights are not touched. Returns the step's statistics without the
    /// gradient norm (known once applied). Computing again before applying discards the pending
    /// gradients.
    @discardableResult
    public func computeGradients(on chosen: [SelfCorrectionProblem]) throws -> SCoReStepStats {
        try computeGradients(on: chosen, generator: generator)
        guard let pending else { throw ScoreError.invalidArgument("SCoRe: no gradients were computed") }
        return pending.stats
    }

    /// The second half of a step: clips `policy.gradients` as they are now, applies AdamW and
    /// counts the step. Returns the norm before clipping. Throws `ScoreError.invalidArgument` when
    /// no gradients are pending and `ScoreError.nonFinite` (nothing applied, still pending) when
    /// the gradients hold a NaN or infinity.
    @discardableResult
    public func applyGradients() throws -> Float {
        try applyPending().gradNorm
    }

    /// The most episodes (prompts × episodes per prompt) one step may sample.
    public static let maximumEpisodesPerStep = 1 << 16

    /// Throws `invalidArgument` unless `prompts` prompts fit in one step of the next stage.
    public func checkEpisodeCount(prompts: Int) throws {
        let perPrompt = options.episodesPerPrompt(nextStage)
        guard prompts >= 1 else { throw ScoreError.invalidArgument("SCoRe step: no problems given") }
        guard prompts <= Self.maximumEpisodesPerStep / perPrompt else {
            throw ScoreError.invalidArgument(
                "\(prompts) prompts × \(perPrompt) episodes each is more than \(Self.maximumEpisodesPerStep) episodes per step")
        }
    }

    private func computeGradients(on chosen: [SelfCorrectionProblem], generator start: RandomGenerator) throws {
        pending = nil
        try checkAdapters()
        try checkEpisodeCount(prompts: chosen.count)
        let startTime = DispatchTime.now().uptimeNanoseconds
        let stage = nextStage
        var draw = start
        let prompts = chosen.map { format.promptTokens($0.prompt) }
        try checkMemory(longestPrompt: prompts.map(\.count).max() ?? 0)
        let episodes = try sampleEpisodes(prompts: prompts, stage: stage, generator: &draw)
        let rolloutEnd = DispatchTime.now().uptimeNanoseconds
        let scores = try format.score(episodes, problems: chosen, verifier: verifier)
        try progress?(.verify, episodes.count, episodes.count)
        var credit = try EpisodeCredit(
            rewards: stage == .singleTurn ? [scores.rewards1, scores.rewards1.map { _ in 0 }] : scores.byTurn,
            groups: episodes.map(\.group), firstAttempts: episodes.map(\.firstAttempt), stage: stage,
            options: options.objective)
        if stage != .singleTurn, options.tempersFirstAttempts { credit = credit.withoutTurn1PolicyGradient() }

        // Micro-batches: each is forwarded by the reference (into the policy's activation buffers),
        // then by the policy, and back-propagated; their gradients add up to the whole batch's.
        policy.zeroGradients()
        var sums = ObjectiveSums()
        var entropySum = 0.0, trainedCount = 0
        let size = preparePasses(longestEpisode: episodes.map(\.count).max() ?? 1)
        for first in stride(from: 0, to: episodes.count, by: size) {
            let part = first..<min(episodes.count, first + size)
            let batch = try SequenceBatch(sequences: episodes[part].map(\.segments), padID: format.padID,
                                          maxSeqLen: policy.config.maxSeqLen)
            let referenceLogProbs = try referenceLogProbs(batch)
            let policyLogProbs = try policy.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch,
                                                    seqLen: batch.seqLen, temperature: options.policyTemperature)
            let trained = batch.targets.map { $0 >= 0 }
            entropySum += try policy.lastEntropies(mask: trained).reduce(0.0) { $0 + Double($1) }
            trainedCount += trained.filter { $0 }.count
            let spans = (0..<batch.batch).map { ($0 * batch.seqLen)..<(($0 + 1) * batch.seqLen) }
            let dLogProbs = try sums.add(
                policy: policyLogProbs, reference: referenceLogProbs,
                turns: try SCoReObjective.turnLabels(targetSegments: batch.targetSegments), spans: spans,
                episodes: part, credit: credit)
            try policy.backward(dLogProbs: dLogProbs)
            try progress?(.backward, part.upperBound, episodes.count)
        }
        let objective = try sums.result(dLogProbs: [], credit: credit)

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - startTime) / 1e9
        let tokens = episodes.reduce(0) { $0 + $1.count }
        let stats = SCoReStepStats(
            step: completedSteps + 1, stage: stage, metrics: SelfCorrectionMetrics(pairs: scores.pairs),
            loss: objective.loss, klTurn1: objective.klTurn1, klTurn2: objective.klTurn2,
            meanAdvantageTurn1: objective.meanAdvantageTurn1, meanAdvantageTurn2: objective.meanAdvantageTurn2,
            entropy: Float(entropySum / Double(max(1, trainedCount))), gradNorm: 0,
            learningRate: options.learningRate, seconds: seconds,
            rolloutSeconds: Double(rolloutEnd - startTime) / 1e9,
            tokensPerSecond: Double(tokens) / max(seconds, 1e-9))
        pending = Pending(stats: stats, generator: draw, start: startTime, tokens: tokens)
    }

    /// Every attempt of `samplesPerPrompt` first attempts per prompt (each continued
    /// `secondAttemptsPerFirst` times; `attempts` per episode), sampled a chunk of prompts at a time so that one chunk's KV
    /// cache stays within the memory budget; episode groups index `prompts`, first attempts are
    /// numbered across the batch.
    private func sampleEpisodes(prompts: [[Int]], stage: TrainingStage,
                                generator: inout RandomGenerator) throws -> [Episode] {
        let k = options.samplesPerPrompt, perPrompt = options.episodesPerPrompt(stage)
        let sampling = format.attemptSampling(temperature: options.temperature, maxNewTokens: options.maxNewTokens)
        let first = format.attemptSampling(temperature: options.firstAttemptTemperature ?? options.temperature,
                                           maxNewTokens: options.maxNewTokens)
        let chunk = rolloutPrompts(longestPrompt: prompts.map(\.count).max() ?? 1)
        var episodes = [Episode]()
        episodes.reserveCapacity(prompts.count * perPrompt)
        for start in stride(from: 0, to: prompts.count, by: chunk) {
            let end = min(prompts.count, start + chunk)
            var part = try policy.rollout(
                prompts: Array(prompts[start..<end]), samplesPerPrompt: k, secondAttempts: options.secondAttemptsPerFirst,
                attempts: options.attempts, format: format, turn1: stage == .singleTurn ? sampling : first, turn2: stage == .singleTurn ? nil : sampling,
                generator: &generator)
            for i in part.indices {
                part[i].group += start
                part[i].firstAttempt += start * k
            }
            episodes += part
            try progress?(.rollout, episodes.count, prompts.count * perPrompt)
        }
        return episodes
    }

    /// Clips, updates and counts the pending step; its statistics with the gradient norm and the
    /// whole step's time.
    private func applyPending() throws -> SCoReStepStats {
        guard var done = pending else {
            throw ScoreError.invalidArgument("SCoRe: no computed gradients to apply (compute them first)")
        }
        let clipNorm = options.gradientClipNorm > 0 ? options.gradientClipNorm : .infinity
        done.stats.gradNorm = try GradientClipping.clip(policy, maxNorm: clipNorm)
        try optimizer.step(learningRate: options.learningRate)
        pending = nil
        generator = done.generator
        completedSteps += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - done.start) / 1e9
        done.stats.seconds = seconds
        done.stats.tokensPerSecond = Double(done.tokens) / max(seconds, 1e-9)
        return done.stats
    }

    /// Forgets computed gradients that were not applied.
    public func discardPendingGradients() { pending = nil }

    /// Makes the reference policy a copy of the policy as it is now and resets the optimizer's
    /// moments and step (RL after a supervised warm-up). With LoRA the adapters are merged into the
    /// base (the new reference) and start again from B = 0. Pending gradients are dropped.
    public func resetReference() {
        if let adapters = policy.adapters {
            policy.addAdapterUpdatesToBase()
            adapters.initialize(seed: options.seed ^ Self.adapterSeed &+ UInt64(completedSteps))
        } else {
            reference.parameters.copy(from: policy.parameters)
        }
        optimizer.reset()
        pending = nil
    }

    /// Throws when the policy's adapters are no longer those this trainer's optimizer updates
    /// (merged, replaced or detached since the trainer was made).
    func checkAdapters() throws {
        guard policy.adapters === trainedAdapters else {
            throw ScoreError.invalidArgument(
                "the policy's LoRA adapters were merged, replaced or removed after this trainer was made; make a new trainer")
        }
    }

    /// Mixed into the seed of the adapters' initial A matrices.
    static let adapterSeed: UInt64 = 0x4C6F_5241

    /// log π_ref of a block's targets (at the policy's temperature): the reference copy, or the
    /// policy with its adapters off, computed in the policy's activation buffers (the policy's
    /// forward comes next and reuses them).
    func referenceLogProbs(_ batch: SequenceBatch) throws -> [Float] {
        let temperature = options.policyTemperature
        if reference === policy {
            policy.adaptersEnabled = false
            defer { policy.adaptersEnabled = true }
            return try policy.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch, seqLen: batch.seqLen,
                                      temperature: temperature)
        }
        reference.shareActivations(with: policy)
        return try reference.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch, seqLen: batch.seqLen,
                                     temperature: temperature)
    }
}
