/// Settings of the mental-arithmetic task: the form, the operand ranges, the wording and the
/// split.
public struct MentalArithmeticTaskOptions: Codable, Sendable, Equatable {
    /// The operations.
    public var form: MentalArithmeticForm
    /// One inclusive range per operand, in drawing order (`form.operandCount` ranges, within
    /// 0...9999).
    public var operandRanges: [ClosedRange<Int>]
    /// In which order the commuting operands are written.
    public var order: MentalArithmeticOrder
    /// How the question is asked.
    public var wording: MentalArithmeticWording
    /// Share of problems held out for testing (0 < fraction < 1).
    public var testFraction: Double
    /// Seed of the split; a different seed gives a different (still disjoint) split.
    public var splitSeed: UInt64

    /// Options with defaults: the `products` preset (a number in 10...49 times one in 2...9, in
    /// both orders, asked for a one-sentence answer; 30% of the products held out: 424 train and
    /// 216 test problems).
    public init(form: MentalArithmeticForm = .product, operandRanges: [ClosedRange<Int>] = [10...49, 2...9],
                order: MentalArithmeticOrder = .both, wording: MentalArithmeticWording = .sentence, testFraction: Double = 0.3,
                splitSeed: UInt64 = 0x5C0E) {
        self.form = form
        self.operandRanges = operandRanges
        self.order = order
        self.wording = wording
        self.testFraction = testFraction
        self.splitSeed = splitSeed
    }

    /// Most operand tuples a task may span (the problems are enumerated).
    public static let maxProblemSpace = 2_000_000

    /// Throws `ScoreError.invalidArgument` naming the first value out of range.
    public func validate() throws {
        guard operandRanges.count == form.operandCount else {
            throw ScoreError.invalidArgument("mental arithmetic: form \(form.rawValue) takes \(form.operandCount) "
                                             + "operand ranges (got \(operandRanges.count))")
        }
        var space = 1
        for range in operandRanges {
            guard range.lowerBound >= 0, range.upperBound <= 9999 else {
                throw ScoreError.invalidArgument("mental arithmetic: operand range \(range) is not within 0...9999")
            }
            space *= range.count
        }
        guard space <= Self.maxProblemSpace else {
            throw ScoreError.invalidArgument("mental arithmetic: \(space) operand tuples exceed the limit of "
                                             + "\(Self.maxProblemSpace); narrow the ranges")
        }
        guard testFraction > 0, testFraction < 1 else {
            throw ScoreError.invalidArgument("mental arithmetic: test fraction must be in (0, 1) (got \(testFraction))")
        }
    }

    /// Named settings. Greedy accuracy at attempt 1 of SmolLM2-135M-Instruct on the test split
    /// (sentence wording, 24 new tokens, final-answer verifier, default self-correction
    /// instruction; up to 216 problems). The model answers in one line ("37 * 4 = 148", "The
    /// answer is 148.") to nearly all of them, so what it gets wrong is the arithmetic:
    ///
    ///     products        a * b, a in 10...49, b in 2...9, both orders   34.3%  (the default)
    ///     products-wide   a * b, a in 10...99, b in 2...9, both orders   28.3%  (300 of ~430 test
    ///                     problems; 25.5% on 216 with one order of each pair)
    ///     small-products  a * b, a, b in 2...12                          77.8%  (36 test problems)
    ///     sums            a + b, a, b in 1...30                          25.0%
    ///     sums-of-three   a + b + c, a, b, c in 1...9                    19.4%
    ///     sum-differences a + b - c, a, b, c in 1...9                     1.5%
    ///     products-plus   a * b + c, a, b in 2...9, c in 1...9            5.4%
    ///
    /// At temperature 1 the same model rambles more often than not, and `products` drops to
    /// 6.5% (24 tokens) or 4.6% (16 tokens).
    public static let presets: [(name: String, options: MentalArithmeticTaskOptions)] = [
        ("products", MentalArithmeticTaskOptions()),
        ("products-wide", MentalArithmeticTaskOptions(form: .product, operandRanges: [10...99, 2...9])),
        ("small-products", MentalArithmeticTaskOptions(form: .product, operandRanges: [2...12, 2...12])),
        ("sums", MentalArithmeticTaskOptions(form: .sum, operandRanges: [1...30, 1...30])),
        ("sums-of-three", MentalArithmeticTaskOptions(form: .sumOfThree, operandRanges: [1...9, 1...9, 1...9])),
        ("sum-differences", MentalArithmeticTaskOptions(form: .sumDifference, operandRanges: [1...9, 1...9, 1...9])),
        ("products-plus", MentalArithmeticTaskOptions(form: .productSum, operandRanges: [2...9, 2...9, 1...9])),
    ]

    /// The preset called `name`; throws `ScoreError.invalidArgument` listing the names otherwise.
    public static func preset(named name: String) throws -> MentalArithmeticTaskOptions {
        guard let preset = presets.first(where: { $0.name == name }) else {
            throw ScoreError.invalidArgument("unknown mental-arithmetic task '\(name)' ("
                                             + presets.map(\.name).joined(separator: ", ") + ")")
        }
        return preset.options
    }
}

/// A generated arithmetic task for self-correction with a programmatic verifier: every problem
/// of a form over the operand ranges, split deterministically into disjoint train and test sets.
/// A problem's split is a hash of its form, its operands with the commuting ones sorted, and the
/// split seed, so "37 * 4" and "4 * 37" always share a split: the test set cannot be answered by
/// recalling a commuted training problem. Problems whose value is negative or equals one of their
/// operands are left out, so a response that only restates the question never scores.
///
/// Answers are checked by `FinalAnswerVerifier` (the last number of the response, or the text
/// after "Final Answer:"), which the one-sentence replies of an instruct model satisfy:
/// "37 * 4 = 148", "The answer is 148.".
public struct MentalArithmeticTask: Sendable {
    /// Which side of the split.
    public typealias Split = ArithmeticTask.Split

