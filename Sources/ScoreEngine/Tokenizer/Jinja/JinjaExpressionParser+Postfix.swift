/// Primaries (literals, names, brackets), their postfixes (attributes, subscripts, slices,
/// calls) and the filters and tests after them.
extension JinjaExpressionParser {
    /// A literal, a name, a parenthesized expression, a list or a dict.
    mutating func parsePrimary() throws -> JinjaExpression {
        guard let token = current else { throw unexpected(expected: "an expression") }
        switch token.kind {
        case .name(let name):
            advance()
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name, line: token.line)
            }
        case .string(var text):
            advance()
            // Adjacent string literals are joined, as in Python.
            while case .string(let more)? = current?.kind {
                text += more
                advance()
            }
            return .literal(.string(text))
        case .integer(let value):
            advance()
            return .literal(.int(value))
        case .float(let value):
            advance()
            return .literal(.double(value))
        case .op("("):
            advance()
            let inner = try parseTuple(parenthesized: true)
            try expect(op: ")")
            return inner
        case .op("["):
            advance()
            var items = [JinjaExpression]()
            while !skip(op: "]") {
                if !items.isEmpty { try expect(op: ",") }
                if skip(op: "]") { break }
                items.append(try built(try parseExpression()))
            }
            return .list(items)
        case .op("{"):
            advance()
            var entries = [(key: JinjaExpression, value: JinjaExpression)]()
            while !skip(op: "}") {
                if !entries.isEmpty { try expect(op: ",") }
                if skip(op: "}") { break }
                let key = try parseExpression()
                try expect(op: ":")
                entries.append((key, try built(try parseExpression())))
            }
            return .dict(entries)
        default:
            throw unexpected(expected: "an expression")
        }
    }

    /// Attributes (`.name`, `.0`), subscripts and slices, and calls after a primary.
    mutating func parsePostfix(_ start: JinjaExpression) throws -> JinjaExpression {
        var node = start
        while let token = current {
            if token.isOp(".") {
                advance()
                guard let next = current else { throw unexpected(expected: "an attribute name") }
                switch next.kind {
                case .name(let name):
                    advance()
                    node = try built(.attribute(node, name, line: next.line))
                case .integer(let value):
                    advance()
                    node = try built(.item(node, .literal(.int(value)), line: next.line))
                default:
                    throw unexpected(expected: "an attribute name")
                }
            } else if token.isOp("[") {
                advance()
                node = try built(try parseSubscript(node, line: token.line))
            } else if token.isOp("(") {
                advance()
                node = try built(.call(node, try parseArguments(), line: token.line))
            } else {
                break
            }
        }
        return node
    }

    /// The inside of `[…]` after `node`: an index, a slice `a:b:c`, or a tuple of indices.
    mutating func parseSubscript(_ node: JinjaExpression, line: Int) throws -> JinjaExpression {
        var bounds: [JinjaExpression?] = []
        var isSlice = false
        func bound(_ parser: inout JinjaExpressionParser) throws -> JinjaExpression? {
            guard let token = parser.current, !token.isOp(":"), !token.isOp("]") else { return nil }
            return try parser.parseExpression()
        }
        bounds.append(try bound(&self))
        if skip(op: ":") {
            isSlice = true
            bounds.append(try bound(&self))
            if skip(op: ":") { bounds.append(try bound(&self)) }
        }
        if !isSlice, current?.isOp(",") == true {
            var items = [bounds[0]].compactMap { $0 }
            while skip(op: ",") {
                if current?.isOp("]") == true { break }
                items.append(try parseExpression())
            }
            try expect(op: "]")
            return .item(node, .tuple(items), line: line)
        }
        try expect(op: "]")
        if isSlice {
            return .slice(node, start: bounds[0], stop: bounds.count > 1 ? bounds[1] : nil,
                          step: bounds.count > 2 ? bounds[2] : nil, line: line)
        }
        guard let index = bounds[0] else { throw JinjaError.syntax("empty subscript '[]'", line: line) }
        return .item(node, index, line: line)
    }

    /// Call arguments after `(`, through `)`: positional, then `name=value`.
    mutating func parseArguments() throws -> [JinjaArgument] {
        var arguments = [JinjaArgument]()
        while !skip(op: ")") {
            if !arguments.isEmpty { try expect(op: ",") }
            if skip(op: ")") { break }
            if let token = current, token.isOp("*") || token.isOp("**") {
                throw JinjaError.unsupported("chat template uses unsupported argument unpacking '\(token.isOp("*") ? "*" : "**")'",
                                             line: token.line)
            }
            if case .name(let name)? = current?.kind, following?.isOp("=") == true {
                index += 2
                arguments.append(JinjaArgument(name: name, value: try parseExpression()))
            } else {
                guard arguments.allSatisfy({ $0.name == nil }) else {
                    throw JinjaError.syntax("positional argument after a keyword argument", line: currentLine)
                }
                arguments.append(JinjaArgument(name: nil, value: try parseExpression()))
            }
        }
        return arguments
    }

    // MARK: Filters and tests

    /// Filters (`| name(args)`), tests (`is [not] name args`) and calls after a unary expression.
    mutating func parseFilters(_ start: JinjaExpression) throws -> JinjaExpression {
        var node = start
        while let token = current {
            if token.isOp("|") {
                advance()
                let (name, line) = try parseDottedName()
                let arguments = skip(op: "(") ? try parseArguments() : []
                node = try built(.filter(node, name: name, arguments, line: line))
            } else if token.isName("is") {
                advance()
                let negated = skip(name: "not")
                let (name, line) = try parseDottedName()
                var arguments = [JinjaArgument]()
                if skip(op: "(") {
                    arguments = try parseArguments()
                } else if let next = current, Self.startsTestArgument(next) {
                    arguments = [JinjaArgument(name: nil, value: try parsePostfix(try parsePrimary()))]
                }
                node = try built(.test(node, name: name, arguments, negated: negated, line: line))
            } else if token.isOp("(") {
                advance()
                node = try built(.call(node, try parseArguments(), line: token.line))
            } else {
                break
            }
        }
        return node
    }

    /// A filter or test name, possibly dotted.
    mutating func parseDottedName() throws -> (String, Int) {
        let line = currentLine
        var name = try expectName()
        while current?.isOp(".") == true, case .name(let part)? = following?.kind {
            index += 2
            name += "." + part
        }
        return (name, line)
    }

    /// Whether a test takes `token` as its one argument without parentheses (`is divisibleby 3`,
    /// `is sameas false`), as Jinja decides.
    static func startsTestArgument(_ token: JinjaToken) -> Bool {
        switch token.kind {
        case .name(let name): return !["else", "or", "and", "is", "if", "not", "in"].contains(name)
        case .string, .integer, .float: return true
        case .op(let op): return op == "(" || op == "[" || op == "{"
        }
    }
}
