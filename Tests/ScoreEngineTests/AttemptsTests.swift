import Foundation
import Testing
@testable import ScoreEngine

/// More than two attempts: two equal today's two-attempt evaluation, a third attempt equals a
/// generation over the whole conversation from scratch, and the bounds are checked.
struct AttemptsTests {
    typealias T = SelfCorrectTests
    static let problems = T.prompts.map { SelfCorrectionProblem(prompt: $0, reference: "3") }
    /// Rewards from the bytes of each response, so that attempts differ in correctness.
    static let verifier = ClosureVerifier { items in items.map { Float(($0.response.utf8.reduce(0) { $0 + Int($1) }) % 2) } }

    @Test func twoAttemptsEqualTheTwoAttemptEvaluation() throws {
        let model = try T.model(), format = try T.format()
        let two = try model.evaluateAttempts(problems: Self.problems, format: format, verifier: Self.verifier,
                                             attempts: 2, maxNewTokens: 8)
        let reference = try model.evaluateSelfCorrection(problems: Self.problems, format: format,
                                                         verifier: Self.verifier, maxNewTokens: 8)
        #expect(two.correct == reference.pairs.map { [$0.correct1, $0.correct2] })
        #expect(two.accuracies == [reference.metrics.accuracyT1, reference.metrics.accuracyT2])
        #expect(two.transitions.count == 1)
        #expect(two.transitions[0].incorrectToCorrect == reference.metrics.deltaIncorrectToCorrect)
        #expect(two.transitions[0].correctToIncorrect == reference.metrics.deltaCorrectToIncorrect)
    }

    @Test func aThirdAttemptContinuesTheWholeConversation() throws {
        let model = try T.model(), format = try T.format()
        var seen = [[VerifierItem]]()
        let recording = ClosureVerifier { items in seen.append(items); return items.map { _ in 1 } }
        let three = try model.evaluateAttempts(problems: Self.problems, format: format, verifier: recording,
                                               attempts: 3, maxNewTokens: 6, batchSize: 3)
        #expect(three.correct.count == Self.problems.count && three.attempts == 3)
        #expect(three.accuracies == [1, 1, 1])
        let items = seen.flatMap { $0 }
        #expect(items.map(\.turn) == Array(repeating: [1, 2, 3], count: Self.problems.count).flatMap { $0 })
        // Attempt 3 from scratch: prompt, attempt 1, instruction, attempt 2, instruction, generated greedily.
        let greedy = format.attemptSampling(temperature: 0, maxNewTokens: 6)
        for (p, problem) in Self.problems.enumerated() {
            let texts = items[(3 * p)..<(3 * p + 3)].map(\.response)
            #expect(items[3 * p + 2].firstAttempt == texts[0])
            var tokens = format.promptTokens(problem.prompt)
            var attempt = try model.generate(prompts: [tokens], options: greedy, tokenizer: format.tokenizer)[0].tokens
            for k in 0..<3 {
                #expect(try format.text(of: attempt) == texts[k], "problem \(p), attempt \(k + 1)")
                tokens += attempt + format.instructionTokens(after: attempt)
                attempt = try model.generate(prompts: [tokens], options: greedy, tokenizer: format.tokenizer)[0].tokens
            }
        }
    }

    @Test func selfCorrectionWithThreeAttemptsIsTheThreeAttemptRollout() throws {
        let model = try T.model(), format = try T.format()
        let options = SelfCorrectOptions(maxNewTokens: 6, attempts: 3)
        let (results, skipped) = try model.selfCorrect(T.prompts, format: format, options: options)
        var generator = RandomGenerator(seed: 0)
        let greedy = format.attemptSampling(temperature: 0, maxNewTokens: 6)
        let episodes = try model.rollout(prompts: T.prompts.map(format.promptTokens), samplesPerPrompt: 1, attempts: 3,
                                         format: format, turn1: greedy, turn2: greedy, generator: &generator)
        #expect(skipped == 0)
        #expect(results.map { $0.attempts.map(\.tokens) } == episodes.map { $0.attempts.map(\.tokens) })
        #expect(try results.allSatisfy { try $0.finalText == format.text(of: $0.attempts[2].tokens) })
        // One attempt: no revision; a gate at 0 stops every conversation after attempt 1.
        let one = try model.selfCorrect(T.prompts, format: format, options: SelfCorrectOptions(maxNewTokens: 6, attempts: 1))
        #expect(one.results.allSatisfy { !$0.revised && $0.attempts.count == 1 })
        let gated = try model.selfCorrect(T.prompts, format: format,
                                          options: SelfCorrectOptions(maxNewTokens: 6, attempts: 3, gate: 0))
        #expect(gated.skipped == T.prompts.count && gated.results.allSatisfy { $0.attempts.count == 1 })
        for attempts in [0, Transformer.maximumAttempts + 1] {
            #expect(throws: ScoreError.self) {
                try model.selfCorrect(T.prompts, format: format, options: SelfCorrectOptions(attempts: attempts))
            }
        }
    }

    @Test func attemptsOutsideTheRangeAreRefused() throws {
        let model = try T.model(), format = try T.format()
        for attempts in [0, -1, Transformer.maximumAttempts + 1] {
            #expect(throws: ScoreError.self) {
                try model.evaluateAttempts(problems: Self.problems, format: format, verifier: Self.verifier,
                                           attempts: attempts, maxNewTokens: 4)
            }
        }
        // A conversation longer than the context (96 tokens) is refused, not cut.
        #expect(throws: ScoreError.self) {
            try model.evaluateAttempts(problems: Self.problems, format: format, verifier: Self.verifier,
                                       attempts: 8, maxNewTokens: 12)
        }
        let one = try model.evaluateAttempts(problems: Self.problems, format: format, verifier: Self.verifier,
                                             attempts: 1, maxNewTokens: 4)
        #expect(one.attempts == 1 && one.transitions.isEmpty)
    }
}
