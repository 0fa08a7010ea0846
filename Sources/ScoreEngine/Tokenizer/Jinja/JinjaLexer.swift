/// One token of the code inside a `{{ … }}` or `{% … %}` tag.
struct JinjaToken: Equatable {
    /// What the token is.
    enum Kind: Equatable {
        /// A name (variable, keyword, filter, test).
        case name(String)
        /// A string literal, escapes resolved.
        case string(String)
        /// An integer literal.
        case integer(Int)
        /// A float literal.
        case float(Double)
        /// An operator or punctuation (`+`, `//`, `==`, `(`, `|`, `.`…).
        case op(String)
    }

    /// What the token is.
    let kind: Kind
    /// The line it starts on (1-based).
    let line: Int

    /// Whether the token is the name `name`.
    func isName(_ name: String) -> Bool { kind == .name(name) }
    /// Whether the token is the operator `op`.
    func isOp(_ op: String) -> Bool { kind == .op(op) }
}

/// A stretch of a lexed template: text to write, or a tag's tokens.
enum JinjaSegment {
    /// Text written as is (whitespace control already applied).
    case text(String)
    /// The tokens of a `{{ … }}` tag.
    case output([JinjaToken], line: Int)
    /// The tokens of a `{% … %}` tag.
    case statement([JinjaToken], line: Int)
}

/// Cuts a Jinja template into text and tags the way Jinja's lexer does in the environment
/// `transformers` renders chat templates with (`trim_blocks=True`, `lstrip_blocks=True`):
///
/// - line breaks (`\r\n`, `\r`) become `\n`, and one trailing line break of the source is dropped;
/// - `{%-`, `{{-`, `{#-` strip the whitespace before the tag, `-%}`, `-}}`, `-#}` the whitespace
///   after it;
/// - `trim_blocks`: the first line break after a `%}` or `#}` is dropped (not after `+%}`);
/// - `lstrip_blocks`: whitespace from the start of a line to a `{%` or `{#` is dropped (not
///   before `{%+`);
/// - comments are dropped, `{% raw %}…{% endraw %}` is text.
struct JinjaLexer {
    /// The source as code points (Python indexes strings by code point).
    let source: [Unicode.Scalar]
    /// Where the scan is.
    var position = 0
    /// The current line.
    var line = 1
    /// Whether the last tag ended a line (Jinja's `line_starting`), which lets `lstrip_blocks`
    /// strip the indentation of the next tag.
    private var lineStarting = true
    /// Segments so far.
    private var segments = [JinjaSegment]()

    /// Nesting of brackets inside one tag beyond which the lexer refuses the template.
    static let maximumBracketDepth = 64

    /// Lexes `text`.
    static func segments(of text: String) throws -> [JinjaSegment] {
        var lexer = JinjaLexer(source: normalized(text))
        try lexer.run()
        return lexer.segments
    }

    private init(source: [Unicode.Scalar]) {
        self.source = source
    }

