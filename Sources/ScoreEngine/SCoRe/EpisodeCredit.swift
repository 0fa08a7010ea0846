/// What the SCoRe objective credits each episode of a batch with: per-turn returns and their
/// advantages under the baseline. It depends on rewards alone, so it is computed once per step
/// and then applied to the episodes' log-probs micro-batch by micro-batch (`ObjectiveSums`).
public struct EpisodeCredit: Sendable, Equatable {
    /// The return of each turn of each episode: `returns[k][e]` for attempt k + 1 of episode e.
    public var returns: [[Float]]
    /// The advantage of each turn of each episode, laid out like `returns`.
    public var advantages: [[Float]]
    /// The stage and options the credit was computed for.
    public var stage: TrainingStage
    public var options: ObjectiveOptions

    /// Number of episodes.
    public var count: Int { returns[0].count }
    /// Attempts per episode (turns).
    public var turns: Int { returns.count }

    /// The turn-1 and turn-2 return of each episode.
    public var returns1: [Float] { returns[0] }
    public var returns2: [Float] { returns[1] }
    /// The turn-1 and turn-2 advantage of each episode.
    public var advantages1: [Float] { advantages[0] }
    public var advantages2: [Float] { advantages[1] }

    /// The credit of two-attempt episodes with rewards `rewards1[e]`, `rewards2[e]`, prompt
    /// `groups[e]` and first attempt `firstAttempts[e]` (nil: each episode its own). When some first
    /// attempt is continued by several episodes, the baseline is per state: a turn-1 return counts
    /// once per first attempt among the prompt's first attempts, and a turn-2 return is compared with
    /// the other second attempts of the same first attempt (its state) only. Throws `invalidArgument`
    /// on mismatched sizes, a first attempt shared across prompts, or invalid options; `nonFinite` on
    /// a non-finite reward or an overflowing return.
    public init(rewards1: [Float], rewards2: [Float], groups: [Int], firstAttempts: [Int]? = nil,
                stage: TrainingStage, options: ObjectiveOptions) throws {
        try self.init(rewards: [rewards1, rewards2], groups: groups, firstAttempts: firstAttempts, stage: stage,
                      options: options)
    }

    /// The credit of episodes of `rewards.count` (≥ 2) attempts: `rewards[k][e]` is the reward of
    /// attempt k + 1 of episode e; returns by `SCoReObjective.turnReturns(stage:rewards:options:)`,
    /// each later turn's baseline as turn 2's above. Throws as the two-attempt form does.
    public init(rewards: [[Float]], groups: [Int], firstAttempts: [Int]? = nil,
                stage: TrainingStage, options: ObjectiveOptions) throws {
        try options.validate()
        guard rewards.count >= 2 else { throw ScoreError.invalidArgument("credit needs the rewards of at least two turns") }
        let n = rewards[0].count
        guard n >= 1 else { throw ScoreError.invalidArgument("the objective needs at least one episode") }
        guard rewards.allSatisfy({ $0.count == n }), groups.count == n, (firstAttempts?.count ?? n) == n else {
            throw ScoreError.invalidArgument(
                "\(n) episodes need as many rewards, groups and first attempts (got \(rewards.map(\.count)) rewards "
                + "per turn, \(groups.count) groups, \(firstAttempts?.count ?? n) first attempts)")
        }
        let states = firstAttempts ?? Array(0..<n)
        var promptOfState = [Int: Int]()
        for (state, group) in zip(states, groups) where promptOfState.updateValue(group, forKey: state) ?? group != group {
            throw ScoreError.invalidArgument("first attempt \(state) belongs to two prompts")
        }
        let continued = Set(states).count < n
        var returns = rewards.map { _ in [Float]() }
        for e in 0..<n {
            let episode = rewards.map { $0[e] }
            guard episode.allSatisfy(\.isFinite) else {
                throw ScoreError.nonFinite("rewards of episode \(e) are \(episode.map { "\($0)" }.joined(separator: ", "))")
            }
            let r = SCoReObjective.turnReturns(stage: stage, rewards: episode, options: options)
            guard r.allSatisfy(\.isFinite) else {
                throw ScoreError.nonFinite("returns of episode \(e) overflow: \(r.map { "\($0)" }.joined(separator: ", "))")
            }
            for t in r.indices { returns[t].append(r[t]) }
        }
        self.returns = returns
        advantages = returns.indices.map { t in
            t == 0
                ? SCoReObjective.advantages(returns: returns[0], groups: groups, samples: states, baseline: options.baseline)
                : SCoReObjective.advantages(returns: returns[t], groups: continued ? states : groups,
                                            baseline: options.baseline)
        }
        self.stage = stage
        self.options = options
    }

    /// The same credit with every turn-1 advantage zero: turn-1 tokens then carry only their KL
    /// term. For first attempts that were not sampled from the policy itself (another
    /// temperature), whose REINFORCE term would be biased.
    public func withoutTurn1PolicyGradient() -> EpisodeCredit {
        var credit = self
        credit.advantages[0] = advantages[0].map { _ in 0 }
        return credit
    }
}

