/// One two-attempt rollout: the prompt, attempt 1, the instruction tokens appended after it, and
/// attempt 2 — token ids exactly as sampled, never re-tokenized.
public struct Episode: Sendable {
    /// Index of the prompt in the batch; the k samples of one prompt share it.
    public var group: Int
    /// Index of attempt 1 in the batch: episodes that continue the same first attempt (several
    /// second attempts of it) share it; otherwise each episode has its own.
    public var firstAttempt: Int
    /// Context of attempt 1.
    public var prompt: [Int]
    /// Attempt 1 as sampled, with its per-token log-probs.
    public var attempt1: Generation
    /// Tokens appended between the attempts (instruction and turn markers); empty when there is no
    /// second attempt.
    public var instruction: [Int]
    /// Attempt 2, nil for single-attempt rollouts.
    public var attempt2: Generation?

    /// The sequence as segments for `SequenceBatch` (`SelfCorrectionExchange`), both attempts trained.
    public var segments: [SequenceBatch.Segment] {
        SelfCorrectionExchange.segments(prompt: prompt, attempt1: attempt1.tokens, instruction: instruction,
                                        attempt2: attempt2?.tokens, trained: .both)
    }

    /// Total tokens of the exchange.
    public var count: Int { prompt.count + attempt1.tokens.count + instruction.count + (attempt2?.tokens.count ?? 0) }
}
