/// Self-correction beyond two attempts: each later attempt follows the instruction again over the
/// whole conversation so far, continuing from the KV cache (nothing is recomputed).
extension Transformer {
    /// The most attempts one conversation may have.
    public static let maximumAttempts = 16

    /// `attempts` greedy attempts on each problem (attempt k + 1 after the instruction that follows
    /// attempt k), scored by `verifier` (attempt k is handed to it as turn k, with attempt 1 as
    /// `firstAttempt` from turn 2 on). `batchSize` problems at once (nil: as many as keep the KV
    /// cache within `memoryBudget`, at most 256). Throws `invalidArgument` for attempts outside
    /// 1...`maximumAttempts` or a conversation longer than the model's context.
    public func evaluateAttempts(
        problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, verifier: any Verifier, attempts: Int,
        maxNewTokens: Int, batchSize requested: Int? = nil, memoryBudget: Int = 1 << 30
    ) throws -> AttemptsEvaluation {
        guard (1...Self.maximumAttempts).contains(attempts) else {
            throw ScoreError.invalidArgument("attempts must be in 1...\(Self.maximumAttempts) (got \(attempts))")
        }
        guard maxNewTokens >= 1 else { throw ScoreError.invalidArgument("maxNewTokens must be at least 1") }
        let prompts = problems.map { format.promptTokens($0.prompt) }
        let batchSize = requested ?? min(256, evaluationBatchLimit(problems: problems, format: format, maxNewTokens: maxNewTokens,
                                                                   memoryBudget: memoryBudget, attempts: attempts))
        guard batchSize > 0 else { throw ScoreError.invalidArgument("batch size must be positive") }
        let greedy = format.attemptSampling(temperature: 0, maxNewTokens: maxNewTokens)
        var generator = RandomGenerator(seed: 0)
        var correct = [[Bool]]()
        correct.reserveCapacity(problems.count)
        for start in stride(from: 0, to: problems.count, by: batchSize) {
            let range = start..<min(problems.count, start + batchSize)
            let episodes = try rollout(prompts: Array(prompts[range]), samplesPerPrompt: 1, attempts: max(2, attempts),
                                       format: format, turn1: greedy, turn2: attempts > 1 ? greedy : nil,
                                       generator: &generator)
            let conversation = episodes.map(\.attempts)
            var items = [VerifierItem]()
            for (slot, problem) in zip(conversation.indices, problems[range]) {
                let texts = try conversation[slot].map { try format.text(of: $0.tokens) }
                for (turn, text) in texts.enumerated() {
                    items.append(VerifierItem(prompt: problem.prompt, response: text, reference: problem.reference,
                                              turn: turn + 1, firstAttempt: turn == 0 ? nil : texts[0]))
                }
            }
            let rewards = try verifier.checkedScores(items)
            for slot in conversation.indices {
                correct.append((0..<attempts).map { rewards[slot * attempts + $0] >= SCoReObjective.correctThreshold })
            }
        }
        return AttemptsEvaluation(correct: correct)
    }
}

/// Which of several attempts were right, per problem, and the accuracies and transitions that
/// follow (fractions of all problems).
public struct AttemptsEvaluation: Sendable, Equatable {
    /// `correct[p][k]`: whether attempt k + 1 of problem p was right.
    public let correct: [[Bool]]

    public init(correct: [[Bool]]) { self.correct = correct }

    /// Attempts per problem.
    public var attempts: Int { correct.first?.count ?? 0 }

    /// Acc@t1 … Acc@tN.
    public var accuracies: [Double] {
        (0..<attempts).map { k in fraction { $0[k] } }
    }

    /// Between attempt k + 1 and k + 2: the share of problems wrong then right, and right then wrong.
    public var transitions: [(incorrectToCorrect: Double, correctToIncorrect: Double)] {
        (0..<max(0, attempts - 1)).map { k in (fraction { !$0[k] && $0[k + 1] }, fraction { $0[k] && !$0[k + 1] }) }
    }

    /// A few lines for a terminal: the accuracy of each attempt and each transition, in %.
    public var summary: String {
        var lines = ["attempts: \(attempts), problems: \(correct.count)"]
        lines.append(accuracies.enumerated().map { "Acc@t\($0.offset + 1) \(Self.percent($0.element))" }
            .joined(separator: "  "))
        for (k, t) in transitions.enumerated() {
            lines.append("t\(k + 1)→t\(k + 2): i→c \(Self.percent(t.incorrectToCorrect))  c→i \(Self.percent(t.correctToIncorrect))")
        }
        return lines.joined(separator: "\n")
    }

    private func fraction(_ predicate: ([Bool]) -> Bool) -> Double {
        correct.isEmpty ? 0 : Double(correct.filter(predicate).count) / Double(correct.count)
    }

    /// A fraction as a percentage with one decimal ("46.2%").
    public static func percent(_ value: Double) -> String {
        let tenths = (value * 1000).rounded() / 10
        return "\(tenths)%"
    }
}
