/// Parses the expressions of one tag with Jinja's grammar and precedence (lowest first):
/// `x if c else y`, `or`, `and`, `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`,
/// unary `- +`, then filters (`|`), tests (`is`), calls, attributes and subscripts, which bind
/// tightest: `a + b | trim` trims `b` only.
struct JinjaExpressionParser {
    /// The tag's tokens.
    let tokens: [JinjaToken]
    /// The next token's index.
    var index = 0
    /// The tag's line, for errors at its end.
    private let line: Int
    /// Current recursion depth.
    var depth = 0
    /// Compound expressions built so far in this tag (bounds the depth of left-nested chains
    /// such as `a + b + c` or `x | f | g`, which the parser builds in loops).
    var built = 0

    /// Recursion beyond which an expression is refused (it would only come from a hostile
    /// template).
    static let maximumDepth = 64
    /// Most compound expressions in one tag.
    static let maximumNodes = 1000

    /// A parser over a tag's tokens.
    init(tokens: [JinjaToken], line: Int) {
        self.tokens = tokens
        self.line = line
    }

    /// The next token, if any.
    var current: JinjaToken? { index < tokens.count ? tokens[index] : nil }

    /// The token after the next one, if any.
    var following: JinjaToken? { index + 1 < tokens.count ? tokens[index + 1] : nil }

    /// Whether all tokens are used.
    var isAtEnd: Bool { index >= tokens.count }

    /// The line of the next token (or of the tag).
    var currentLine: Int { current?.line ?? tokens.last?.line ?? line }

    /// Consumes the next token.
    @discardableResult
    mutating func advance() -> JinjaToken? {
        defer { index += 1 }
        return current
    }

    /// Consumes the operator `op` if it is next.
    mutating func skip(op: String) -> Bool {
        guard current?.isOp(op) == true else { return false }
        index += 1
        return true
    }

    /// Consumes the name `name` if it is next.
    mutating func skip(name: String) -> Bool {
        guard current?.isName(name) == true else { return false }
        index += 1
        return true
    }

    /// Consumes the operator `op` or throws.
    mutating func expect(op: String) throws {
        guard skip(op: op) else { throw unexpected(expected: "'\(op)'") }
    }

    /// Consumes a name and returns it, or throws.
    mutating func expectName() throws -> String {
        guard case .name(let name)? = current?.kind else { throw unexpected(expected: "a name") }
        index += 1
        return name
    }

    /// Throws unless all tokens are used.
    func expectEnd() throws {
        guard isAtEnd else { throw unexpected(expected: "the end of the tag") }
    }

    /// A syntax error about the next token.
    func unexpected(expected: String) -> JinjaError {
        guard let token = current else {
            return .syntax("unexpected end of tag, expected \(expected)", line: currentLine)
        }
        return .syntax("unexpected \(Self.describe(token)), expected \(expected)", line: token.line)
    }

    /// A token as errors quote it.
    static func describe(_ token: JinjaToken) -> String {
        switch token.kind {
        case .name(let name): return "'\(name)'"
        case .string(let text): return "string \(JinjaValue.pythonQuoted(text))"
        case .integer(let value): return "number \(value)"
        case .float(let value): return "number \(JinjaValue.pythonFloat(value))"
        case .op(let op): return "'\(op)'"
        }
    }

    /// Counts one compound expression against `maximumNodes`; returns `node`.
    mutating func built(_ node: JinjaExpression) throws -> JinjaExpression {
        built += 1
        guard built <= Self.maximumNodes else { throw JinjaError.syntax("expression too long", line: currentLine) }
        return node
    }

    /// Guards recursion.
    mutating func enter() throws {
        depth += 1
        guard depth <= Self.maximumDepth else { throw JinjaError.syntax("expression nested too deeply", line: currentLine) }
    }

    // MARK: Tuples and expressions

