import Foundation

/// One episode's per-position inputs to `SCoReObjective.assemble`: the log-probability of
/// each position's target token under the policy and the frozen reference, and which turn the
/// target belongs to (0 = untrained: prompt, instruction, padding; 1 = attempt 1; 2 = attempt 2).
/// Log-probs at untrained positions are ignored.
public struct EpisodeLogProbs: Sendable, Equatable {
    /// log π(target) per position.
    public var policy: [Float]
    /// log π_ref(target) per position.
    public var reference: [Float]
    /// Turn of each position's target: 0, 1 or 2.
    public var turns: [UInt8]

    /// An episode's arrays; all three must have the same length.
    public init(policy: [Float], reference: [Float], turns: [UInt8]) {
        self.policy = policy
        self.reference = reference
        self.turns = turns
    }
}

/// The gradient, loss and statistics of the SCoRe objective over one batch of episodes.
public struct ObjectiveResult: Sendable, Equatable {
    /// ∂Loss/∂log π per position, laid out like the inputs; 0 at untrained positions.
    public var dLogProbs: [Float]
    /// The surrogate loss (1/N)·Σ_episodes Σ_trained tokens [−A_turn·log π + β_turn·KL].
    public var loss: Float
    /// Σ of per-token KL over turn-1 tokens, averaged over episodes (measured in every stage).
    public var klTurn1: Float
    /// Σ of per-token KL over turn-2 tokens, averaged over episodes (measured in every stage).
    public var klTurn2: Float
    /// Number of turn-1 tokens in the batch.
    public var tokensTurn1: Int
    /// Number of turn-2 tokens in the batch.
    public var tokensTurn2: Int
    /// Mean over episodes of the turn-1 return.
    public var meanReturnTurn1: Float
    /// Mean over episodes of the turn-2 return (shaped in Stage II; 0 in single-turn RL).
    public var meanReturnTurn2: Float
    /// Mean over episodes of the turn-1 advantage.
    public var meanAdvantageTurn1: Float
    /// Mean over episodes of the turn-2 advantage.
    public var meanAdvantageTurn2: Float
    /// Turn-1 advantage of each episode.
    public var advantagesTurn1: [Float]
    /// Turn-2 advantage of each episode.
    public var advantagesTurn2: [Float]
}

/// The SCoRe policy-gradient objective (Kumar et al. 2024): REINFORCE with per-turn credit
/// (γ = 0: turn-1 tokens see the turn-1 return, turn-2 tokens the turn-2 return), a per-turn
/// baseline and a per-token KL penalty against the frozen reference policy.
///
/// The loss is the standard sequence-level REINFORCE form, summed over each episode's trained
/// tokens and averaged over episodes:
///
///     L = (1/N) Σ_e Σ_t [ −A_{e,turn(t)} · log π_t + β_{turn(t)} · KL_t ]
///     ∂L/∂log π_t = (−A_{e,turn(t)} + β_{turn(t)} · ∂KL_t/∂log π_t) / N
///
/// so longer attempts carry proportionally more gradient, as in the paper's token-sum form.
public enum SCoReObjective {
    /// Rewards at or above this count as correct for `RewardShaping.flip`.
    public static let correctThreshold: Float = 0.5

    /// The Stage II second-turn reward r̂2 for first- and second-attempt rewards r1, r2.
    public static func shapedSecondTurnReward(r1: Float, r2: Float, shaping: RewardShaping, alpha: Float) -> Float {
        switch shaping {
        case .progress:
            return r2 + alpha * (r2 - r1)
        case .flip:
            let flipped = r2 >= correctThreshold && r1 < correctThreshold
            return r2 + (flipped ? alpha : 0)
        case .none:
            return r2
        }
    }

    /// The return each turn's tokens are credited with: Stage I (0, r2); Stage II
    /// (r1, r̂2), or (r1, r̂2 + α·r1) = (r1, (1 + α)·r2) under progress shaping with
    /// `turn2StateBaseline`, minus `breakPenalty` when a right attempt 1 was broken; single-turn (r1, 0).
    public static func turnReturns(stage: TrainingStage, r1: Float, r2: Float,
                                   options: ObjectiveOptions) -> (turn1: Float, turn2: Float) {
        let returns = turnReturns(stage: stage, rewards: [r1, r2], options: options)
        return (returns[0], returns[1])
    }

