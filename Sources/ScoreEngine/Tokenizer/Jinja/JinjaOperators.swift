import Foundation

/// Jinja's operators with Python's semantics: `+` adds numbers and joins strings, lists or
/// tuples; `*` repeats them; `/` always gives a float; `//` and `%` floor toward negative
/// infinity; `~` joins the text of any two values. Integers overflow into an error (Python's
/// would grow); `Undefined` operands are errors naming what was undefined.
enum JinjaOperators {
    /// Longest string or list a repetition may make.
    static let maximumRepetition = 1 << 22

    /// `-x` or `+x`.
    static func unary(_ op: String, _ value: JinjaValue) throws -> JinjaValue {
        try checkDefined(value)
        switch value.number {
        case .int(let x)?:
            if op == "+" { return .int(x) }
            guard x != Int.min else { throw JinjaError.runtime("integer overflow in '-'") }
            return .int(-x)
        case .double(let x)?:
            return .double(op == "+" ? x : -x)
        case nil:
            throw JinjaError.runtime("bad operand type for unary \(op): '\(value.typeName)'")
        }
    }

    /// `a op b`.
    static func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        switch op {
        case "==": return .bool(a.pythonEquals(b))
        case "!=": return .bool(!a.pythonEquals(b))
        case "<": return .bool(try a.pythonCompare(b) < 0)
        case "<=": return .bool(try a.pythonCompare(b) <= 0)
        case ">": return .bool(try a.pythonCompare(b) > 0)
        case ">=": return .bool(try a.pythonCompare(b) >= 0)
        case "in": return .bool(try b.pythonContains(a))
        case "not in": return .bool(!(try b.pythonContains(a)))
        case "~": return .string(a.pythonString + b.pythonString)
        default: break
        }
        try checkDefined(a)
        try checkDefined(b)
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .list(let x), .list(let y)): return .list(x + y)
        case ("+", .tuple(let x), .tuple(let y)): return .tuple(x + y)
        case ("*", .string(let text), _), ("*", _, .string(let text)):
            let count = try repetitions(op, a, b)
            let size = count.multipliedReportingOverflow(by: text.utf8.count)
            guard !size.overflow, size.partialValue <= maximumRepetition else {
                throw JinjaError.runtime("string repetition too large")
            }
            return .string(String(repeating: text, count: count))
        case ("*", .list(let items), _), ("*", _, .list(let items)):
            let count = try repetitions(op, a, b)
            let size = count.multipliedReportingOverflow(by: items.count)
            guard !size.overflow, size.partialValue <= maximumRepetition else {
                throw JinjaError.runtime("list repetition too large")
            }
            return .list(Array([[JinjaValue]](repeating: items, count: count).joined()))
        case ("%", .string, _):
            throw JinjaError.unsupported("chat template uses unsupported printf-style string formatting ('%')")
        default:
            break
        }
        guard let x = a.number, let y = b.number else {
            throw JinjaError.runtime("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
        }
        if case .int(let i) = x, case .int(let j) = y { return try integer(op, i, j) }
        return try float(op, x.double, y.double)
    }

    /// Throws the description of an `Undefined` operand.
    private static func checkDefined(_ value: JinjaValue) throws {
        if case .undefined(let description) = value { throw JinjaError.runtime(description) }
    }

    /// The count of a repetition (`"ab" * 3`): the integer operand, at least 0.
    private static func repetitions(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> Int {
        let count: JinjaNumber?
        switch a {
        case .string, .list: count = b.number
        default: count = a.number
        }
        guard case .int(let n)? = count else {
            throw JinjaError.runtime("can't multiply sequence by non-int of type '\(a.typeName)' and '\(b.typeName)'")
        }
        return max(0, n)
    }

    /// Integer arithmetic.
    private static func integer(_ op: String, _ x: Int, _ y: Int) throws -> JinjaValue {
        func checked(_ result: (partialValue: Int, overflow: Bool)) throws -> JinjaValue {
            guard !result.overflow else { throw JinjaError.runtime("integer overflow in '\(op)'") }
            return .int(result.partialValue)
        }
        switch op {
        case "+": return try checked(x.addingReportingOverflow(y))
        case "-": return try checked(x.subtractingReportingOverflow(y))
        case "*": return try checked(x.multipliedReportingOverflow(by: y))
        case "/":
            guard y != 0 else { throw JinjaError.runtime("division by zero") }
            return .double(Double(x) / Double(y))
        case "//", "%":
            guard y != 0 else { throw JinjaError.runtime("integer division or modulo by zero") }
            guard !(x == Int.min && y == -1) else { throw JinjaError.runtime("integer overflow in '\(op)'") }
            var quotient = x / y
            var remainder = x % y
            if remainder != 0 && ((remainder < 0) != (y < 0)) {
                quotient -= 1
                remainder += y
            }
            return .int(op == "//" ? quotient : remainder)
        case "**":
            guard y >= 0 else { return .double(pow(Double(x), Double(y))) }
            var result = 1
            var base = x
            var exponent = y
            while exponent > 0 {
                if exponent & 1 == 1 { result = try checkedInt(result.multipliedReportingOverflow(by: base), op) }
                exponent >>= 1
                if exponent > 0 { base = try checkedInt(base.multipliedReportingOverflow(by: base), op) }
            }
            return .int(result)
        default:
            throw JinjaError.unsupported("chat template uses unsupported operator '\(op)'")
        }
    }

    /// The value of an overflow-reporting operation, or an error.
    private static func checkedInt(_ result: (partialValue: Int, overflow: Bool), _ op: String) throws -> Int {
        guard !result.overflow else { throw JinjaError.runtime("integer overflow in '\(op)'") }
        return result.partialValue
    }

    /// Float arithmetic.
    private static func float(_ op: String, _ x: Double, _ y: Double) throws -> JinjaValue {
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/":
            guard y != 0 else { throw JinjaError.runtime("float division by zero") }
            return .double(x / y)
        case "//":
            guard y != 0 else { throw JinjaError.runtime("float floor division by zero") }
            return .double((x / y).rounded(.down))
        case "%":
            guard y != 0 else { throw JinjaError.runtime("float modulo by zero") }
            var remainder = fmod(x, y)
            if remainder != 0 && ((remainder < 0) != (y < 0)) { remainder += y }
            return .double(remainder)
        case "**":
            return .double(pow(x, y))
        default:
            throw JinjaError.unsupported("chat template uses unsupported operator '\(op)'")
        }
    }
}
