import Foundation

/// Jinja's filters as chat templates use them, with Jinja's own semantics (for example `trim`
/// and `upper` write `Undefined` as empty text, `length` counts it as 0, `int` falls back to 0),
/// and `tojson` as `transformers` replaces it (no HTML escaping; `indent`, `separators`,
/// `sort_keys`, `ensure_ascii`). An unknown filter is an error naming it.
enum JinjaFilters {
    /// The filters implemented (aliases included).
    static let names: Set<String> = [
        "abs", "attr", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
        "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr",
        "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim",
        "unique", "upper", "wordcount",
    ]

    /// Applies the filter `name` to `value`.
    static func apply(_ name: String, to value: JinjaValue, _ positional: [JinjaValue], _ keywords: [(String, JinjaValue)],
                      renderer: JinjaRenderer) throws -> JinjaValue {
        guard names.contains(name) else {
            throw JinjaError.unsupported("chat template uses unsupported filter '\(name)'")
        }
        // Filters that need a number or JSON refuse Undefined, as Jinja's do.
        if case .undefined(let description) = value, ["abs", "float", "int", "round", "tojson"].contains(name) {
            throw JinjaError.runtime(description)
        }
        let owner = "filter '\(name)'"
        func arguments(_ parameters: [String]) throws -> JinjaArguments {
            try JinjaArguments(owner, positional, keywords, names: parameters)
        }
        switch name {
        case "abs":
            _ = try arguments([])
            switch value.number {
            case .int(let x)?:
                guard x != Int.min else { throw JinjaError.runtime("integer overflow in abs") }
                return .int(abs(x))
            case .double(let x)?: return .double(abs(x))
            case nil: throw JinjaError.runtime("bad operand type for abs(): '\(value.typeName)'")
            }
        case "attr":
            guard let attribute = try arguments(["name"]).string("name") else { throw JinjaError.runtime("\(owner) needs a name") }
            return try value.attribute(attribute)
        case "capitalize":
            _ = try arguments([])
            return .string(PythonText.capitalize(value.pythonString))
        case "center":
            let width = try arguments(["width"]).int("width", 80) ?? 80
            let text = value.pythonString
            let count = text.unicodeScalars.count
            guard width > count else { return .string(text) }
            let total = width - count
            let left = total / 2 + (total & width & 1)
            return .string(String(repeating: " ", count: left) + text + String(repeating: " ", count: total - left))
        case "count", "length":
            _ = try arguments([])
            return .int(try value.length())
        case "d", "default":
            let args = try arguments(["default_value", "boolean"])
            let fallback = args["default_value"] ?? .string("")
            if value.isUndefined || (args.bool("boolean", false) && !value.truthy) { return fallback }
            return value
        case "e", "escape":
            _ = try arguments([])
            var out = ""
            for scalar in value.pythonString.unicodeScalars {
                switch scalar {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&#34;"
                case "'": out += "&#39;"
                default: out.unicodeScalars.append(scalar)
                }
            }
            return .string(out)
        case "first", "last":
            _ = try arguments([])
            let items = try value.iterated()
            let item = name == "first" ? items.first : items.last
            return item ?? .undefined(description: "No \(name) item, sequence was empty.")
        case "float":
            let fallback = try arguments(["default"])["default"] ?? .double(0)
            switch value {
            case .int(let x): return .double(Double(x))
            case .bool(let x): return .double(x ? 1 : 0)
            case .double: return value
            case .string(let text):
                return Double(PythonText.strip(text, nil, leading: true, trailing: true)).map { .double($0) } ?? fallback
            default: return fallback
            }
        case "int":
            let args = try arguments(["default", "base"])
            return integer(value, fallback: args["default"] ?? .int(0), base: try args.int("base") ?? 10)
        case "indent":
            let args = try arguments(["width", "first", "blank"])
            let indentation: String
            if case .string(let text)? = args["width"] { indentation = text } else {
                indentation = String(repeating: " ", count: max(0, try args.int("width") ?? 4))
            }
            return .string(indent(value.pythonString, indentation, first: args.bool("first", false),
                                  blank: args.bool("blank", false)))
        case "items":
            _ = try arguments([])
            if value.isUndefined { return .list([]) }
            guard case .dict(let dict) = value else { throw JinjaError.runtime("Can only get item pairs from a mapping.") }
            return .list(dict.entries.map { .tuple([.string($0.key), $0.value]) })
        case "join":
            let args = try arguments(["d", "attribute"])
            var items = try value.iterated()
            if let attribute = args["attribute"] { items = try items.map { try lookup($0, attribute) } }
            return .string(items.map(\.pythonString).joined(separator: try args.string("d", "") ?? ""))
        case "list":
            _ = try arguments([])
            return .list(try value.iterated())
        case "lower", "upper":
            _ = try arguments([])
            let text = value.pythonString
            return .string(name == "lower" ? text.lowercased() : text.uppercased())
        case "replace":
            let args = try arguments(["old", "new", "count"])
            guard let old = try args.string("old"), let new = try args.string("new") else {
                throw JinjaError.runtime("\(owner) needs the old and new text")
            }
            return .string(PythonText.replace(value.pythonString, old, new, count: try args.int("count") ?? -1))
        case "reverse":
            _ = try arguments([])
            if case .string(let text) = value { return .string(PythonText.string(text.unicodeScalars.reversed())) }
            return .list(try value.iterated().reversed())
        case "round":
            let args = try arguments(["precision", "method"])
            let precision = try args.int("precision", 0) ?? 0
            let method = try args.string("method", "common") ?? "common"
            guard let number = value.number else { throw JinjaError.runtime("\(owner) needs a number") }
            return .double(try round(number.double, precision: precision, method: method))
        case "safe":
            _ = try arguments([])
            return value
        case "string":
            _ = try arguments([])
            return .string(value.pythonString)
        case "title":
            _ = try arguments([])
            return .string(PythonText.jinjaTitle(value.pythonString))
        case "tojson":
            return .string(try toJSON(value, try arguments(["indent", "separators", "sort_keys", "ensure_ascii"])))
        case "trim":
            let chars = try arguments(["chars"]).string("chars")
            return .string(PythonText.strip(value.pythonString, chars, leading: true, trailing: true))
        case "wordcount":
            _ = try arguments([])
            var count = 0
            var inWord = false
            for scalar in value.pythonString.unicodeScalars {
                let word = scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                if word && !inWord { count += 1 }
                inWord = word
            }
            return .int(count)
        default:
            return try sequenceFilter(name, value, positional, keywords, renderer: renderer)
        }
    }