    /// The task's settings.
    public let options: MentalArithmeticTaskOptions

    /// A task; throws on invalid options.
    public init(options: MentalArithmeticTaskOptions = MentalArithmeticTaskOptions()) throws {
        try options.validate()
        self.options = options
    }

    /// The built-in verifier that checks the task's answers.
    public var verifier: FinalAnswerVerifier { FinalAnswerVerifier() }
    /// The name of that verifier on the command line.
    public static let verifierName = "final-answer"

    /// The split `problem` belongs to.
    public func split(of problem: MentalArithmeticProblem) -> Split {
        let hash = Self.hash(problem.form, problem.canonicalOperands, seed: options.splitSeed)
        let unit = Double(hash >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return unit < options.testFraction ? .test : .train
    }

    /// Whether the task keeps `problem`: a non-negative value that equals none of its operands.
    public static func isAdmissible(_ problem: MentalArithmeticProblem) -> Bool {
        let value = problem.value
        return value >= 0 && !problem.operands.contains(value)
    }

    /// Every problem of a split, in a fixed order (drawing order of the operand ranges).
    public func problems(_ split: Split) -> [MentalArithmeticProblem] {
        var result = [MentalArithmeticProblem]()
        var seen = Set<[Int]>()
        forEachTuple { tuple in
            for problem in written(tuple) where seen.insert(problem.operands).inserted {
                if Self.isAdmissible(problem), self.split(of: problem) == split { result.append(problem) }
            }
        }
        return result
    }

    /// `count` distinct problems of a split, in an order shuffled by `seed` (nil: all of them).
    /// The same options, split, count and seed give the same problems. Throws when the split
    /// holds fewer than `count` problems.
    public func problems(_ split: Split, count: Int?, seed: UInt64) throws -> [MentalArithmeticProblem] {
        var all = problems(split)
        let wanted = count ?? all.count
        guard wanted >= 0, wanted <= all.count else {
            throw ScoreError.invalidArgument("mental arithmetic: the \(split.rawValue) split holds \(all.count) "
                                             + "problems (asked for \(wanted)); widen the ranges or change the test fraction")
        }
        var generator = RandomGenerator(seed: seed)
        for i in stride(from: all.count - 1, to: 0, by: -1) {
            all.swapAt(i, generator.nextIndex(below: i + 1))
        }
        return Array(all.prefix(wanted))
    }

    /// `problem` as a self-correction problem: the question in the task's wording and the value
    /// as the reference.
    public func selfCorrectionProblem(_ problem: MentalArithmeticProblem) -> SelfCorrectionProblem {
        SelfCorrectionProblem(prompt: problem.prompt(options.wording), reference: problem.answer)
    }

    /// `count` distinct problems of a split as self-correction problems (see
    /// `problems(_:count:seed:)`).
    public func selfCorrectionProblems(_ split: Split, count: Int?, seed: UInt64) throws -> [SelfCorrectionProblem] {
        try problems(split, count: count, seed: seed).map(selfCorrectionProblem)
    }

    /// The problems of a drawn operand tuple in the task's `order`: as drawn; in the order the hash
    /// picks; or in every distinct order of the commuting operands.
    func written(_ tuple: [Int]) -> [MentalArithmeticProblem] {
        let drawn = MentalArithmeticProblem(form: options.form, operands: tuple)
        let prefix = options.form.commutingPrefix
        guard options.order != .drawn, prefix >= 2 else { return [drawn] }
        let sorted = drawn.canonicalOperands
        let permutations = prefix == 2 ? [[0, 1], [1, 0]]
            : [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        let chosen: [[Int]]
        if options.order == .hashed {
            let choice = Self.hash(options.form, sorted, seed: ~options.splitSeed) % UInt64(permutations.count)
            chosen = [permutations[Int(choice)]]
        } else {
            chosen = permutations
        }
        var result = [MentalArithmeticProblem]()
        for order in chosen {
            let problem = MentalArithmeticProblem(form: options.form,
                                                  operands: order.map { sorted[$0] } + sorted.dropFirst(prefix))
            if !result.contains(problem) { result.append(problem) }
        }
        return result
    }

    /// Calls `body` with every operand tuple of the ranges, the last operand varying fastest.
    private func forEachTuple(_ body: ([Int]) -> Void) {
        let ranges = options.operandRanges
        var tuple = ranges.map(\.lowerBound)
        while true {
            body(tuple)
            var position = ranges.count - 1
            while position >= 0 {
                if tuple[position] < ranges[position].upperBound {
                    tuple[position] += 1
                    break
                }
                tuple[position] = ranges[position].lowerBound
                position -= 1
            }
            if position < 0 { return }
        }
    }

    /// A 64-bit hash of a form and operands under `seed` (SplitMix64 finaliser chained).
    private static func hash(_ form: MentalArithmeticForm, _ operands: [Int], seed: UInt64) -> UInt64 {
        let formCode = UInt64(MentalArithmeticForm.allCases.firstIndex(of: form) ?? 0)
        var h = mix(seed ^ mix(formCode &+ 0xA5A5))
        for operand in operands { h = mix(h ^ UInt64(truncatingIfNeeded: operand)) }
        return h
    }

    /// SplitMix64 finaliser.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
