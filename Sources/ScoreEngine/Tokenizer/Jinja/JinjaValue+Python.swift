import Foundation

/// Python's text forms, equality and ordering for template values, as Jinja renders and
/// compares them.
extension JinjaValue {
    /// Python's `str(x)`: what `{{ x }}` writes. `Undefined` is empty, `None` is "None",
    /// booleans "True"/"False", floats in Python's shortest form, containers as their `repr`.
    var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let text): return text
        default: return pythonRepr
        }
    }

    /// Python's `repr(x)`: strings quoted, containers with their items' `repr`.
    var pythonRepr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let value): return value ? "True" : "False"
        case .int(let value): return String(value)
        case .double(let value): return Self.pythonFloat(value)
        case .string(let text): return Self.pythonQuoted(text)
        case .list(let items): return "[" + items.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .tuple(let items):
            return items.count == 1 ? "(\(items[0].pythonRepr),)" : "(" + items.map(\.pythonRepr).joined(separator: ", ") + ")"
        case .dict(let dict):
            return "{" + dict.entries.map { Self.pythonQuoted($0.key) + ": " + $0.value.pythonRepr }.joined(separator: ", ") + "}"
        case .namespace(let namespace): return "<Namespace \(JinjaValue.dict(namespace.attributes).pythonRepr)>"
        case .loop: return "<LoopContext>"
        case .callable(let callable):
            switch callable {
            case .global(let name): return "<function \(name)>"
            case .method(_, let name): return "<bound method \(name)>"
            case .macro(let macro): return "<Macro '\(macro.name)'>"
            }
        }
    }

    /// Python's `repr` of a string: single quotes unless the text holds a single quote and no
    /// double quote; backslash, quote and control characters escaped.
    static func pythonQuoted(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\x%02x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(quote)
        return out
    }

    /// Python's `repr(float)`: the shortest digits that read back to the same value, written in
    /// positional notation when the decimal exponent is in -4…15 ("1e-05", "0.0001",
    /// "1000000000000000.0", "1e+16"), with ".0" on whole numbers.
    static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        // Swift's description gives the same shortest round-trip digits; only the layout differs.
        var text = value.description
        var sign = ""
        if text.hasPrefix("-") {
            sign = "-"
            text.removeFirst()
        }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts.first.map(String.init) ?? "0"
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = whole + fraction
        // The value is 0.digits × 10^point.
        var point = whole.count + exponent
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        if digits == "0" { return sign + "0.0" }
        if point > -4 && point <= 16 {
            if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
            if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) + ".0" }
            let cut = digits.index(digits.startIndex, offsetBy: point)
            return sign + digits[..<cut] + "." + digits[cut...]
        }
        let mantissa = digits.count == 1 ? digits : String(digits.prefix(1)) + "." + digits.dropFirst()
        let power = point - 1
        let powerText = String(abs(power))
        return sign + mantissa + "e" + (power < 0 ? "-" : "+") + (powerText.count < 2 ? "0" + powerText : powerText)
    }

    /// Python's `==`: numbers by value (`True == 1`, `1 == 1.0`), strings, lists and tuples
    /// item by item (a list never equals a tuple), dicts by entries; two `Undefined` are equal.
    func pythonEquals(_ other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pythonEquals($1) }
        case (.dict(let a), .dict(let b)):
            return a.count == b.count && a.entries.allSatisfy { entry in b[entry.key].map { entry.value.pythonEquals($0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        default:
            guard let a = number, let b = other.number else { return false }
            switch (a, b) {
            case (.int(let x), .int(let y)): return x == y
            default: return a.double == b.double
            }
        }
    }

    /// Python's ordering (`<`) of numbers, strings (by code point) and lists or tuples (item by
    /// item); -1, 0 or 1. Other pairs are a type error, as in Python.
    func pythonCompare(_ other: JinjaValue) throws -> Int {
        switch (self, other) {
        case (.string(let a), .string(let b)):
            for (x, y) in zip(a.unicodeScalars, b.unicodeScalars) where x != y { return x.value < y.value ? -1 : 1 }
            let (m, n) = (a.unicodeScalars.count, b.unicodeScalars.count)
            return m == n ? 0 : (m < n ? -1 : 1)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            for (x, y) in zip(a, b) where !x.pythonEquals(y) { return try x.pythonCompare(y) }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        default:
            guard let a = number, let b = other.number else {
                if case .undefined(let description) = self { throw JinjaError.runtime(description) }
                if case .undefined(let description) = other { throw JinjaError.runtime(description) }
                throw JinjaError.runtime("'<' not supported between instances of '\(typeName)' and '\(other.typeName)'")
            }
            switch (a, b) {
            case (.int(let x), .int(let y)): return x == y ? 0 : (x < y ? -1 : 1)
            default:
                let (x, y) = (a.double, b.double)
                return x == y ? 0 : (x < y ? -1 : 1)
            }
        }
    }

    /// Python's `a in b`: a substring, a list or tuple item, a dict key. Nothing is in
    /// `Undefined`.
    func pythonContains(_ item: JinjaValue) throws -> Bool {
        switch self {
        case .undefined: return false
        case .string(let text):
            guard case .string(let part) = item else {
                throw JinjaError.runtime("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return PythonText.contains(text, part)
        case .list(let items), .tuple(let items): return items.contains { $0.pythonEquals(item) }
        case .dict(let dict):
            guard case .string(let key) = item else { return false }
            return dict[key] != nil
        default:
            throw JinjaError.runtime("argument of type '\(typeName)' is not iterable")
        }
    }
}
