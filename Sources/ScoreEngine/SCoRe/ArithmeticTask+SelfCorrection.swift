/// Two-attempt training data for the base model of the built-in task. A base that always answers
/// right at turn 1 teaches turn 2 to copy, and no RL setting then makes it edit (the paper's
/// collapse); so the base is trained on exchanges whose first attempt is wrong part of the time and
/// whose second attempt is right or wrong independently of the first.
extension ArithmeticTask {
    /// A plausible wrong answer: the sum moved by a non-zero amount in −10…10, kept non-negative.
    public func wrongAnswer(_ problem: ArithmeticProblem, using generator: inout RandomGenerator) -> String {
        let sum = problem.a + problem.b
        while true {
            let offset = generator.nextIndex(below: 21) - 10
            if offset != 0, sum + offset >= 0 { return String(sum + offset) }
        }
    }

    /// prompt → attempt 1 (right with probability `firstCorrect`) → instruction → attempt 2 (right
    /// with probability `secondCorrect`, independently); both attempts trained.
    public func selfCorrectionExample(
        _ problem: ArithmeticProblem, format: SelfCorrectionFormat, firstCorrect: Double, secondCorrect: Double,
        using generator: inout RandomGenerator
    ) -> SFTExample {
        let first = generator.nextUnitDouble() < firstCorrect ? problem.answer : wrongAnswer(problem, using: &generator)
        let second = generator.nextUnitDouble() < secondCorrect ? problem.answer : wrongAnswer(problem, using: &generator)
        let attempt1 = format.attemptTokens(first)
        return SFTExample(segments: [
            SequenceBatch.Segment(tokens: format.promptTokens(problem.prompt), trained: false),
            SequenceBatch.Segment(tokens: attempt1, trained: true),
            SequenceBatch.Segment(tokens: format.instructionTokens(after: attempt1), trained: false),
            SequenceBatch.Segment(tokens: format.attemptTokens(second), trained: true),
        ])
    }
}
