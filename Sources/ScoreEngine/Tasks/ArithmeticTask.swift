import Foundation

/// One addition problem as text: the model reads `prompt` ("12+34=") and should answer `answer`
/// ("46", no leading zeros).
public struct ArithmeticProblem: Codable, Sendable, Hashable {
    /// First operand.
    public let a: Int
    /// Second operand.
    public let b: Int

    /// The problem a + b.
    public init(a: Int, b: Int) {
        self.a = a
        self.b = b
    }

    /// "a+b=".
    public var prompt: String { "\(a)+\(b)=" }
    /// The decimal sum.
    public var answer: String { String(a + b) }
}

/// Settings of the built-in addition task.
public struct ArithmeticTaskOptions: Codable, Sendable, Equatable {
    /// Digits per operand: operands range over 0..<10^digits (1...4).
    public var digits: Int
    /// Share of problems held out for testing (0 < fraction < 1).
    public var testFraction: Double
    /// Seed of the split; a different seed gives a different (still disjoint) split.
    public var splitSeed: UInt64

    /// Options with defaults: two-digit operands, 15% test problems.
    public init(digits: Int = 2, testFraction: Double = 0.15, splitSeed: UInt64 = 0x5C0E) {
        self.digits = digits
        self.testFraction = testFraction
        self.splitSeed = splitSeed
    }

    /// Throws `ScoreError.invalidArgument` naming the first value out of range.
    public func validate() throws {
        guard (1...4).contains(digits) else {
            throw ScoreError.invalidArgument("arithmetic task: digits must be in 1...4 (got \(digits))")
        }
        guard testFraction > 0, testFraction < 1 else {
            throw ScoreError.invalidArgument("arithmetic task: test fraction must be in (0, 1) (got \(testFraction))")
        }
    }
}

/// The built-in addition task: every pair of operands below 10^digits, split deterministically
/// into disjoint train and test sets. A problem's split is a hash of its unordered operand pair
/// and the seed, so "a+b=" and "b+a=" always share a split (the test set cannot be answered by
/// recalling a commuted training problem).
public struct ArithmeticTask: Sendable {
    /// Which side of the split.
    public enum Split: String, Codable, Sendable {
        case train, test
    }

    /// The task's settings.
    public let options: ArithmeticTaskOptions

    /// A task; throws on invalid options.
    public init(options: ArithmeticTaskOptions = ArithmeticTaskOptions()) throws {
        try options.validate()
        self.options = options
    }

    /// Exclusive upper bound of an operand.
    public var operandLimit: Int {
        var limit = 1
        for _ in 0..<options.digits { limit *= 10 }
        return limit
    }

    /// The split `problem` belongs to.
    public func split(of problem: ArithmeticProblem) -> Split {
        let low = UInt64(min(problem.a, problem.b)), high = UInt64(max(problem.a, problem.b))
        let hash = ArithmeticTask.mix(options.splitSeed ^ ArithmeticTask.mix((low << 32) | high))
        let unit = Double(hash >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return unit < options.testFraction ? .test : .train
    }

    /// Every problem of a split, in order of (a, b). Visits all 10^(2·digits) problems: cheap up
    /// to three digits, slow at four (sample instead).
    public func problems(_ split: Split) -> [ArithmeticProblem] {
        var result = [ArithmeticProblem]()
        let limit = operandLimit
        for a in 0..<limit {
            for b in 0..<limit {
                let problem = ArithmeticProblem(a: a, b: b)
                if self.split(of: problem) == split { result.append(problem) }
            }
        }
        return result
    }

    /// A uniformly random problem of a split, drawn from `generator` by rejection. Throws only
    /// when the split is empty (possible with one-digit operands and a tiny test fraction).
    public func sample(_ split: Split, using generator: inout RandomGenerator) throws -> ArithmeticProblem {
        let limit = operandLimit
        for _ in 0..<10_000 {
            let problem = ArithmeticProblem(a: generator.nextIndex(below: limit), b: generator.nextIndex(below: limit))
            if self.split(of: problem) == split { return problem }
        }
        let all = problems(split)
        guard !all.isEmpty else {
            throw ScoreError.invalidArgument("arithmetic task: the \(split.rawValue) split is empty")
        }
        return all[generator.nextIndex(below: all.count)]
    }

    /// Whether `response`, trimmed of surrounding whitespace, is exactly the answer.
    public func check(response: String, problem: ArithmeticProblem) -> Bool {
        Self.isCorrect(response: response, answer: problem.answer)
    }

    /// SplitMix64 finaliser.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
