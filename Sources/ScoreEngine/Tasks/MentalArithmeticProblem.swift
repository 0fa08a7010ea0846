/// The shape of a mental-arithmetic problem: one or two operations on small integers, written
/// left to right with ASCII operators and the usual precedence (`*` before `+` and `-`).
public enum MentalArithmeticForm: String, Codable, Sendable, CaseIterable {
    /// a + b
    case sum
    /// a - b
    case difference
    /// a * b
    case product
    /// a + b + c
    case sumOfThree = "sum-of-three"
    /// a + b - c
    case sumDifference = "sum-difference"
    /// a * b + c
    case productSum = "product-sum"

    /// Operands the form takes: 2 or 3.
    public var operandCount: Int {
        switch self {
        case .sum, .difference, .product: return 2
        case .sumOfThree, .sumDifference, .productSum: return 3
        }
    }

    /// The two operators, the second nil for a two-operand form.
    var operators: (first: String, second: String?) {
        switch self {
        case .sum: return ("+", nil)
        case .difference: return ("-", nil)
        case .product: return ("*", nil)
        case .sumOfThree: return ("+", "+")
        case .sumDifference: return ("+", "-")
        case .productSum: return ("*", "+")
        }
    }

    /// Which leading operands commute: a problem and the one with these operands swapped have
    /// the same value and count as the same problem for the train/test split.
    var commutingPrefix: Int {
        switch self {
        case .difference: return 0
        case .sum, .product, .sumDifference, .productSum: return 2
        case .sumOfThree: return 3
        }
    }
}

/// In which order a task writes the operands that commute (the first two of `a * b + c`, all
/// three of `a + b + c`). A problem and its commuted forms always share a split.
public enum MentalArithmeticOrder: String, Codable, Sendable, CaseIterable {
    /// As drawn from the operand ranges: `37 * 4` for ranges 10...99 and 2...9.
    case drawn
    /// One order per problem, picked by a hash of its operands: `37 * 4` or `4 * 37`.
    case hashed
    /// Every distinct order: both `37 * 4` and `4 * 37`, as two problems.
    case both
}

/// How a problem is asked. On SmolLM2-135M-Instruct (see `MentalArithmeticTaskOptions.presets`),
/// `sentence` makes the model answer in one line such as "37 * 4 = 148" or "The answer is 148.",
/// whose last number is the answer; with `number` or `plain` it mostly starts an explanation
/// ("To solve this problem, we need to…") that a short token budget cuts off.
public enum MentalArithmeticWording: String, Codable, Sendable, CaseIterable {
    /// "What is 37 * 4? Give the answer in one short sentence."
    case sentence
    /// "What is 37 * 4? Answer with the number only."
    case number
    /// "What is 37 * 4?"
    case plain

    /// The question for the expression `expression`.
    public func prompt(_ expression: String) -> String {
        switch self {
        case .sentence: return "What is \(expression)? Give the answer in one short sentence."
        case .number: return "What is \(expression)? Answer with the number only."
        case .plain: return "What is \(expression)?"
        }
    }
}

/// One mental-arithmetic problem: a form and its operands in the order they are written.
///
///     MentalArithmeticProblem(form: .product, operands: [37, 4]).expression == "37 * 4"
///     MentalArithmeticProblem(form: .productSum, operands: [3, 9, 8]).value == 35
public struct MentalArithmeticProblem: Codable, Sendable, Hashable {
    /// The operations.
    public let form: MentalArithmeticForm
    /// The operands, as written (`form.operandCount` of them).
    public let operands: [Int]

    /// A problem; `operands` must hold `form.operandCount` values (extra ones are ignored,
    /// missing ones read as 0).
    public init(form: MentalArithmeticForm, operands: [Int]) {
        self.form = form
        self.operands = (0..<form.operandCount).map { $0 < operands.count ? operands[$0] : 0 }
    }

    /// The expression as written: "37 * 4", "3 + 9 - 2".
    public var expression: String {
        let (first, second) = form.operators
        var text = "\(operands[0]) \(first) \(operands[1])"
        if let second { text += " \(second) \(operands[2])" }
        return text
    }

    /// The value of the expression.
    public var value: Int {
        let a = operands[0], b = operands[1], c = operands.count > 2 ? operands[2] : 0
        switch form {
        case .sum: return a + b
        case .difference: return a - b
        case .product: return a * b
        case .sumOfThree: return a + b + c
        case .sumDifference: return a + b - c
        case .productSum: return a * b + c
        }
    }

    /// The reference answer: the value in decimal ("148").
    public var answer: String { String(value) }

    /// A correct answer written out as a one-sentence reply: "37 * 4 = 148." (what supervised
    /// baselines train on, in the form instruct models answer such a question).
    public var statement: String { "\(expression) = \(answer)." }

    /// The operands with the commuting ones sorted: equal for a problem and its commuted forms
    /// ("37 * 4" and "4 * 37"), which therefore always share a split.
    public var canonicalOperands: [Int] {
        let prefix = form.commutingPrefix
        return operands.prefix(prefix).sorted() + operands.dropFirst(prefix)
    }

    /// The question in `wording`.
    public func prompt(_ wording: MentalArithmeticWording) -> String { wording.prompt(expression) }
}
