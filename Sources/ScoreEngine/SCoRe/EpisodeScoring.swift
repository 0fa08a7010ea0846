/// Verifier rewards for a batch of episodes, and the attempt pairs the metrics are computed from.
public struct EpisodeScores: Sendable {
    /// r(y1) per episode.
    public var rewards1: [Float]
    /// r(y2) per episode (r(y1) again for single-attempt episodes).
    public var rewards2: [Float]
    /// One pair per episode, correct meaning reward ≥ `SCoReObjective.correctThreshold`.
    public var pairs: [AttemptPair]
}

extension SelfCorrectionFormat {
    /// Scores both attempts of every episode with one batched verifier call. `problems[e.group]`
    /// is the problem of episode e. Verifier failures and non-finite rewards throw.
    public func score(_ episodes: [Episode], problems: [SelfCorrectionProblem], verifier: any Verifier) throws
        -> EpisodeScores
    {
        var items = [VerifierItem]()
        items.reserveCapacity(episodes.count * 2)
        var firstTexts = [String]()
        for episode in episodes {
            guard problems.indices.contains(episode.group) else {
                throw ScoreError.invalidArgument("episode group \(episode.group) has no problem")
            }
            let problem = problems[episode.group]
            let first = try text(of: episode.attempt1.tokens)
            firstTexts.append(first)
            items.append(VerifierItem(prompt: problem.prompt, response: first, reference: problem.reference, turn: 1))
        }
        for (e, episode) in episodes.enumerated() {
            guard let attempt2 = episode.attempt2 else { continue }
            let problem = problems[episode.group]
            items.append(VerifierItem(prompt: problem.prompt, response: try text(of: attempt2.tokens),
                                      reference: problem.reference, turn: 2, firstAttempt: firstTexts[e]))
        }
        let rewards = try verifier.checkedScores(items)
        let rewards1 = Array(rewards.prefix(episodes.count))
        var rewards2 = rewards1
        var next = episodes.count
        for (e, episode) in episodes.enumerated() where episode.attempt2 != nil {
            rewards2[e] = rewards[next]
            next += 1
        }
        let threshold = SCoReObjective.correctThreshold
        let pairs = episodes.enumerated().map { e, episode in
            let second = episode.attempt2 ?? episode.attempt1
            return AttemptPair(reward1: rewards1[e], reward2: rewards2[e], correct1: rewards1[e] >= threshold,
                               correct2: rewards2[e] >= threshold, tokens1: episode.attempt1.tokens,
                               tokens2: second.tokens, group: episode.group,
                               truncated1: episode.attempt1.finishReason.isTruncation,
                               truncated2: second.finishReason.isTruncation)
        }
        return EpisodeScores(rewards1: rewards1, rewards2: rewards2, pairs: pairs)
    }
}

extension FinishReason {
    /// Whether generation was cut off by a length limit rather than ended by the model.
    public var isTruncation: Bool { self == .maxTokens || self == .maxLength }
}
