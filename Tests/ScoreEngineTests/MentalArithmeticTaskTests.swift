import Testing
@testable import ScoreEngine

/// The generated mental-arithmetic task: problem text and values, seeded and disjoint splits, the
/// written order of commuting operands, and the verifier that checks its answers.
struct MentalArithmeticTaskTests {
    /// The value of "a op b [op c]" recomputed from the prompt text alone, with `*` before `+`
    /// and `-` (independent of `MentalArithmeticProblem.value`).
    private func recompute(_ prompt: String) -> Int? {
        guard let start = prompt.range(of: "What is "), let end = prompt.range(of: "?") else { return nil }
        let tokens = prompt[start.upperBound..<end.lowerBound].split(separator: " ").map(String.init)
        guard tokens.count == 3 || tokens.count == 5 else { return nil }
        var terms = [Int]()
        var signs = [1]
        guard let first = Int(tokens[0]) else { return nil }
        terms.append(first)
        var index = 1
        while index + 1 < tokens.count {
            guard let operand = Int(tokens[index + 1]) else { return nil }
            switch tokens[index] {
            case "*": terms[terms.count - 1] *= operand
            case "+": terms.append(operand); signs.append(1)
            case "-": terms.append(operand); signs.append(-1)
            default: return nil
            }
            index += 2
        }
        return zip(terms, signs).map { $0 * $1 }.reduce(0, +)
    }

