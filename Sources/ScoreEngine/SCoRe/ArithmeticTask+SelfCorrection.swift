/// Two-attempt training data for the base model of the built-in task. A base that always answers
/// right at turn 1 teaches turn 2 to copy, and no RL setting then makes it edit (the paper's
/// collapse); so the base is trained on exchanges whose first attempt is wrong part of the time and
/// whose second attempt is right or wrong independently of the first.
extension ArithmeticTask {
    /// Characters of a fixed-width answer: the largest sum (2·(10^digits − 1)) has digits + 1.
    public var fixedAnswerWidth: Int { options.digits + 1 }

    /// `value` in decimal; with `fixedWidth`, left-padded with zeros to `fixedAnswerWidth`
    /// characters (46 → "046" for two-digit operands). Without it, the plain decimal ("46").
    public func answerText(_ value: Int, fixedWidth: Bool) -> String {
        let text = String(value)
        guard fixedWidth, text.count < fixedAnswerWidth else { return text }
        return String(repeating: "0", count: fixedAnswerWidth - text.count) + text
    }

    /// The problems of a split as self-correction problems whose references are fixed-width
    /// answers when `fixedWidth` is set (the verifier then expects "046", not "46").
    public func selfCorrectionProblems(_ split: Split, fixedWidth: Bool) -> [SelfCorrectionProblem] {
        guard fixedWidth else { return selfCorrectionProblems(split) }
        return problems(split).map {
            SelfCorrectionProblem(prompt: $0.prompt, reference: answerText($0.a + $0.b, fixedWidth: true))
        }
    }

    /// A plausible wrong answer: the sum moved by a non-zero amount in −10…10, kept non-negative.
    public func wrongAnswer(_ problem: ArithmeticProblem, using generator: inout RandomGenerator) -> String {
        wrongAnswer(problem, maxOffset: 10, fixedWidth: false, using: &generator)
    }

    /// A plausible wrong answer: the sum moved by a non-zero amount in −maxOffset…maxOffset, kept
    /// non-negative, written fixed-width when `fixedWidth` is set.
    public func wrongAnswer(_ problem: ArithmeticProblem, maxOffset: Int, fixedWidth: Bool,
                            using generator: inout RandomGenerator) -> String {
        wrongAnswer(sum: problem.a + problem.b, maxOffset: maxOffset, fixedWidth: fixedWidth, using: &generator)
    }

    /// A wrong answer near `sum`: moved by a non-zero amount in −maxOffset…maxOffset, kept
    /// non-negative, written fixed-width when `fixedWidth` is set.
    public func wrongAnswer(sum: Int, maxOffset: Int, fixedWidth: Bool, using generator: inout RandomGenerator) -> String {
        let span = max(1, maxOffset)
        while true {
            let offset = generator.nextIndex(below: 2 * span + 1) - span
            if offset != 0, sum + offset >= 0 { return answerText(sum + offset, fixedWidth: fixedWidth) }
        }
    }

    /// prompt → attempt 1 (right with probability `firstCorrect`) → instruction → attempt 2 (right
    /// with probability `secondCorrect`, independently); both attempts trained.
    public func selfCorrectionExample(
        _ problem: ArithmeticProblem, format: SelfCorrectionFormat, firstCorrect: Double, secondCorrect: Double,
        using generator: inout RandomGenerator
    ) -> SFTExample {
        selfCorrectionExample(problem, format: format, firstCorrect: firstCorrect, secondCorrect: secondCorrect,
                              maxOffset: 10, fixedWidth: false, using: &generator)
    }

    /// The same with wrong answers within ±`maxOffset` of the sum and, with `fixedWidth`,
    /// zero-padded answers throughout.
    public func selfCorrectionExample(
        _ problem: ArithmeticProblem, format: SelfCorrectionFormat, firstCorrect: Double, secondCorrect: Double,
        maxOffset: Int, fixedWidth: Bool, using generator: inout RandomGenerator
    ) -> SFTExample {
        let right = answerText(problem.a + problem.b, fixedWidth: fixedWidth)
        let first = generator.nextUnitDouble() < firstCorrect
            ? right : wrongAnswer(problem, maxOffset: maxOffset, fixedWidth: fixedWidth, using: &generator)
        let second = generator.nextUnitDouble() < secondCorrect
            ? right : wrongAnswer(problem, maxOffset: maxOffset, fixedWidth: fixedWidth, using: &generator)
        return SelfCorrectionExchange.example(prompt: format.promptTokens(problem.prompt),
                                              attempt1: format.attemptTokens(first),
                                              attempt2: format.attemptTokens(second), format: format, trained: .both)
    }
}
