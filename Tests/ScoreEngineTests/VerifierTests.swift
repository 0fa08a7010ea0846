import Testing
@testable import ScoreEngine

/// The verifier protocol's checks and the built-in verifiers.
struct VerifierTests {
    private func item(_ response: String, _ reference: String) -> VerifierItem {
        VerifierItem(prompt: "q", response: response, reference: reference)
    }

    private func finalAnswer(_ response: String, _ reference: String) -> Bool {
        FinalAnswerVerifier().matches(response: response, reference: reference)
    }

    // MARK: Exact match

    @Test func exactMatchNormalises() {
        let verifier = ExactMatchVerifier()
        #expect(verifier.matches(response: "  Paris. ", reference: "paris"))
        #expect(verifier.matches(response: "New \t York\n", reference: "new york"))
        #expect(verifier.matches(response: "42", reference: "42."))
        #expect(AnswerNormalization().apply("etc..") == "etc.")
        #expect(!verifier.matches(response: "etc..", reference: "etc"))
        #expect(!verifier.matches(response: "Paris, France", reference: "Paris"))
        #expect(!verifier.matches(response: "42", reference: "4 2"))
        #expect(verifier.score([item(" A ", "a"), item("b", "a")]) == [1, 0])
        #expect(AnswerNormalization().apply("  The   Answer.\n") == "the answer")
    }

    @Test func exactMatchFlagsTurnStepsOff() {
        let caseSensitive = ExactMatchVerifier(normalization: AnswerNormalization(caseInsensitive: false))
        #expect(!caseSensitive.matches(response: "Paris", reference: "paris"))
        let keepPeriod = ExactMatchVerifier(normalization: AnswerNormalization(stripTrailingPeriod: false))
        #expect(!keepPeriod.matches(response: "42.", reference: "42"))
        let keepSpaces = ExactMatchVerifier(normalization: AnswerNormalization(collapseWhitespace: false))
        #expect(!keepSpaces.matches(response: "a  b", reference: "a b"))
        let noTrim = AnswerNormalization(trimWhitespace: false)
        #expect(noTrim.apply("  a \n b ") == " a b ")
        let nothing = AnswerNormalization(trimWhitespace: false, collapseWhitespace: false, caseInsensitive: false,
                                          stripTrailingPeriod: false)
        #expect(nothing.apply(" A  b. ") == " A  b. ")
    }

    // MARK: Final answer

    @Test func finalAnswerExtraction() {
        #expect(FinalAnswerVerifier.extractAnswer(from: "Work... Final Answer: 42") == "42")
        #expect(FinalAnswerVerifier.extractAnswer(from: "final answer: $3.5$.") == "3.5")
        #expect(FinalAnswerVerifier.extractAnswer(from: "FINAL ANSWER: \\boxed{7}.\nThanks") == "7")
        #expect(FinalAnswerVerifier.extractAnswer(from: "Final Answer: 1\nno wait\nFinal Answer: 2") == "2")
        #expect(FinalAnswerVerifier.extractAnswer(from: "Final Answer:\n  9 \nmore") == "9")
        #expect(FinalAnswerVerifier.extractAnswer(from: "Final Answer: $\\boxed{x+1}$") == "x+1")
        #expect(FinalAnswerVerifier.extractAnswer(from: "the result is \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}")
        #expect(FinalAnswerVerifier.extractAnswer(from: "\\boxed{7}") == "7")
        #expect(FinalAnswerVerifier.extractAnswer(from: "so it's 12, then 15") == "15")
        #expect(FinalAnswerVerifier.extractAnswer(from: "it drops to -4.") == "-4")
        #expect(FinalAnswerVerifier.extractAnswer(from: "we owe −7 now") == "-7")
        #expect(FinalAnswerVerifier.extractAnswer(from: "5-3 is 2") == "2")
        #expect(FinalAnswerVerifier.extractAnswer(from: "a total of 1,234 apples") == "1234")
        #expect(FinalAnswerVerifier.extractAnswer(from: "1,234,567.25 in all") == "1234567.25")
        #expect(FinalAnswerVerifier.extractAnswer(from: "the list 1,2,3") == "3")
        #expect(FinalAnswerVerifier.extractAnswer(from: "about .5 of it") == "0.5")
        #expect(FinalAnswerVerifier.extractAnswer(from: "I do not know") == nil)
        #expect(FinalAnswerVerifier.extractAnswer(from: "it is 3. Final Answer:") == nil)
    }