/// The SCoRe objective accumulated over the micro-batches of one batch: each `add` gives the
/// log-prob gradients of its episodes (scaled by 1 / all episodes of the batch), so summing the
/// backward passes of the parts gives the gradient of the whole batch.
public struct ObjectiveSums: Sendable {
    var loss = 0.0, kl1 = 0.0, kl2 = 0.0
    var tokens1 = 0, tokens2 = 0

    public init() {}

    /// ∂L/∂log π for the positions of `episodes` (indices into `credit`), episode `episodes[i]`
    /// occupying `spans[i]` of `policy`, `reference` and `turns`; adds their loss and KL to the sums.
    /// Throws `invalidArgument` on labels outside 0...2 and `nonFinite` on a non-finite log-prob
    /// at a labelled position or an overflowing term.
    public mutating func add(policy: [Float], reference: [Float], turns: [UInt8], spans: [Range<Int>],
                             episodes: Range<Int>, credit: EpisodeCredit) throws -> [Float] {
        guard spans.count == episodes.count, episodes.lowerBound >= 0, episodes.upperBound <= credit.count else {
            throw ScoreError.invalidArgument("\(spans.count) spans for episodes \(episodes) of \(credit.count)")
        }
        guard policy.count == reference.count, policy.count == turns.count,
              spans.allSatisfy({ $0.lowerBound >= 0 && $0.upperBound <= policy.count }) else {
            throw ScoreError.invalidArgument(
                "\(policy.count) policy, \(reference.count) reference and \(turns.count) turn entries do not cover the spans")
        }
        let options = credit.options, turnCount = credit.turns
        // Index t holds turn t's weight (index 0 unused).
        let betas = [0.0] + (1...turnCount).map {
            Double(SCoReObjective.klWeight(stage: credit.stage, turn: $0, attempts: turnCount, options: options))
        }
        let trainTurn2 = SCoReObjective.trainsSecondTurn(credit.stage)
        let scale = 1 / Double(credit.count)
        var dLogProbs = [Float](repeating: 0, count: policy.count)
        var loss = 0.0
        let inReward = options.klEstimator == .k1InReward
        for (span, e) in zip(spans, episodes) {
            let advantages = [0.0] + credit.advantages.map { Double($0[e]) }
            // Backwards, so that each turn's KL penalty still to come is known (k1InReward).
            var penaltyToGo = [Double](repeating: 0, count: turnCount + 1)
            for i in span.reversed() {
                let turn = Int(turns[i])
                guard turn <= turnCount else {
                    throw ScoreError.invalidArgument("position \(i) has turn label \(turn), not 0...\(turnCount)")
                }
                if turn == 0 { continue }
                let logProb = policy[i], referenceLogProb = reference[i]
                guard logProb.isFinite, referenceLogProb.isFinite else {
                    throw ScoreError.nonFinite("log-probs at position \(i) are \(logProb) (policy), \(referenceLogProb) (reference)")
                }
                let d = Double(logProb) - Double(referenceLogProb)
                let value = SCoReObjective.klValue(d, options.klEstimator)
                let slope = SCoReObjective.klSlope(d, options.klEstimator)
                guard value.isFinite, slope.isFinite else {
                    throw ScoreError.nonFinite("KL at position \(i) overflows (log π − log π_ref = \(d))")
                }
                if turn == 1 { kl1 += value; tokens1 += 1 } else { kl2 += value; tokens2 += 1 }
                if turn >= 2 && !trainTurn2 { continue }
                let advantage = advantages[turn], beta = betas[turn]
                var credited = -advantage + beta * slope
                if inReward {
                    penaltyToGo[turn] += beta * d
                    credited += penaltyToGo[turn]
                }
                loss += -advantage * Double(logProb) + beta * value
                dLogProbs[i] = Float(credited * scale)
            }
        }
        guard loss.isFinite, dLogProbs.allSatisfy(\.isFinite) else {
            throw ScoreError.nonFinite("objective overflowed (loss \(loss * scale))")
        }
        self.loss += loss
        return dLogProbs
    }

    /// The objective's loss and statistics once every episode was added; `dLogProbs` is what the
    /// result carries as its gradient (the concatenated parts, or none when they were consumed).
    public func result(dLogProbs: [Float], credit: EpisodeCredit) throws -> ObjectiveResult {
        let scale = 1 / Double(credit.count)
        guard Float(loss * scale).isFinite else { throw ScoreError.nonFinite("objective overflowed (loss \(loss * scale))") }
        func mean(_ values: [Float]) -> Float { Float(values.reduce(0.0) { $0 + Double($1) } * scale) }
        return ObjectiveResult(
            dLogProbs: dLogProbs, loss: Float(loss * scale), klTurn1: Float(kl1 * scale), klTurn2: Float(kl2 * scale),
            tokensTurn1: tokens1, tokensTurn2: tokens2,
            meanReturnTurn1: mean(credit.returns1), meanReturnTurn2: mean(credit.returns2),
            meanAdvantageTurn1: mean(credit.advantages1), meanAdvantageTurn2: mean(credit.advantages2),
            advantagesTurn1: credit.advantages1, advantagesTurn2: credit.advantages2)
    }
}
