import Testing
@testable import ScoreEngine

/// The built-in addition task: problem text, disjoint deterministic splits, the answer checker.
struct ArithmeticTaskTests {
    @Test func problemText() {
        let problem = ArithmeticProblem(a: 12, b: 34)
        #expect(problem.prompt == "12+34=" && problem.answer == "46")
        #expect(ArithmeticProblem(a: 0, b: 0).prompt == "0+0=" && ArithmeticProblem(a: 0, b: 0).answer == "0")
        #expect(ArithmeticProblem(a: 99, b: 99).answer == "198")
    }

    @Test func splitsAreDisjointCompleteAndSized() throws {
        let task = try ArithmeticTask()
        let train = task.problems(.train), test = task.problems(.test)
        #expect(Set(train).isDisjoint(with: Set(test)))
        #expect(Set(train.map(\.prompt)).isDisjoint(with: Set(test.map(\.prompt))))
        #expect(train.count + test.count == 10_000)
        let fraction = Double(test.count) / 10_000
        #expect(fraction > 0.10 && fraction < 0.20, "test fraction \(fraction)")
        for problem in test {
            #expect(task.split(of: ArithmeticProblem(a: problem.b, b: problem.a)) == .test)
        }
    }

    @Test func splitsAreDeterministicAndSeeded() throws {
        let a = try ArithmeticTask(), b = try ArithmeticTask()
        #expect(a.problems(.test) == b.problems(.test))
        let other = try ArithmeticTask(options: ArithmeticTaskOptions(splitSeed: 1))
        #expect(other.problems(.test) != a.problems(.test))
        let small = try ArithmeticTask(options: ArithmeticTaskOptions(digits: 1, testFraction: 0.2))
        #expect(small.problems(.train).count + small.problems(.test).count == 100)
        #expect(small.problems(.train).allSatisfy { $0.a < 10 && $0.b < 10 })
    }

    @Test func samplingStaysInItsSplit() throws {
        let task = try ArithmeticTask()
        var generator = RandomGenerator(seed: 4)
        for _ in 0..<200 {
            #expect(task.split(of: try task.sample(.test, using: &generator)) == .test)
            #expect(task.split(of: try task.sample(.train, using: &generator)) == .train)
        }
        var first = RandomGenerator(seed: 8), second = RandomGenerator(seed: 8)
        #expect(try task.sample(.train, using: &first) == task.sample(.train, using: &second))
    }

    @Test func checkerTrimsWhitespaceOnly() throws {
        let task = try ArithmeticTask()
        let problem = ArithmeticProblem(a: 12, b: 34)
        #expect(task.check(response: "46", problem: problem))
        #expect(task.check(response: "  46\n", problem: problem))
        for wrong in ["", "45", "046", "4 6", "46.", "46 is the answer", "+46", "-46"] {
            #expect(!task.check(response: wrong, problem: problem), "\(wrong)")
        }
    }

    @Test func invalidOptionsThrow() {
        #expect(throws: ScoreError.self) { try ArithmeticTask(options: ArithmeticTaskOptions(digits: 0)) }
        #expect(throws: ScoreError.self) { try ArithmeticTask(options: ArithmeticTaskOptions(digits: 5)) }
        #expect(throws: ScoreError.self) { try ArithmeticTask(options: ArithmeticTaskOptions(testFraction: 0)) }
        #expect(throws: ScoreError.self) { try ArithmeticTask(options: ArithmeticTaskOptions(testFraction: 1)) }
    }
}