    /// The returns of an episode of any number of attempts with rewards `rewards` (one per attempt),
    /// the two-attempt rule carried to more attempts: Stage I credits only the last attempt, with
    /// its reward (the attempts before it are only held near the reference, `klWeight`), or with
    /// `stageIHoldsFirstOnly` every attempt after the first with its own reward; Stage II
    /// credits attempt 1 with r1 and each later attempt t with its reward shaped by its progress over
    /// attempt t − 1 (`shapedSecondTurnReward(r1: r_{t−1}, r2: r_t)`, the same
    /// `turn2StateBaseline` and `breakPenalty` adjustments); single-turn credits attempt 1 alone.
    public static func turnReturns(stage: TrainingStage, rewards r: [Float], options: ObjectiveOptions) -> [Float] {
        switch stage {
        case .stageI:
            return r.indices.map { t in t == r.count - 1 || (options.stageIHoldsFirstOnly && t > 0) ? r[t] : 0 }
        case .stageII:
            return r.indices.map { t in
                guard t > 0 else { return r[0] }
                let shaped = shapedSecondTurnReward(r1: r[t - 1], r2: r[t], shaping: options.shaping, alpha: options.alpha)
                let earlierPart = options.turn2StateBaseline && options.shaping == .progress ? -options.alpha * r[t - 1] : 0
                let broken = r[t - 1] >= correctThreshold && r[t] < correctThreshold
                return shaped - earlierPart - (broken ? options.breakPenalty : 0)
            }
        case .singleTurn:
            return r.indices.map { $0 == 0 ? r[0] : 0 }
        }
    }

    /// The KL weight of each turn: Stage I (β2, β1); Stage II (β1, β1); single-turn (β1, 0).
    public static func klWeights(stage: TrainingStage, options: ObjectiveOptions) -> (turn1: Float, turn2: Float) {
        (klWeight(stage: stage, turn: 1, attempts: 2, options: options),
         klWeight(stage: stage, turn: 2, attempts: 2, options: options))
    }

    /// The KL weight of attempt `turn` (1-based) of `attempts`: in Stage I β2 for every attempt
    /// before the last (kept near the reference, as the paper keeps attempt 1; with
    /// `stageIHoldsFirstOnly` for attempt 1 alone) and β1 for the others; β1 for all in Stage II;
    /// single-turn β1 for attempt 1 and nothing after it.
    public static func klWeight(stage: TrainingStage, turn: Int, attempts: Int, options: ObjectiveOptions) -> Float {
        switch stage {
        case .stageI:
            let held = options.stageIHoldsFirstOnly ? turn == 1 : turn < attempts
            return held ? options.beta2 : options.beta1
        case .stageII: return options.beta1
        case .singleTurn: return turn == 1 ? options.beta1 : 0
        }
    }

    /// Whether a stage puts any gradient on turn-2 tokens (all but single-turn RL).
    public static func trainsSecondTurn(_ stage: TrainingStage) -> Bool { stage != .singleTurn }

    /// Advantages of `returns` (one per episode) under `baseline`; `groups[i]` is the prompt of
    /// episode i (any integers; equal means same prompt). Episodes with equal `samples[i]` are
    /// copies of one sample (one first attempt continued several times) and count once in a
    /// baseline, so a sample's own return never enters its baseline; nil: every episode is its own
    /// sample. `groups` (and `samples`) must match `returns` in length.
    public static func advantages(returns: [Float], groups: [Int], samples: [Int]? = nil,
                                  baseline: BaselineKind) -> [Float] {
        let samples = samples ?? Array(returns.indices)
        // Each distinct sample's return, once.
        var seen = Set<Int>()
        var distinct = [(group: Int, value: Double)]()
        for (i, sample) in samples.enumerated() where seen.insert(sample).inserted {
            distinct.append((groups[i], Double(returns[i])))
        }
        switch baseline {
        case .none:
            return returns
        case .batchMean:
            guard !distinct.isEmpty else { return [] }
            let mean = distinct.reduce(0.0) { $0 + $1.value } / Double(distinct.count)
            return returns.map { Float(Double($0) - mean) }
        case .leaveOneOut:
            var sums: [Int: Double] = [:], counts: [Int: Int] = [:]
            for (g, r) in distinct {
                sums[g, default: 0] += r
                counts[g, default: 0] += 1
            }
            return zip(returns, groups).map { r, g in
                let k = counts[g] ?? 1
                guard k > 1 else { return r }
                let others = ((sums[g] ?? 0) - Double(r)) / Double(k - 1)
                return Float(Double(r) - others)
            }
        }
    }

    /// Per-token KL estimate from the policy and reference log-probs of the sampled token.
    public static func kl(logProb: Float, referenceLogProb: Float, estimator: KLEstimator) -> Float {
        Float(klValue(Double(logProb) - Double(referenceLogProb), estimator))
    }

    /// ∂KL/∂log π of the per-token estimate (the reference is frozen); 0 for `k1InReward`, whose
    /// penalty reaches log π through the return.
    public static func klGradient(logProb: Float, referenceLogProb: Float, estimator: KLEstimator) -> Float {
        Float(klSlope(Double(logProb) - Double(referenceLogProb), estimator))
    }

    static func klValue(_ d: Double, _ estimator: KLEstimator) -> Double {
        switch estimator {
        case .k1, .k1InReward: return d
        case .k2: return d * d / 2
        case .k3: return expm1(-d) + d  // exp(−d) − 1 + d without cancellation near d = 0
        }
    }