    /// Jinja's `int`: Python's `int()` of the value (a string in `base`), else of its float,
    /// else `fallback`.
    private static func integer(_ value: JinjaValue, fallback: JinjaValue, base: Int) -> JinjaValue {
        switch value {
        case .int, .bool: return .int(value.number.map { if case .int(let x) = $0 { return x } else { return 0 } } ?? 0)
        case .double(let x):
            guard x.isFinite, x > -9.2e18, x < 9.2e18 else { return fallback }
            return .int(Int(x))
        case .string(let text):
            let trimmed = PythonText.strip(text, nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
            if (2...36).contains(base), let number = Int(trimmed, radix: base) { return .int(number) }
            if let number = Double(trimmed), number.isFinite, number > -9.2e18, number < 9.2e18 { return .int(Int(number)) }
            return fallback
        default:
            return fallback
        }
    }

    /// Jinja's `indent`: every line but the first (and, with `first`, the first too) gets
    /// `indentation`; blank lines only with `blank`.
    private static func indent(_ text: String, _ indentation: String, first: Bool, blank: Bool) -> String {
        // Jinja appends a line break and splits lines, so a trailing break adds no indented line.
        var lines = (text + "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()
        var out: String
        if blank {
            out = lines.joined(separator: "\n" + indentation)
        } else {
            out = lines.first ?? ""
            let rest = lines.dropFirst().map { $0.isEmpty ? $0 : indentation + $0 }
            if !rest.isEmpty { out += "\n" + rest.joined(separator: "\n") }
        }
        return first ? indentation + out : out
    }

    /// Jinja's `round` (methods "common", which rounds half to even as Python's `round`, "floor", "ceil").
    private static func round(_ value: Double, precision: Int, method: String) throws -> Double {
        guard (-300...300).contains(precision) else { throw JinjaError.runtime("round: precision out of range") }
        let scale = Foundation.pow(10.0, Double(precision))
        switch method {
        case "common": return (value * scale).rounded(.toNearestOrEven) / scale
        case "floor": return (value * scale).rounded(.down) / scale
        case "ceil": return (value * scale).rounded(.up) / scale
        default: throw JinjaError.runtime("round: method must be 'common', 'ceil' or 'floor'")
        }
    }

    /// `transformers`' `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
    private static func toJSON(_ value: JinjaValue, _ args: JinjaArguments) throws -> String {
        var style = JinjaValue.JSONStyle()
        if let indent = args["indent"], !indent.isUndefined {
            switch indent {
            case .none: break
            case .string(let text): style.indent = text
            default: style.indent = String(repeating: " ", count: max(0, try args.int("indent") ?? 0))
            }
        }
        if let separators = args["separators"], case .list(let pair) = separators, pair.count == 2 {
            style.itemSeparator = pair[0].pythonString
            style.keySeparator = pair[1].pythonString
        } else if let separators = args["separators"], case .tuple(let pair) = separators, pair.count == 2 {
            style.itemSeparator = pair[0].pythonString
            style.keySeparator = pair[1].pythonString
        }
        style.sortKeys = args.bool("sort_keys", false)
        style.ensureASCII = args.bool("ensure_ascii", false)
        return try value.json(style)
    }

    /// An item's attribute for `attribute=` arguments: dotted names, integer parts as indices
    /// (Jinja's `make_attrgetter`).
    static func lookup(_ item: JinjaValue, _ attribute: JinjaValue) throws -> JinjaValue {
        if case .int = attribute { return try item.item(attribute) }
        var current = item
        for part in attribute.pythonString.split(separator: ".", omittingEmptySubsequences: false) {
            if current.isUndefined { return current }
            if let index = Int(part) {
                current = try current.item(.int(index))
            } else {
                current = try current.item(.string(String(part)))
            }
        }
        return current
    }
}
