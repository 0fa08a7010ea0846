/// The literals and operators inside a tag: numbers, strings (with Python's escapes) and
/// Jinja's operators.
extension JinjaLexer {
    /// The operators Jinja knows, longest first where one is a prefix of another.
    static let operators = [
        "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".",
        ":", "|", ",", ";",
    ]

    /// Reads an operator.
    mutating func operatorToken() throws -> String {
        for op in Self.operators where matches(op, at: position) {
            position += op.unicodeScalars.count
            return op
        }
        let c = source[position]
        throw JinjaError.syntax("unexpected character '\(c)' in a tag", line: line)
    }

    /// Reads a number: an integer (decimal, `0x`, `0o`, `0b`, with `_` separators) or a float
    /// (`1.5`, `1e3`, `2.5E-3`).
    mutating func number() throws -> JinjaToken.Kind {
        let start = position
        func digits(_ valid: (Unicode.Scalar) -> Bool) -> String {
            var out = ""
            while let c = at(position), valid(c) || (c == "_" && at(position + 1).map(valid) == true) {
                if c != "_" { out.unicodeScalars.append(c) }
                position += 1
            }
            return out
        }
        let decimal: (Unicode.Scalar) -> Bool = { ("0"..."9").contains($0) }
        if source[start] == "0", let base = at(start + 1).map({ Character($0).lowercased() }), ["x", "o", "b"].contains(base) {
            position += 2
            let radix = base == "x" ? 16 : base == "o" ? 8 : 2
            let text = digits { Int(String($0), radix: radix) != nil }
            guard let value = Int(text, radix: radix) else { throw JinjaError.syntax("invalid number literal", line: line) }
            return .integer(value)
        }
        var text = digits(decimal)
        var isFloat = false
        let previousIsDot = start > 0 && source[start - 1] == "."
        if !previousIsDot, at(position) == ".", let next = at(position + 1), decimal(next) {
            position += 1
            text += "." + digits(decimal)
            isFloat = true
        }
        if !previousIsDot, let e = at(position), e == "e" || e == "E" {
            var k = position + 1
            if let s = at(k), s == "+" || s == "-" { k += 1 }
            if let d = at(k), decimal(d) {
                let signText = k > position + 1 ? String(source[position + 1]) : ""
                position = k
                text += "e" + signText + digits(decimal)
                isFloat = true
            }
        }
        if isFloat {
            guard let value = Double(text) else { throw JinjaError.syntax("invalid number literal \(text)", line: line) }
            return .float(value)
        }
        guard let value = Int(text) else { throw JinjaError.syntax("integer literal \(text) is too large", line: line) }
        return .integer(value)
    }

    /// Reads a string literal after its opening quote, resolving escapes as Python's
    /// `unicode-escape` codec does (which Jinja applies): `\n`, `\t`, `\r`, `\\`, quotes, `\a`,
    /// `\b`, `\f`, `\v`, octal, `\xHH`, `\uHHHH`, `\UHHHHHHHH`, and a backslash before a line
    /// break joins lines; an unknown escape keeps its backslash.
    mutating func stringLiteral(quote: Unicode.Scalar) throws -> String {
        let openLine = line
        position += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = at(position) else {
                throw JinjaError.syntax("unterminated string literal", line: openLine)
            }
            position += 1
            if c == quote { break }
            if c == "\n" { line += 1 }
            guard c == "\\" else {
                out.append(c)
                continue
            }
            guard let e = at(position) else { throw JinjaError.syntax("unterminated string literal", line: openLine) }
            position += 1
            switch e {
            case "\n": line += 1
            case "\\", "'", "\"": out.append(e)
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var value = e.value - 0x30
                var count = 1
                while count < 3, let d = at(position), ("0"..."7").contains(d) {
                    value = value * 8 + d.value - 0x30
                    position += 1
                    count += 1
                }
                guard let scalar = Unicode.Scalar(value) else { throw JinjaError.syntax("invalid octal escape", line: line) }
                out.append(scalar)
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                var hex = ""
                for _ in 0..<width {
                    guard let d = at(position), d.properties.isASCIIHexDigit else {
                        throw JinjaError.syntax("truncated \\\(e) escape in a string literal", line: line)
                    }
                    hex.unicodeScalars.append(d)
                    position += 1
                }
                guard let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) else {
                    throw JinjaError.syntax("invalid \\\(e) escape in a string literal", line: line)
                }
                out.append(scalar)
            case "N": throw JinjaError.unsupported("chat template uses an unsupported \\N{…} escape", line: line)
            default:
                out.append("\\")
                out.append(e)
            }
        }
        return String(out)
    }
}
