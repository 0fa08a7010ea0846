/// A problem for self-correction training or evaluation: the text shown to the model and the
/// reference the verifier compares attempts with.
public struct SelfCorrectionProblem: Codable, Sendable, Equatable {
    public var prompt: String
    public var reference: String

    public init(prompt: String, reference: String) {
        self.prompt = prompt
        self.reference = reference
    }
}

extension ArithmeticTask {
    /// The problems of a split as self-correction problems.
    public func selfCorrectionProblems(_ split: Split) -> [SelfCorrectionProblem] {
        problems(split).map { SelfCorrectionProblem(prompt: $0.prompt, reference: $0.answer) }
    }
}
