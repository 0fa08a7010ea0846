import Foundation

/// JSON text written by hand where the exact bytes matter (safetensors headers, the Jinja
/// `tojson` filter).
enum JSONText {
    /// A JSON string literal as Python's `json` writes it: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`,
    /// `\f`, other control characters as `\u00XX`, everything else as is (or `\uXXXX`, with
    /// surrogate pairs, when `ensureASCII`).
    static func quoted(_ text: String, ensureASCII: Bool = false) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) {
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        out += String(format: "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                    } else {
                        out += String(format: "\\u%04x", scalar.value)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
