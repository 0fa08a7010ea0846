/// Builds the statement tree of a lexed template: `if`/`elif`/`else`, `for` (with `else`, an
/// inline `if` filter, `break`, `continue`), `set` (plain, namespace attribute, tuple, block),
/// `macro`, `call`, `filter`, `with`, and `transformers`' `generation` block. Other tags
/// (`include`, `import`, `extends`, `block`…) are refused as unsupported.
struct JinjaParser {
    /// The lexed template.
    private let segments: [JinjaSegment]
    /// The next segment's index.
    private var index = 0
    /// How many `for` loops enclose the current position (inside the current macro).
    private var loopDepth = 0
    /// How many blocks enclose the current position.
    private var blockDepth = 0

    /// Nesting of blocks beyond which a template is refused.
    static let maximumBlockDepth = 32

    /// Tags that end a block; met elsewhere, they are errors.
    private static let endTags: Set<String> = ["elif", "else", "endif", "endfor", "endset", "endmacro", "endcall",
                                               "endfilter", "endwith", "endgeneration", "endraw"]

    /// The statements of `segments`.
    static func parse(_ segments: [JinjaSegment]) throws -> [JinjaNode] {
        var parser = JinjaParser(segments: segments)
        let (nodes, _, _) = try parser.parseBody(until: [], opened: nil)
        return nodes
    }

    private init(segments: [JinjaSegment]) {
        self.segments = segments
    }

    /// Statements up to a tag named in `until` (returned with a parser for the rest of that tag),
    /// or to the end of the template when `until` is empty.
    private mutating func parseBody(until: Set<String>, opened: (tag: String, line: Int)?) throws
        -> ([JinjaNode], String?, JinjaExpressionParser?) {
        blockDepth += 1
        defer { blockDepth -= 1 }
        guard blockDepth <= Self.maximumBlockDepth else {
            throw JinjaError.syntax("blocks nested too deeply", line: opened?.line)
        }
        var nodes = [JinjaNode]()
        while index < segments.count {
            let segment = segments[index]
            index += 1
            switch segment {
            case .text(let text):
                nodes.append(.text(text))
            case .output(let tokens, let line):
                var parser = JinjaExpressionParser(tokens: tokens, line: line)
                let expression = try parser.parseTuple()
                try parser.expectEnd()
                nodes.append(.output(expression, line: line))
            case .statement(let tokens, let line):
                var parser = JinjaExpressionParser(tokens: tokens, line: line)
                guard case .name(let keyword)? = parser.current?.kind else {
                    throw JinjaError.syntax("a tag '{% %}' must start with a tag name", line: line)
                }
                parser.advance()
                if until.contains(keyword) { return (nodes, keyword, parser) }
                if Self.endTags.contains(keyword) {
                    let context = opened.map { " (expected the end of '{% \($0.tag) %}' from line \($0.line))" } ?? ""
                    throw JinjaError.syntax("unexpected '{% \(keyword) %}'\(context)", line: line)
                }
                nodes.append(try parseStatement(keyword, &parser, line: line))
            }
        }
        if let opened {
            let expected = until.sorted().map { "'\($0)'" }.joined(separator: " or ")
            throw JinjaError.syntax("unexpected end of template: '{% \(opened.tag) %}' opened on line \(opened.line) "
                                    + "is never closed (expected \(expected))", line: opened.line)
        }
        return (nodes, nil, nil)
    }

    /// A body that must end with `end` (nothing else in that tag).
    private mutating func parseBlock(_ end: String, opened: (tag: String, line: Int)) throws -> [JinjaNode] {
        let (body, _, parser) = try parseBody(until: [end], opened: opened)
        try parser?.expectEnd()
        return body
    }

    /// One statement after its tag name.
    private mutating func parseStatement(_ keyword: String, _ parser: inout JinjaExpressionParser, line: Int) throws
        -> JinjaNode {
        switch keyword {
        case "if": return try parseIf(&parser, line: line)
        case "for": return try parseFor(&parser, line: line)
        case "set": return try parseSet(&parser, line: line)
        case "macro": return try parseMacro(&parser, line: line)
        case "call": return try parseCall(&parser, line: line)
        case "filter":
            let filters = try parseFilterChain(&parser, first: true)
            try parser.expectEnd()
            return .filterBlock(filters, body: try parseBlock("endfilter", opened: ("filter", line)))
        case "with":
            var assignments = [(name: String, value: JinjaExpression)]()
            while !parser.isAtEnd {
                if !assignments.isEmpty { try parser.expect(op: ",") }
                let name = try parser.expectName()
                try parser.expect(op: "=")
                assignments.append((name, try parser.parseExpression()))
            }
            return .with(assignments, body: try parseBlock("endwith", opened: ("with", line)))
        case "generation":
            try parser.expectEnd()
            return .generation(try parseBlock("endgeneration", opened: ("generation", line)))
        case "break", "continue":
            try parser.expectEnd()
            guard loopDepth > 0 else { throw JinjaError.syntax("'{% \(keyword) %}' outside a for loop", line: line) }
            return keyword == "break" ? .breakLoop : .continueLoop
        default:
            throw JinjaError.unsupported("chat template uses unsupported tag '{% \(keyword) %}'", line: line)
        }
    }