    /// The token's own slope; `k1InReward` has none (its penalty is credited through the return,
    /// see `ObjectiveSums.add`).
    static func klSlope(_ d: Double, _ estimator: KLEstimator) -> Double {
        switch estimator {
        case .k1: return 1
        case .k2: return d
        case .k3: return -expm1(-d)  // 1 − exp(−d)
        case .k1InReward: return 0
        }
    }

    /// Turn labels for an exchange packed by `SequenceBatch` from `SelfCorrectionExchange`'s
    /// segments: each target position gets its segment's turn (1 or 2), no target (−1) gets 0.
    /// Throws for a target in a context segment or outside the exchange.
    public static func turnLabels(targetSegments: [Int]) throws -> [UInt8] {
        try targetSegments.enumerated().map { position, segment in
            if segment == -1 { return 0 }
            guard let turn = SelfCorrectionExchange.turn(ofSegment: segment) else {
                throw ScoreError.invalidArgument(
                    "position \(position) targets segment \(segment); an episode trains its attempts only")
            }
            return turn
        }
    }

    /// Assembles the objective over a [batch, seqLen] block: row e holds episode e, with
    /// rewards `rewards1[e]`, `rewards2[e]` and prompt `groups[e]`. Throws `invalidArgument` on
    /// mismatched sizes, labels outside 0...2 or invalid options, and `nonFinite` on a
    /// non-finite reward, a non-finite log-prob at a labelled position, or an overflowing result.
    public static func assemble(policy: [Float], reference: [Float], turns: [UInt8], seqLen: Int,
                                rewards1: [Float], rewards2: [Float], groups: [Int],
                                stage: TrainingStage, options: ObjectiveOptions) throws -> ObjectiveResult {
        guard seqLen >= 1 else { throw ScoreError.invalidArgument("sequence length must be positive (got \(seqLen))") }
        let expected = rewards1.count * seqLen
        guard policy.count == expected, reference.count == expected, turns.count == expected else {
            throw ScoreError.invalidArgument(
                "expected \(rewards1.count) × \(seqLen) = \(expected) positions, got \(policy.count) policy, "
                + "\(reference.count) reference and \(turns.count) turn entries")
        }
        let spans = (0..<rewards1.count).map { ($0 * seqLen)..<(($0 + 1) * seqLen) }
        return try assemble(policy: policy, reference: reference, turns: turns, spans: spans,
                            rewards1: rewards1, rewards2: rewards2, groups: groups, stage: stage, options: options)
    }

    /// Assembles the objective over per-episode arrays (of any lengths); `dLogProbs` is the
    /// episodes' positions concatenated in order. Throws as the block form does.
    public static func assemble(episodes: [EpisodeLogProbs], rewards1: [Float], rewards2: [Float], groups: [Int],
                                stage: TrainingStage, options: ObjectiveOptions) throws -> ObjectiveResult {
        var spans: [Range<Int>] = []
        var start = 0
        for (e, episode) in episodes.enumerated() {
            let count = episode.policy.count
            guard episode.reference.count == count, episode.turns.count == count else {
                throw ScoreError.invalidArgument(
                    "episode \(e) has \(count) policy, \(episode.reference.count) reference and "
                    + "\(episode.turns.count) turn entries")
            }
            spans.append(start..<(start + count))
            start += count
        }
        return try assemble(policy: episodes.flatMap(\.policy), reference: episodes.flatMap(\.reference),
                            turns: episodes.flatMap(\.turns), spans: spans, rewards1: rewards1,
                            rewards2: rewards2, groups: groups, stage: stage, options: options)
    }

    private static func assemble(policy: [Float], reference: [Float], turns: [UInt8], spans: [Range<Int>],
                                 rewards1: [Float], rewards2: [Float], groups: [Int],
                                 stage: TrainingStage, options: ObjectiveOptions) throws -> ObjectiveResult {
        try options.validate()
        let n = spans.count
        guard n >= 1 else { throw ScoreError.invalidArgument("the objective needs at least one episode") }
        guard rewards1.count == n, rewards2.count == n, groups.count == n else {
            throw ScoreError.invalidArgument(
                "\(n) episodes need as many rewards and groups (got \(rewards1.count) turn-1 rewards, "
                + "\(rewards2.count) turn-2 rewards, \(groups.count) groups)")
        }
        let credit = try EpisodeCredit(rewards1: rewards1, rewards2: rewards2, groups: groups, stage: stage,
                                       options: options)
        var sums = ObjectiveSums()
        let dLogProbs = try sums.add(policy: policy, reference: reference, turns: turns, spans: spans,
                                     episodes: 0..<spans.count, credit: credit)
        return try sums.result(dLogProbs: dLogProbs, credit: credit)
    }
}
