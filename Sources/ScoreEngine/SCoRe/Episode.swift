/// One self-correction rollout: the prompt, attempt 1, the instruction tokens appended after it,
/// attempt 2, and (when training on more attempts) each later attempt after its own instruction —
/// token ids exactly as sampled, never re-tokenized.
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
    /// Attempts 3, 4, … with the instruction tokens before each; empty for two attempts.
    public var later: [FollowUp] = []

    /// An attempt after the second: the tokens appended after the attempt before it, then the attempt.
    public struct FollowUp: Sendable {
        public var instruction: [Int]
        public var attempt: Generation
    }

    /// Every attempt in order (1, 2, …).
    public var attempts: [Generation] { [attempt1] + (attempt2.map { [$0] } ?? []) + later.map(\.attempt) }

    /// The sequence as segments for `SequenceBatch` (`SelfCorrectionExchange`), every attempt trained.
    public var segments: [SequenceBatch.Segment] {
        SelfCorrectionExchange.segments(prompt: prompt, attempt1: attempt1.tokens, instruction: instruction,
                                        attempt2: attempt2?.tokens, trained: .both)
            + later.flatMap { SelfCorrectionExchange.laterSegments(instruction: $0.instruction, attempt: $0.attempt.tokens) }
    }

    /// Total tokens of the exchange.
    public var count: Int {
        prompt.count + attempt1.tokens.count + instruction.count + (attempt2?.tokens.count ?? 0)
            + later.reduce(0) { $0 + $1.instruction.count + $1.attempt.tokens.count }
    }
}
