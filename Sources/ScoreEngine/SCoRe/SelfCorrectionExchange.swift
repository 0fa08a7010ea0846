/// A two-attempt exchange as the segments of one trained sequence — prompt, attempt 1,
/// instruction, attempt 2 — built in one place for rollouts, the SFT baselines, the base's data
/// and the C API's supervised step, and read back by turn (`Segment.turn`) by the objective.
public enum SelfCorrectionExchange {
    /// The segments in order; the raw value is the segment's index in the sequence.
    public enum Segment: Int, CaseIterable, Sendable {
        case prompt, attempt1, instruction, attempt2

        /// The turn whose tokens the segment holds (1 or 2); nil for context.
        public var turn: UInt8? {
            switch self {
            case .attempt1: return 1
            case .attempt2: return 2
            case .prompt, .instruction: return nil
            }
        }
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
