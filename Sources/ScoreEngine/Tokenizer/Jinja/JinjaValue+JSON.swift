import Foundation

/// JSON out: `tojson` as `transformers` defines it (Python's `json.dumps` with
/// `ensure_ascii=False`), and values made from parsed JSON.
extension JinjaValue {
    /// Options of `json.dumps` that `tojson` passes on.
    struct JSONStyle {
        /// The indentation of one level; nil writes everything on one line.
        var indent: String?
        /// Between items (default ", " on one line, "," when indented).
        var itemSeparator: String?
        /// Between a key and its value (default ": ").
        var keySeparator: String?
        /// Whether dict keys are sorted.
        var sortKeys = false
        /// Whether non-ASCII characters are escaped as `\uXXXX`.
        var ensureASCII = false
    }

    /// The value as `json.dumps` writes it. Throws for values JSON cannot hold (`Undefined`,
    /// namespaces, callables).
    func json(_ style: JSONStyle = JSONStyle(), depth: Int = 0) throws -> String {
        guard depth < 64 else { throw JinjaError.runtime("tojson: value nested too deeply") }
        let itemSeparator = style.itemSeparator ?? (style.indent == nil ? ", " : ",")
        let keySeparator = style.keySeparator ?? ": "
        func wrap(_ open: String, _ close: String, _ items: [String]) -> String {
            guard !items.isEmpty else { return open + close }
            guard let indent = style.indent else { return open + items.joined(separator: itemSeparator) + close }
            let inner = "\n" + String(repeating: indent, count: depth + 1)
            let outer = "\n" + String(repeating: indent, count: depth)
            return open + inner + items.joined(separator: itemSeparator + inner) + outer + close
        }
        switch self {
        case .none: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value):
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
            return Self.pythonFloat(value)
        case .string(let text): return JSONText.quoted(text, ensureASCII: style.ensureASCII)
        case .list(let items), .tuple(let items):
            return wrap("[", "]", try items.map { try $0.json(style, depth: depth + 1) })
        case .dict(let dict):
            var entries = dict.entries
            if style.sortKeys {
                entries.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) { $0.value < $1.value } }
            }
            return wrap("{", "}", try entries.map {
                JSONText.quoted($0.key, ensureASCII: style.ensureASCII) + keySeparator + (try $0.value.json(style, depth: depth + 1))
            })
        case .undefined, .namespace, .loop, .callable:
            throw JinjaError.runtime("tojson: Object of type \(typeName) is not JSON serializable")
        }
    }
}
