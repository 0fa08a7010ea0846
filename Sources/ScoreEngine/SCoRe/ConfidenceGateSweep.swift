/// The confidence gate evaluated at every threshold at once. Greedy attempts are deterministic,
/// so one always-revise pass gives, for each problem, both attempts' correctness, their tokens
/// and attempt 1's confidence under every measure; a gate at threshold τ keeps attempt 1 exactly
/// when its confidence is at least τ, which `point` applies without generating again.
public struct ConfidenceGateSweep: Sendable {
    /// What a gate (or none) gives on the problems.
    public struct Point: Sendable, Equatable {
        /// Share of problems whose final answer is right.
        public var accuracy: Double
        /// Share of problems that got a second attempt.
        public var revisedFraction: Double
        /// Generated tokens per problem (attempt 1, plus attempt 2 when revised).
        public var tokensPerProblem: Double
    }

    /// Per problem: attempt 1 and attempt 2 right, their generated tokens, and whether attempt 2
    /// differs from attempt 1.
    public let correct1: [Bool], correct2: [Bool], tokens1: [Int], tokens2: [Int], changed: [Bool]
    /// Attempt 1's confidence under each measure, per problem.
    public let confidences: [ConfidenceMeasure: [Float]]

    /// One greedy always-revise pass over `problems` (in batches of `batchSize`), scored by `verifier`.
    public init(model: Transformer, problems: [SelfCorrectionProblem], format: SelfCorrectionFormat,
                verifier: any Verifier, maxNewTokens: Int, batchSize: Int = 128) throws {
        guard batchSize >= 1 else { throw ScoreError.invalidArgument("batch size must be at least 1") }
        var results = [SelfCorrection]()
        for start in stride(from: 0, to: problems.count, by: batchSize) {
            let chunk = problems[start..<min(problems.count, start + batchSize)].map(\.prompt)
            results += try model.selfCorrect(chunk, format: format, options: SelfCorrectOptions(maxNewTokens: maxNewTokens)).results
        }
        var items = [VerifierItem]()
        for (result, problem) in zip(results, problems) {
            let first = try format.text(of: result.attempt1.tokens)
            items.append(VerifierItem(prompt: problem.prompt, response: first, reference: problem.reference))
            items.append(VerifierItem(prompt: problem.prompt, response: result.finalText, reference: problem.reference,
                                      turn: 2, firstAttempt: first))
        }
        let rewards = try verifier.checkedScores(items)
        let right = rewards.map { $0 >= SCoReObjective.correctThreshold }
        correct1 = stride(from: 0, to: right.count, by: 2).map { right[$0] }
        correct2 = stride(from: 1, to: right.count, by: 2).map { right[$0] }
        tokens1 = results.map(\.attempt1.tokens.count)
        tokens2 = results.map { $0.attempt2?.tokens.count ?? 0 }
        changed = results.map { result in result.attempt2.map { $0.tokens != result.attempt1.tokens } ?? false }
        var confidences = [ConfidenceMeasure: [Float]]()
        for measure in ConfidenceMeasure.allCases {
            confidences[measure] = results.map { measure.confidence(of: $0.attempt1.logProbs) }
        }
        self.confidences = confidences
    }

    /// Number of problems.
    public var count: Int { correct1.count }

    /// The gate at `threshold` under `measure` (revise when confidence < threshold); nil: always revise.
    public func point(_ measure: ConfidenceMeasure, threshold: Float?) -> Point {
        guard count > 0 else { return Point(accuracy: 0, revisedFraction: 0, tokensPerProblem: 0) }
        let confidence = confidences[measure] ?? []
        var right = 0, revised = 0, tokens = 0
        for p in 0..<count {
            let revise = threshold.map { confidence[p] < $0 } ?? true
            right += (revise ? correct2[p] : correct1[p]) ? 1 : 0
            revised += revise ? 1 : 0
            tokens += tokens1[p] + (revise ? tokens2[p] : 0)
        }
        let n = Double(count)
        return Point(accuracy: Double(right) / n, revisedFraction: Double(revised) / n, tokensPerProblem: Double(tokens) / n)
    }

    /// The share of problems whose attempt 2 differs from attempt 1, in `bins` groups of (about)
    /// equal size ordered by attempt 1's confidence under `measure`, lowest first, with each
    /// group's confidence range: whether the model edits less when it is confident.
    public func editsByConfidence(_ measure: ConfidenceMeasure, bins: Int = 4) -> [(low: Float, high: Float, changed: Double)] {
        let confidence = confidences[measure] ?? []
        let order = confidence.indices.sorted { confidence[$0] < confidence[$1] }
        guard bins >= 1, !order.isEmpty else { return [] }
        return (0..<bins).compactMap { b in
            let slice = order[(b * order.count / bins)..<((b + 1) * order.count / bins)]
            guard let first = slice.first, let last = slice.last else { return nil }
            let edits = slice.filter { changed[$0] }.count
            return (confidence[first], confidence[last], Double(edits) / Double(slice.count))
        }
    }
}