    /// Line breaks as `\n`, without the one trailing line break Jinja drops.
    private static func normalized(_ text: String) -> [Unicode.Scalar] {
        var out = [Unicode.Scalar]()
        out.reserveCapacity(text.unicodeScalars.count)
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\r" {
                out.append("\n")
                previousCR = true
                continue
            }
            if scalar == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            out.append(scalar)
        }
        if out.last == "\n" { out.removeLast() }
        return out
    }

    /// Python's `str.isspace()`, which Jinja's `\s` matches.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        ChatTemplate.isPythonWhitespace(scalar)
    }

    /// The scalar at `index`, or nil past the end.
    func at(_ index: Int) -> Unicode.Scalar? {
        index >= 0 && index < source.count ? source[index] : nil
    }

    /// Whether `text` starts at `index`.
    func matches(_ text: String, at index: Int) -> Bool {
        var i = index
        for scalar in text.unicodeScalars {
            guard at(i) == scalar else { return false }
            i += 1
        }
        return true
    }

    /// Counts the line breaks in `source[range]`.
    private func lineBreaks(_ range: Range<Int>) -> Int {
        source[range].reduce(0) { $0 + ($1 == "\n" ? 1 : 0) }
    }

    /// The scan: text up to each tag, then the tag.
    private mutating func run() throws {
        while position < source.count {
            guard let start = nextTagStart(from: position) else {
                appendText(source[position...])
                position = source.count
                break
            }
            let opener = source[start + 1]
            let sign = at(start + 2)
            var text = Array(source[position..<start])
            line += lineBreaks(position..<start)
            if sign == "-" {
                while let last = text.last, Self.isWhitespace(last) { text.removeLast() }
            } else if sign != "+" && opener != "{" {
                stripIndentation(&text)
            }
            appendText(text[...])
            position = start + 2 + (sign == "-" || sign == "+" ? 1 : 0)
            switch opener {
            case "#": try skipComment(openedAt: line)
            case "%":
                if try !rawBlock(openedAt: line) { try tag(closing: "%", openedAt: line) }
            default: try tag(closing: "}", openedAt: line)
            }
        }
    }

    /// `lstrip_blocks`: drops the whitespace between the last line start and a block tag when
    /// there is nothing else.
    private func stripIndentation(_ text: inout [Unicode.Scalar]) {
        let lineStart = (text.lastIndex(of: "\n") ?? -1) + 1
        guard lineStart > 0 || lineStarting, lineStart < text.count,
              text[lineStart...].allSatisfy(Self.isWhitespace) else { return }
        text.removeSubrange(lineStart...)
    }

    /// The index of the next `{{`, `{%` or `{#` at or after `index`.
    private func nextTagStart(from index: Int) -> Int? {
        var i = index
        while i + 1 < source.count {
            if source[i] == "{", source[i + 1] == "{" || source[i + 1] == "%" || source[i + 1] == "#" { return i }
            i += 1
        }
        return nil
    }

    /// Appends text, merging with text before it.
    private mutating func appendText(_ text: ArraySlice<Unicode.Scalar>) {
        guard !text.isEmpty else { return }
        var string = String()
        string.unicodeScalars.append(contentsOf: text)
        if case .text(let previous)? = segments.last {
            segments[segments.count - 1] = .text(previous + string)
        } else {
            segments.append(.text(string))
        }
    }

    /// Skips a comment up to its `#}` (with its whitespace control).
    private mutating func skipComment(openedAt openLine: Int) throws {
        var i = position
        while i + 1 < source.count, !(source[i] == "#" && source[i + 1] == "}") { i += 1 }
        guard i + 1 < source.count else {
            throw JinjaError.syntax("missing end of comment tag '#}' (comment opened on line \(openLine))", line: openLine)
        }
        let sign = i > position ? source[i - 1] : nil
        line += lineBreaks(position..<i)
        position = i + 2
        finishTag(sign: sign, trims: true)
    }

    /// After a tag's closing delimiter: `-` strips the whitespace after it, otherwise (unless
    /// `+`) `trim_blocks` drops one line break after block tags and comments.
    private mutating func finishTag(sign: Unicode.Scalar?, trims: Bool) {
        var endsLine = false
        if sign == "-" {
            while let next = at(position), Self.isWhitespace(next) {
                if next == "\n" { line += 1 }
                endsLine = next == "\n"
                position += 1
            }
        } else if sign != "+" && trims && at(position) == "\n" {
            position += 1
            line += 1
            endsLine = true
        }
        lineStarting = endsLine
    }

    /// `{% raw %}…{% endraw %}` as text; false (nothing consumed) when the tag is not `raw`.
    private mutating func rawBlock(openedAt openLine: Int) throws -> Bool {
        var i = position
        while let c = at(i), Self.isWhitespace(c) { i += 1 }
        guard matches("raw", at: i) else { return false }
        i += 3
        while let c = at(i), Self.isWhitespace(c) { i += 1 }
        if matches("-%}", at: i) {
            i += 3
            while let c = at(i), Self.isWhitespace(c) { i += 1 }
        } else if matches("%}", at: i) {
            i += 2
        } else {
            return false
        }
        line += lineBreaks(position..<i)
        // Find {%[-+]? endraw (-)?%}.
        var j = i
        while j + 1 < source.count {
            if source[j] == "{" && source[j + 1] == "%" {
                var k = j + 2
                let sign = at(k)
                if sign == "-" || sign == "+" { k += 1 }
                while let c = at(k), Self.isWhitespace(c) { k += 1 }
                if matches("endraw", at: k) {
                    k += 6
                    while let c = at(k), Self.isWhitespace(c) { k += 1 }
                    let endSign = at(k)
                    if endSign == "-" || endSign == "+" { k += 1 }
                    if matches("%}", at: k) {
                        var text = Array(source[i..<j])
                        if sign == "-" {
                            while let last = text.last, Self.isWhitespace(last) { text.removeLast() }
                        } else if sign != "+" {
                            stripIndentation(&text)
                        }
                        appendText(text[...])
                        line += lineBreaks(i..<(k + 2))
                        position = k + 2
                        finishTag(sign: endSign == "-" || endSign == "+" ? endSign : nil, trims: true)
                        return true
                    }
                }
            }
            j += 1
        }
        throw JinjaError.syntax("missing end of raw directive '{% endraw %}' (opened on line \(openLine))", line: openLine)
    }

    /// Lexes a tag's code up to its closing delimiter (`%}` or `}}`) outside brackets.
    private mutating func tag(closing: Unicode.Scalar, openedAt openLine: Int) throws {
        var tokens = [JinjaToken]()
        var brackets = [Unicode.Scalar]()
        let name = closing == "%" ? "{%" : "{{"
        while true {
            guard let c = at(position) else {
                throw JinjaError.syntax("unexpected end of template: tag '\(name)' opened on line \(openLine) is never closed",
                                        line: openLine)
            }
            if brackets.isEmpty {
                if closing == "%" {
                    if matches("+%}", at: position) || matches("-%}", at: position) {
                        position += 3
                        finishTag(sign: c, trims: true)
                        break
                    }
                    if matches("%}", at: position) {
                        position += 2
                        finishTag(sign: nil, trims: true)
                        break
                    }
                } else {
                    if matches("-}}", at: position) {
                        position += 3
                        finishTag(sign: "-", trims: false)
                        break
                    }
                    if matches("}}", at: position) {
                        position += 2
                        finishTag(sign: nil, trims: false)
                        break
                    }
                }
            }
            if Self.isWhitespace(c) {
                if c == "\n" { line += 1 }
                position += 1
                continue
            }
            let tokenLine = line
            if c == "'" || c == "\"" {
                tokens.append(JinjaToken(kind: .string(try stringLiteral(quote: c)), line: tokenLine))
            } else if ("0"..."9").contains(c) {
                tokens.append(JinjaToken(kind: try number(), line: tokenLine))
            } else if c == "_" || c.properties.isAlphabetic {
                let start = position
                while let next = at(position), next == "_" || next.properties.isAlphabetic || ("0"..."9").contains(next) {
                    position += 1
                }
                var word = String()
                word.unicodeScalars.append(contentsOf: source[start..<position])
                tokens.append(JinjaToken(kind: .name(word), line: tokenLine))
            } else {
                let op = try operatorToken()
                switch op {
                case "(", "[", "{":
                    guard brackets.count < Self.maximumBracketDepth else {
                        throw JinjaError.syntax("brackets nested too deeply", line: tokenLine)
                    }
                    brackets.append(op == "(" ? ")" : op == "[" ? "]" : "}")
                case ")", "]", "}":
                    guard let expected = brackets.popLast() else {
                        throw JinjaError.syntax("unexpected '\(op)'", line: tokenLine)
                    }
                    guard String(expected) == op else {
                        throw JinjaError.syntax("unexpected '\(op)', expected '\(expected)'", line: tokenLine)
                    }
                default: break
                }
                tokens.append(JinjaToken(kind: .op(op), line: tokenLine))
            }
        }
        segments.append(closing == "%" ? .statement(tokens, line: openLine) : .output(tokens, line: openLine))
    }
}
