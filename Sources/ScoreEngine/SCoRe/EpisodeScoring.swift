/// Verifier rewards for a batch of episodes, and the attempt pairs the metrics are computed from.
public struct EpisodeScores: Sendable {
    /// Rewards per attempt: `byTurn[k][e]` is r(y_{k+1}) of episode e; one row for single-attempt
    /// episodes, two for two-attempt ones, N for N attempts.
    public var byTurn: [[Float]]
    /// r(y1) per episode.
    public var rewards1: [Float] { byTurn[0] }
    /// r(y2) per episode (r(y1) again for single-attempt episodes).
    public var rewards2: [Float] { byTurn.count > 1 ? byTurn[1] : byTurn[0] }
    /// One pair per episode, attempt 1 against the episode's last attempt, correct meaning reward ≥
    /// `SCoReObjective.correctThreshold`.
    public var pairs: [AttemptPair]
}

extension SelfCorrectionFormat {
    /// Scores every attempt of every episode with one batched verifier call: all first attempts,
    /// then all second attempts, and so on (attempt k is handed over as turn k, with attempt 1 as
    /// `firstAttempt` from turn 2 on). `problems[e.group]` is the problem of episode e; the episodes
    /// must all have the same number of attempts. Verifier failures and non-finite rewards throw.
    public func score(_ episodes: [Episode], problems: [SelfCorrectionProblem], verifier: any Verifier) throws
        -> EpisodeScores
    {
        let attempts = episodes.map(\.attempts)
        let turns = attempts.first?.count ?? 1
        guard attempts.allSatisfy({ $0.count == turns }) else {
            throw ScoreError.invalidArgument("the episodes of one batch must have the same number of attempts")
        }
        for episode in episodes where !problems.indices.contains(episode.group) {
            throw ScoreError.invalidArgument("episode group \(episode.group) has no problem")
        }
        let texts = try attempts.map { try $0.map { try text(of: $0.tokens) } }
        var items = [VerifierItem]()
        items.reserveCapacity(episodes.count * turns)
        for turn in 0..<turns {
            for (e, episode) in episodes.enumerated() {
                let problem = problems[episode.group]
                items.append(VerifierItem(prompt: problem.prompt, response: texts[e][turn], reference: problem.reference,
                                          turn: turn + 1, firstAttempt: turn == 0 ? nil : texts[e][0]))
            }
        }
        let rewards = try verifier.checkedScores(items)
        let byTurn = (0..<turns).map { Array(rewards[($0 * episodes.count)..<(($0 + 1) * episodes.count)]) }
        let threshold = SCoReObjective.correctThreshold
        let pairs = episodes.enumerated().map { e, episode in
            let first = attempts[e][0], last = attempts[e][turns - 1]
            let r1 = byTurn[0][e], r2 = byTurn[turns - 1][e]
            return AttemptPair(reward1: r1, reward2: r2, correct1: r1 >= threshold, correct2: r2 >= threshold,
                               tokens1: first.tokens, tokens2: last.tokens, group: episode.group,
                               truncated1: first.finishReason.isTruncation, truncated2: last.finishReason.isTruncation)
        }
        return EpisodeScores(byTurn: byTurn, pairs: pairs)
    }
}

extension FinishReason {
    /// Whether generation was cut off by a length limit rather than ended by the model.
    public var isTruncation: Bool { self == .maxTokens || self == .maxLength }
}