    /// `{% if %}` with its `elif` and `else` branches.
    private mutating func parseIf(_ parser: inout JinjaExpressionParser, line: Int) throws -> JinjaNode {
        var branches = [(condition: JinjaExpression, body: [JinjaNode])]()
        var condition = try parser.parseTuple(conditional: false)
        try parser.expectEnd()
        while true {
            let (body, end, rest) = try parseBody(until: ["elif", "else", "endif"], opened: ("if", line))
            branches.append((condition, body))
            guard var rest else { return .branch(branches, otherwise: []) }
            switch end {
            case "elif":
                condition = try rest.parseTuple(conditional: false)
                try rest.expectEnd()
            case "else":
                try rest.expectEnd()
                return .branch(branches, otherwise: try parseBlock("endif", opened: ("if", line)))
            default:
                try rest.expectEnd()
                return .branch(branches, otherwise: [])
            }
        }
    }

    /// `{% for target in iterable [if filter] %}` with its `else` body.
    private mutating func parseFor(_ parser: inout JinjaExpressionParser, line: Int) throws -> JinjaNode {
        let target = try parseTarget(&parser, endNames: ["in"], allowAttribute: false)
        guard parser.skip(name: "in") else { throw parser.unexpected(expected: "'in'") }
        let iterable = try parser.parseTuple(conditional: false, endNames: ["recursive"])
        let filter = parser.skip(name: "if") ? try parser.parseExpression() : nil
        if parser.current?.isName("recursive") == true {
            throw JinjaError.unsupported("chat template uses an unsupported recursive for loop", line: line)
        }
        try parser.expectEnd()
        loopDepth += 1
        let (body, end, rest) = try parseBody(until: ["else", "endfor"], opened: ("for", line))
        loopDepth -= 1
        try rest?.expectEnd()
        let otherwise = end == "else" ? try parseBlock("endfor", opened: ("for", line)) : []
        return .loop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: line)
    }

    /// `{% set target = value %}` or `{% set name | filters %}…{% endset %}`.
    private mutating func parseSet(_ parser: inout JinjaExpressionParser, line: Int) throws -> JinjaNode {
        let target = try parseTarget(&parser, endNames: [], allowAttribute: true)
        if parser.skip(op: "=") {
            let value = try parser.parseTuple()
            try parser.expectEnd()
            return .assign(target, value, line: line)
        }
        guard case .name(let name) = target else { throw parser.unexpected(expected: "'='") }
        let filters = parser.current?.isOp("|") == true ? try parseFilterChain(&parser, first: false) : []
        try parser.expectEnd()
        return .assignBlock(name, body: try parseBlock("endset", opened: ("set", line)), filters: filters)
    }

    /// An assignment target: a name, `ns.attr`, or names separated by commas.
    private func parseTarget(_ parser: inout JinjaExpressionParser, endNames: Set<String>, allowAttribute: Bool) throws
        -> JinjaTarget {
        let parenthesized = parser.skip(op: "(")
        var names = [try parser.expectName()]
        if allowAttribute && !parenthesized && parser.skip(op: ".") {
            return .attribute(names[0], try parser.expectName())
        }
        while parser.skip(op: ",") {
            if let token = parser.current, case .name(let name) = token.kind, endNames.contains(name) { break }
            if parser.current?.isOp(")") == true { break }
            names.append(try parser.expectName())
        }
        if parenthesized { try parser.expect(op: ")") }
        return names.count == 1 && !parenthesized ? .name(names[0]) : .names(names)
    }

    /// Parameters `(a, b=default)` of a macro or call block.
    private func parseParameters(_ parser: inout JinjaExpressionParser) throws
        -> [(name: String, defaultValue: JinjaExpression?)] {
        var parameters = [(name: String, defaultValue: JinjaExpression?)]()
        try parser.expect(op: "(")
        while !parser.skip(op: ")") {
            if !parameters.isEmpty { try parser.expect(op: ",") }
            if parser.skip(op: ")") { break }
            let name = try parser.expectName()
            parameters.append((name, parser.skip(op: "=") ? try parser.parseExpression() : nil))
        }
        return parameters
    }

    /// `{% macro name(parameters) %}…{% endmacro %}`.
    private mutating func parseMacro(_ parser: inout JinjaExpressionParser, line: Int) throws -> JinjaNode {
        let name = try parser.expectName()
        let parameters = try parseParameters(&parser)
        try parser.expectEnd()
        let outerLoops = loopDepth
        loopDepth = 0
        defer { loopDepth = outerLoops }
        let body = try parseBlock("endmacro", opened: ("macro", line))
        return .macro(name: name, parameters: parameters, body: body)
    }

    /// `{% call(parameters) macro(arguments) %}…{% endcall %}`.
    private mutating func parseCall(_ parser: inout JinjaExpressionParser, line: Int) throws -> JinjaNode {
        let parameters = parser.current?.isOp("(") == true ? try parseParameters(&parser) : []
        let call = try parser.parseExpression()
        guard case .call = call else { throw JinjaError.syntax("'{% call %}' needs a macro call", line: line) }
        try parser.expectEnd()
        let outerLoops = loopDepth
        loopDepth = 0
        defer { loopDepth = outerLoops }
        let body = try parseBlock("endcall", opened: ("call", line))
        return .callBlock(call, parameters: parameters, body: body, line: line)
    }

    /// `name(args) | name2 …` of a filter block or block set (`first`: no leading `|`).
    private func parseFilterChain(_ parser: inout JinjaExpressionParser, first: Bool) throws
        -> [(name: String, arguments: [JinjaArgument], line: Int)] {
        var filters = [(name: String, arguments: [JinjaArgument], line: Int)]()
        var needsBar = !first
        repeat {
            if needsBar { try parser.expect(op: "|") }
            needsBar = true
            let line = parser.currentLine
            var name = try parser.expectName()
            while parser.skip(op: ".") { name += "." + (try parser.expectName()) }
            filters.append((name, parser.skip(op: "(") ? try parser.parseArguments() : [], line))
        } while parser.current?.isOp("|") == true
        return filters
    }
}
