/// One supervised fine-tuning example: a prompt the model conditions on and a completion it
/// learns to produce. Loss applies to the completion tokens only.
public struct SFTExample: Codable, Sendable, Equatable {
    /// Token ids the model reads but is not trained to predict (typically starting with BOS).
    public var prompt: [Int]
    /// Token ids the model is trained to predict (typically ending with EOS).
    public var completion: [Int]

    /// An example from token ids.
    public init(prompt: [Int], completion: [Int]) {
        self.prompt = prompt
        self.completion = completion
    }

    /// Total number of tokens.
    public var count: Int { prompt.count + completion.count }

    /// Number of completion tokens that receive a loss: all of them, except the very first token
    /// of the sequence when the prompt is empty (it has no prefix to be predicted from).
    public var trainedCount: Int { prompt.isEmpty ? max(0, completion.count - 1) : completion.count }

    /// The example as packing segments: [prompt (untrained), completion (trained)].
    public var segments: [SequenceBatch.Segment] {
        [SequenceBatch.Segment(tokens: prompt, trained: false), SequenceBatch.Segment(tokens: completion, trained: true)]
    }

    /// Throws `ScoreError.invalidArgument` when the example trains nothing, does not fit the
    /// model, or holds an id outside the vocabulary.
    public func validate(vocabSize: Int, maxSeqLen: Int) throws {
        guard trainedCount > 0 else {
            throw ScoreError.invalidArgument(
                "SFT example has no trained token (prompt \(prompt.count), completion \(completion.count) tokens)")
        }
        guard count <= maxSeqLen else {
            throw ScoreError.invalidArgument("SFT example has \(count) tokens, more than the model's maximum of \(maxSeqLen)")
        }
        if let bad = (prompt + completion).first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw ScoreError.invalidArgument("SFT example holds token id \(bad) outside the vocabulary 0..<\(vocabSize)")
        }
    }
}
