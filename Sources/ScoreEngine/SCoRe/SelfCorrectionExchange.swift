/// A two-attempt exchange as the segments of one trained sequence — prompt, attempt 1,
/// instruction, attempt 2 — built in one place for rollouts, the SFT baselines, the base's data
/// and the C API's supervised step, and read back by turn (`Segment.turn`) by the objective.
public enum SelfCorrectionExchange {
    /// The segments in order; the raw value is the segment's index in the sequence. Exchanges of
    /// more attempts go on alternating: segment 2k − 1 is attempt k, the even ones are context.
    public enum Segment: Int, CaseIterable, Sendable {
        case prompt, attempt1, instruction, attempt2

        /// The turn whose tokens the segment holds (1 or 2); nil for context.
        public var turn: UInt8? { SelfCorrectionExchange.turn(ofSegment: rawValue) }
    }

    /// The turn (attempt number) of the segment at `index` of an exchange of any number of
    /// attempts; nil for context (prompt, instructions) and for indices no exchange has.
    public static func turn(ofSegment index: Int) -> UInt8? {
        guard index % 2 == 1, index < 2 * Int(UInt8.max) else { return nil }
        return UInt8((index + 1) / 2)
    }

    /// The two segments an attempt after the second adds: its instruction (context) and the
    /// attempt (trained).
    public static func laterSegments(instruction: [Int], attempt: [Int]) -> [SequenceBatch.Segment] {
        [SequenceBatch.Segment(tokens: instruction, trained: false), SequenceBatch.Segment(tokens: attempt, trained: true)]
    }

    /// Which attempts carry loss.
    public struct Trained: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let attempt1 = Trained(rawValue: 1)
        public static let attempt2 = Trained(rawValue: 2)
        public static let both: Trained = [.attempt1, .attempt2]
    }

    /// prompt → attempt 1 → instruction → attempt 2, the attempts in `trained` carrying loss (the
    /// prompt and instruction never do). Without `attempt2` the exchange ends after attempt 1.
    public static func segments(prompt: [Int], attempt1: [Int], instruction: [Int], attempt2: [Int]?,
                                trained: Trained) -> [SequenceBatch.Segment] {
        var segments = [SequenceBatch.Segment(tokens: prompt, trained: false),
                        SequenceBatch.Segment(tokens: attempt1, trained: trained.contains(.attempt1))]
        if let attempt2 {
            segments.append(SequenceBatch.Segment(tokens: instruction, trained: false))
            segments.append(SequenceBatch.Segment(tokens: attempt2, trained: trained.contains(.attempt2)))
        }
        return segments
    }

    /// The same as a supervised example, with the instruction turn `format` appends after attempt 1.
    public static func example(prompt: [Int], attempt1: [Int], attempt2: [Int], format: SelfCorrectionFormat,
                               trained: Trained) -> SFTExample {
        SFTExample(segments: segments(prompt: prompt, attempt1: attempt1,
                                      instruction: format.instructionTokens(after: attempt1), attempt2: attempt2,
                                      trained: trained))
    }
}