    @Test func finalAnswerComparison() {
        #expect(finalAnswer("Final Answer: 42", "42"))
        #expect(finalAnswer("final answer: $3.5$.", "3.5"))
        #expect(finalAnswer("\\boxed{7}", "7"))
        #expect(finalAnswer("so it's 12, then 15", "15"))
        #expect(!finalAnswer("so it's 12, then 15", "12"))
        #expect(finalAnswer("the loss is -3 dollars", "-3"))
        #expect(!finalAnswer("the loss is -3 dollars", "3"))
        #expect(finalAnswer("a total of 1,234 apples", "1234"))
        #expect(finalAnswer("a total of 1234 apples", "1,234"))
        #expect(finalAnswer("Final Answer: 2.50", "2.5"))
        #expect(finalAnswer("Final Answer: 2.5", "2.50"))
        #expect(!finalAnswer("Final Answer: 2.51", "2.5"))
        #expect(finalAnswer("Final Answer: x = 42", "42"))
        #expect(finalAnswer("Final Answer: Paris.", "paris"))
        #expect(!finalAnswer("Final Answer: Lyon", "Paris"))
        #expect(!finalAnswer("I do not know", "5"))
        #expect(FinalAnswerVerifier().score([item("Final Answer: 2.50", "2.5"), item("nothing", "1")]) == [1, 0])
    }

    // MARK: Arithmetic

    @Test func arithmeticVerifierMatchesTheTaskChecker() throws {
        let verifier = ArithmeticVerifier()
        #expect(verifier.score([item(" 46\n", "46"), item("046", "46"), item("46.", "46"), item("4 6", "46")])
                == [1, 0, 0, 0])
        let task = try ArithmeticTask()
        let problem = ArithmeticProblem(a: 12, b: 34)
        for response in ["46", " 46 ", "45", "046", "46.", "", "46\n"] {
            let reward = verifier.score([item(response, problem.answer)])
            #expect(reward == [task.check(response: response, problem: problem) ? 1 : 0], "response \(response)")
        }
    }

    // MARK: checkedScores

    private struct CustomError: Error {}

    @Test func checkedScoresPassesGoodRewards() throws {
        let verifier = ClosureVerifier { items in items.map { $0.turn == 2 ? 0.5 : 1 } }
        let items = [item("a", "a"), VerifierItem(prompt: "q", response: "b", reference: "a", turn: 2, firstAttempt: "a")]
        #expect(try verifier.checkedScores(items) == [1, 0.5])
        #expect(try verifier.checkedScores([]) == [])
    }

    @Test func checkedScoresRejectsWrongCount() {
        let verifier = ClosureVerifier { _ in [1] }
        #expect(throws: ScoreError.callbackFailed("verifier returned 1 rewards for 2 items")) {
            try verifier.checkedScores([item("a", "a"), item("b", "b")])
        }
    }

    @Test func checkedScoresRejectsNonFiniteRewards() {
        for bad in [Float.nan, .infinity, -.infinity] {
            let verifier = ClosureVerifier { _ in [1, bad, 0] }
            #expect(throws: ScoreError.nonFinite("verifier reward of item 1 is \(bad)")) {
                try verifier.checkedScores([item("a", "a"), item("b", "b"), item("c", "c")])
            }
        }
    }

    @Test func checkedScoresWrapsForeignErrorsAndKeepsScoreErrors() {
        let failing = ClosureVerifier { _ in throw CustomError() }
        do {
            _ = try failing.checkedScores([item("a", "a")])
            Issue.record("expected an error")
        } catch let ScoreError.callbackFailed(message) {
            #expect(message.hasPrefix("verifier: ") && message.contains("CustomError"), "\(message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
        let own = ClosureVerifier { _ in throw ScoreError.invalidArgument("judge is down") }
        #expect(throws: ScoreError.invalidArgument("judge is down")) {
            try own.checkedScores([item("a", "a")])
        }
    }
}
