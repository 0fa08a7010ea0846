/// The parts of a Jinja chat template that recognising its family needs, without running it:
/// the string literals inside `{{ … }}` and `{% … %}` tags (unescaped, in order), the code of
/// those tags, and the text outside them (which Jinja writes as is). Comments (`{# … #}`) are
/// dropped.
struct ChatTemplateSource {
    /// The string literals of the tags, with escapes resolved, in source order.
    private(set) var literals = [String]()
    /// The code inside the tags (string literals included as written), tags separated by a
    /// line break.
    private(set) var code = ""
    /// The text outside the tags.
    private(set) var text = ""

    /// Scans `source`.
    init(_ source: String) {
        let chars = Array(source)
        var i = 0
        while i < chars.count {
            if chars[i] == "{", i + 1 < chars.count, chars[i + 1] == "{" || chars[i + 1] == "%" || chars[i + 1] == "#" {
                let close: Character = chars[i + 1] == "{" ? "}" : chars[i + 1]
                i = chars[i + 1] == "#" ? Self.skipComment(chars, from: i + 2) : scanTag(chars, from: i + 2, closing: close)
            } else {
                text.append(chars[i])
                i += 1
            }
        }
    }

    /// Everything a template can write literally: its string literals and its text.
    var writtenText: String { literals.joined(separator: "\u{0}") + "\u{0}" + text }

    /// Reads a tag's code up to `closing` followed by `}`, collecting its string literals;
    /// returns the index after the tag.
    private mutating func scanTag(_ chars: [Character], from start: Int, closing: Character) -> Int {
        var i = start
        while i < chars.count {
            let c = chars[i]
            if c == closing, i + 1 < chars.count, chars[i + 1] == "}" {
                code.append("\n")
                return i + 2
            }
            if c == "'" || c == "\"" {
                let (literal, end) = Self.literal(chars, from: i + 1, quote: c)
                literals.append(literal)
                code += String(chars[i..<min(end, chars.count)])
                i = end
                continue
            }
            code.append(c)
            i += 1
        }
        return i
    }

    /// The index after a comment's `#}`.
    private static func skipComment(_ chars: [Character], from start: Int) -> Int {
        var i = start
        while i + 1 < chars.count, !(chars[i] == "#" && chars[i + 1] == "}") { i += 1 }
        return min(i + 2, chars.count)
    }

    /// A string literal starting after its opening `quote`, unescaped as Jinja does (Python's
    /// `unicode-escape` for `\n`, `\t`, `\r`, `\\`, quotes, `\xHH`, `\uHHHH`, `\UHHHHHHHH`;
    /// a line break inside the literal is written as is), and the index after its closing quote.
    private static func literal(_ chars: [Character], from start: Int, quote: Character) -> (String, Int) {
        var out = ""
        var i = start
        while i < chars.count {
            let c = chars[i]
            if c == quote { return (out, i + 1) }
            guard c == "\\", i + 1 < chars.count else {
                out.append(c == "\r\n" ? "\n" : c)
                i += 1
                continue
            }
            let next = chars[i + 1]
            i += 2
            switch next {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "\\", "'", "\"": out.append(next)
            case "x", "u", "U":
                let digits = next == "x" ? 2 : next == "u" ? 4 : 8
                let hex = String(chars[i..<min(i + digits, chars.count)])
                if hex.count == digits, let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) {
                    out.unicodeScalars.append(scalar)
                    i += digits
                } else {
                    out += "\\\(next)"
                }
            default:
                out += "\\\(next)"
            }
        }
        return (out, i)
    }
}