    /// Expressions separated by commas: one expression, or a tuple when there is a comma.
    /// Stops before a name in `endNames` (`in` after for-loop targets).
    mutating func parseTuple(conditional: Bool = true, endNames: Set<String> = [], parenthesized: Bool = false) throws
        -> JinjaExpression {
        var items = [JinjaExpression]()
        var isTuple = false
        while true {
            if !items.isEmpty { try expect(op: ",") }
            if isTupleEnd(endNames) { break }
            items.append(conditional ? try parseExpression() : try parseOr())
            if current?.isOp(",") == true { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !parenthesized { throw unexpected(expected: "an expression") }
        }
        return .tuple(items)
    }

    /// Whether the next token ends a tuple.
    private func isTupleEnd(_ endNames: Set<String>) -> Bool {
        guard let token = current else { return true }
        if token.isOp(")") { return true }
        if case .name(let name) = token.kind { return endNames.contains(name) }
        return false
    }

    /// An expression, with `x if c else y`.
    mutating func parseExpression() throws -> JinjaExpression {
        try enter()
        defer { depth -= 1 }
        var expression = try parseOr()
        while skip(name: "if") {
            let condition = try parseOr()
            let otherwise = skip(name: "else") ? try parseExpression() : nil
            expression = try built(.conditional(expression, condition: condition, otherwise: otherwise))
        }
        return expression
    }

    /// `a or b`.
    mutating func parseOr() throws -> JinjaExpression {
        var left = try parseAnd()
        while skip(name: "or") { left = try built(.or(left, try parseAnd())) }
        return left
    }

    /// `a and b`.
    private mutating func parseAnd() throws -> JinjaExpression {
        var left = try parseNot()
        while skip(name: "and") { left = try built(.and(left, try parseNot())) }
        return left
    }

    /// `not a`.
    private mutating func parseNot() throws -> JinjaExpression {
        if skip(name: "not") {
            try enter()
            defer { depth -= 1 }
            return try built(.not(try parseNot()))
        }
        return try parseCompare()
    }

    /// Comparisons, `in` and `not in`; a chain `a < b < c` means `a < b and b < c`.
    private mutating func parseCompare() throws -> JinjaExpression {
        let first = try parseMath1()
        var operands = [first]
        var ops = [(String, Int)]()
        while let token = current {
            let line = token.line
            if case .op(let op) = token.kind, ["==", "!=", "<", "<=", ">", ">="].contains(op) {
                advance()
                ops.append((op, line))
            } else if skip(name: "in") {
                ops.append(("in", line))
            } else if token.isName("not"), following?.isName("in") == true {
                index += 2
                ops.append(("not in", line))
            } else {
                break
            }
            operands.append(try parseMath1())
        }
        guard !ops.isEmpty else { return first }
        var result: JinjaExpression?
        for (i, (op, line)) in ops.enumerated() {
            let comparison = JinjaExpression.binary(op, operands[i], operands[i + 1], line: line)
            result = try built(result.map { .and($0, comparison) } ?? comparison)
        }
        return result ?? first
    }

    /// `+` and `-`.
    private mutating func parseMath1() throws -> JinjaExpression {
        var left = try parseConcat()
        while let token = current, token.isOp("+") || token.isOp("-") {
            advance()
            guard case .op(let op) = token.kind else { break }
            left = try built(.binary(op, left, try parseConcat(), line: token.line))
        }
        return left
    }

    /// `~`.
    private mutating func parseConcat() throws -> JinjaExpression {
        var left = try parseMath2()
        while let token = current, token.isOp("~") {
            advance()
            left = try built(.binary("~", left, try parseMath2(), line: token.line))
        }
        return left
    }

    /// `*`, `/`, `//` and `%`.
    private mutating func parseMath2() throws -> JinjaExpression {
        var left = try parsePow()
        while let token = current, case .op(let op) = token.kind, ["*", "/", "//", "%"].contains(op) {
            advance()
            left = try built(.binary(op, left, try parsePow(), line: token.line))
        }
        return left
    }

    /// `**`.
    private mutating func parsePow() throws -> JinjaExpression {
        var left = try parseUnary()
        while let token = current, token.isOp("**") {
            advance()
            left = try built(.binary("**", left, try parseUnary(), line: token.line))
        }
        return left
    }

    /// Unary `-` and `+`, then a primary with its postfixes, filters and tests.
    private mutating func parseUnary(filters: Bool = true) throws -> JinjaExpression {
        try enter()
        defer { depth -= 1 }
        var node: JinjaExpression
        if let token = current, token.isOp("-") || token.isOp("+") {
            advance()
            guard case .op(let op) = token.kind else { throw unexpected(expected: "an expression") }
            node = try built(.unary(op, try parseUnary(filters: false), line: token.line))
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        return filters ? try parseFilters(node) : node
    }
}
