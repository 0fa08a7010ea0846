/// Scores a model's generations for a list of prompts with a checker.
public struct EvaluationResult: Sendable {
    /// Fraction of prompts whose output the checker accepted.
    public let accuracy: Double
    /// Number of prompts scored.
    public let count: Int
    /// The generation for each prompt, in order.
    public let generations: [Generation]
    /// Whether each generation was accepted.
    public let correct: [Bool]
}

extension Transformer {
    /// Generates for every prompt in batches of `batchSize` and applies `check(index, text)`;
    /// `progress(done, total)` is called after each batch.
    public func evaluate(
        prompts: [[Int]], options: SamplingOptions, tokenizer: any Tokenizer, batchSize: Int = 256,
        check: (Int, String) -> Bool, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> EvaluationResult {
        guard batchSize > 0 else { throw ScoreError.invalidArgument("batch size must be positive") }
        var generator = RandomGenerator(seed: options.seed)
        var generations = [Generation]()
        generations.reserveCapacity(prompts.count)
        var start = 0
        while start < prompts.count {
            let end = min(prompts.count, start + batchSize)
            generations += try generate(prompts: Array(prompts[start..<end]), options: options, tokenizer: tokenizer,
                                        generator: &generator)
            progress(end, prompts.count)
            start = end
        }
        let correct = generations.enumerated().map { check($0.offset, $0.element.text) }
        let accuracy = prompts.isEmpty ? 0 : Double(correct.filter { $0 }.count) / Double(prompts.count)
        return EvaluationResult(accuracy: accuracy, count: prompts.count, generations: generations, correct: correct)
    }
}
