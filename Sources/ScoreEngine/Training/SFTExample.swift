/// One supervised fine-tuning example: segments of token ids, each either context the model reads
/// (untrained) or text it learns to produce (trained). The usual case is a prompt and a completion;
/// a two-attempt exchange is prompt, attempt 1, instruction, attempt 2.
public struct SFTExample: Codable, Sendable, Equatable {
    /// The sequence, in order.
    public var segments: [SequenceBatch.Segment]

    /// A prompt the model conditions on and a completion it learns (loss on the completion only).
    public init(prompt: [Int], completion: [Int]) {
        segments = [SequenceBatch.Segment(tokens: prompt, trained: false),
                    SequenceBatch.Segment(tokens: completion, trained: true)]
    }

    /// An example from arbitrary segments.
    public init(segments: [SequenceBatch.Segment]) {
        self.segments = segments
    }

    /// Total number of tokens.
    public var count: Int { segments.reduce(0) { $0 + $1.tokens.count } }

    /// Number of tokens that receive a loss: every token of a trained segment, except the very
    /// first token of the sequence (it has no prefix to be predicted from).
    public var trainedCount: Int {
        var total = 0, position = 0
        for segment in segments {
            if segment.trained { total += segment.tokens.count - (position == 0 && !segment.tokens.isEmpty ? 1 : 0) }
            position += segment.tokens.count
        }
        return total
    }

    /// Throws `ScoreError.invalidArgument` when the example trains nothing, does not fit the
    /// model, or holds an id outside the vocabulary.
    public func validate(vocabSize: Int, maxSeqLen: Int) throws {
        guard trainedCount > 0 else {
            throw ScoreError.invalidArgument(
                "SFT example has no trained token (\(segments.count) segments, \(count) tokens)")
        }
        guard count <= maxSeqLen else {
            throw ScoreError.invalidArgument("SFT example has \(count) tokens, more than the model's maximum of \(maxSeqLen)")
        }
        for segment in segments {
            if let bad = segment.tokens.first(where: { $0 < 0 || $0 >= vocabSize }) {
                throw ScoreError.invalidArgument("SFT example holds token id \(bad) outside the vocabulary 0..<\(vocabSize)")
            }
        }
    }
}