    @Test func problemTextAndValues() {
        let product = MentalArithmeticProblem(form: .product, operands: [37, 4])
        #expect(product.expression == "37 * 4" && product.value == 148 && product.answer == "148")
        #expect(product.prompt(.sentence) == "What is 37 * 4? Give the answer in one short sentence.")
        #expect(product.prompt(.number) == "What is 37 * 4? Answer with the number only.")
        #expect(product.prompt(.plain) == "What is 37 * 4?")
        #expect(product.statement == "37 * 4 = 148.")
        #expect(FinalAnswerVerifier().score([VerifierItem(prompt: product.prompt(.sentence), response: product.statement,
                                                          reference: product.answer)]) == [1])
        #expect(MentalArithmeticProblem(form: .sum, operands: [12, 30]).value == 42)
        #expect(MentalArithmeticProblem(form: .difference, operands: [12, 30]).value == -18)
        #expect(MentalArithmeticProblem(form: .sumOfThree, operands: [3, 9, 8]).expression == "3 + 9 + 8")
        #expect(MentalArithmeticProblem(form: .sumDifference, operands: [3, 9, 8]).value == 4)
        #expect(MentalArithmeticProblem(form: .productSum, operands: [3, 9, 8]).value == 35)
        #expect(MentalArithmeticProblem(form: .productSum, operands: [3, 9, 8]).expression == "3 * 9 + 8")
        #expect(MentalArithmeticProblem(form: .product, operands: [4, 37]).canonicalOperands == [4, 37])
        #expect(MentalArithmeticProblem(form: .product, operands: [37, 4]).canonicalOperands == [4, 37])
        #expect(MentalArithmeticProblem(form: .sumDifference, operands: [9, 3, 1]).canonicalOperands == [3, 9, 1])
        #expect(MentalArithmeticProblem(form: .difference, operands: [9, 3]).canonicalOperands == [9, 3])
    }

    @Test func referencesAreTheRecomputedValues() throws {
        for (name, options) in MentalArithmeticTaskOptions.presets {
            let task = try MentalArithmeticTask(options: options)
            for split in [MentalArithmeticTask.Split.train, .test] {
                for problem in try task.selfCorrectionProblems(split, count: nil, seed: 1) {
                    let value = recompute(problem.prompt)
                    #expect(value.map(String.init) == problem.reference, "\(name): \(problem.prompt)")
                }
            }
        }
    }

    @Test func splitsAreDisjointCompleteAndCommutedTogether() throws {
        let task = try MentalArithmeticTask()
        let train = task.problems(.train), test = task.problems(.test)
        #expect(Set(train).isDisjoint(with: Set(test)))
        #expect(Set(train.map(\.canonicalOperands)).isDisjoint(with: Set(test.map(\.canonicalOperands))))
        let trainPrompts = Set(train.map { $0.prompt(.sentence) }), testPrompts = Set(test.map { $0.prompt(.sentence) })
        #expect(trainPrompts.isDisjoint(with: testPrompts))
        // 40 × 8 products in both orders, none left out.
        #expect(train.count + test.count == 640 && Set(train + test).count == 640)
        #expect(test.count >= 200, "test split \(test.count)")
        let fraction = Double(test.count) / 640
        #expect(fraction > 0.2 && fraction < 0.4, "test fraction \(fraction)")
        let testSet = Set(test)
        for problem in test {
            let commuted = MentalArithmeticProblem(form: .product, operands: problem.operands.reversed())
            #expect(testSet.contains(commuted), "\(problem.expression)")
        }
        for (name, options) in MentalArithmeticTaskOptions.presets {
            let preset = try MentalArithmeticTask(options: options)
            let keys = Set(preset.problems(.train).map(\.canonicalOperands))
            #expect(keys.isDisjoint(with: Set(preset.problems(.test).map(\.canonicalOperands))), "\(name)")
        }
    }

    @Test func problemsAreDeterministicBySeed() throws {
        let a = try MentalArithmeticTask(), b = try MentalArithmeticTask()
        #expect(a.problems(.test) == b.problems(.test))
        let first = try a.problems(.train, count: 50, seed: 7), again = try b.problems(.train, count: 50, seed: 7)
        #expect(first == again && first.count == 50 && Set(first).count == 50)
        #expect(try a.problems(.train, count: 50, seed: 8) != first)
        #expect(try a.selfCorrectionProblems(.test, count: 20, seed: 3) == b.selfCorrectionProblems(.test, count: 20, seed: 3))
        // A prefix of a longer draw with the same seed: a count asks for the first problems of one order.
        #expect(Array(try a.problems(.train, count: 100, seed: 7).prefix(50)) == first)
        var options = MentalArithmeticTaskOptions()
        options.splitSeed = 1
        #expect(try MentalArithmeticTask(options: options).problems(.test) != a.problems(.test))
    }

    @Test func writtenOrders() throws {
        var options = MentalArithmeticTaskOptions(form: .product, operandRanges: [10...99, 2...9], order: .drawn)
        let drawn = try MentalArithmeticTask(options: options)
        let drawnAll = drawn.problems(.train) + drawn.problems(.test)
        #expect(drawnAll.count == 720 && drawnAll.allSatisfy { $0.operands[0] >= 10 })
        options.order = .hashed
        let hashed = try MentalArithmeticTask(options: options)
        let hashedAll = hashed.problems(.train) + hashed.problems(.test)
        #expect(hashedAll.count == 720 && Set(hashedAll.map(\.canonicalOperands)).count == 720)
        let twoDigitFirst = hashedAll.filter { $0.operands[0] >= 10 }.count
        #expect(twoDigitFirst > 300 && twoDigitFirst < 420, "\(twoDigitFirst)")
        options.order = .both
        let both = try MentalArithmeticTask(options: options)
        #expect(both.problems(.train).count + both.problems(.test).count == 1440)
        // Overlapping ranges: a problem and its commuted form are one problem with `hashed`.
        let sums = try MentalArithmeticTask(options: MentalArithmeticTaskOptions(
            form: .sumOfThree, operandRanges: [1...3, 1...3, 1...3], order: .hashed))
        #expect(sums.problems(.train).count + sums.problems(.test).count == 10)
    }

    @Test func restatingTheQuestionNeverScores() throws {
        let verifier = FinalAnswerVerifier()
        for (name, options) in MentalArithmeticTaskOptions.presets {
            let task = try MentalArithmeticTask(options: options)
            for problem in task.problems(.train) + task.problems(.test) {
                #expect(MentalArithmeticTask.isAdmissible(problem) && problem.value >= 0, "\(name)")
                #expect(!verifier.matches(response: problem.prompt(.plain), reference: problem.answer), "\(name)")
                #expect(!verifier.matches(response: problem.expression, reference: problem.answer), "\(name)")
            }
        }
        #expect(!MentalArithmeticTask.isAdmissible(MentalArithmeticProblem(form: .sumDifference, operands: [5, 5, 5])))
        #expect(!MentalArithmeticTask.isAdmissible(MentalArithmeticProblem(form: .difference, operands: [8, 4])))
        #expect(!MentalArithmeticTask.isAdmissible(MentalArithmeticProblem(form: .difference, operands: [3, 4])))
    }

    @Test func verifierAcceptsTheReferenceAndRejectsWrongAnswers() throws {
        let task = try MentalArithmeticTask()
        let problem = MentalArithmeticProblem(form: .product, operands: [37, 4])
        let reference = task.selfCorrectionProblem(problem).reference
        for right in ["148", "37 * 4 = 148", "37 * 4 = 148.", "The answer is 148.", "Final Answer: 148"] {
            #expect(task.verifier.matches(response: right, reference: reference), "\(right)")
        }
        for wrong in ["", "147", "37 * 4 = 147", "The answer is 184.", "37 * 4", "148 + 1 = 149", "I don't know"] {
            #expect(!task.verifier.matches(response: wrong, reference: reference), "\(wrong)")
        }
        let items = try task.selfCorrectionProblems(.test, count: 10, seed: 0).map {
            VerifierItem(prompt: $0.prompt, response: "So \($0.reference).", reference: $0.reference)
        }
        #expect(task.verifier.score(items) == Array(repeating: 1, count: 10))
        let wrongItems = try task.selfCorrectionProblems(.test, count: 10, seed: 0).map {
            VerifierItem(prompt: $0.prompt, response: "\(Int($0.reference)! + 1)", reference: $0.reference)
        }
        #expect(task.verifier.score(wrongItems) == Array(repeating: 0, count: 10))
    }

    @Test func invalidOptionsAndCountsThrow() throws {
        #expect(throws: ScoreError.self) {
            try MentalArithmeticTask(options: MentalArithmeticTaskOptions(form: .sumOfThree, operandRanges: [1...9, 1...9]))
        }
        #expect(throws: ScoreError.self) {
            try MentalArithmeticTask(options: MentalArithmeticTaskOptions(operandRanges: [-1...9, 1...9]))
        }
        #expect(throws: ScoreError.self) {
            try MentalArithmeticTask(options: MentalArithmeticTaskOptions(operandRanges: [0...9999, 0...9999]))
        }
        #expect(throws: ScoreError.self) { try MentalArithmeticTask(options: MentalArithmeticTaskOptions(testFraction: 0)) }
        #expect(throws: ScoreError.self) { try MentalArithmeticTask(options: MentalArithmeticTaskOptions(testFraction: 1)) }
        #expect(throws: ScoreError.self) { try MentalArithmeticTaskOptions.preset(named: "nope") }
        let task = try MentalArithmeticTask()
        let available = task.problems(.test).count
        #expect(throws: ScoreError.self) { try task.problems(.test, count: available + 1, seed: 0) }
        #expect(try task.problems(.test, count: available, seed: 0).count == available)
        #expect(try task.problems(.test, count: 0, seed: 0).isEmpty)
        #expect(try MentalArithmeticTaskOptions.preset(named: "products") == MentalArithmeticTaskOptions())
    }
}
