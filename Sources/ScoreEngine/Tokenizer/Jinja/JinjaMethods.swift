/// The Python methods templates call on values: string methods (`strip`, `split`,
/// `startswith`, `replace`…), dict methods (`get`, `items`, `keys`, `values`), list methods
/// (`count`, `index`) and `loop.cycle`. Methods that change a list or dict are refused, as
/// `transformers`' immutable sandbox refuses them.
enum JinjaMethods {
    /// String methods implemented.
    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
        "title", "capitalize", "swapcase", "casefold", "replace", "find", "rfind", "index", "rindex", "count", "join",
        "isdigit", "isnumeric", "isdecimal", "isalpha", "isalnum", "isspace", "isupper", "islower", "removeprefix",
        "removesuffix", "format",
    ]
    /// Dict methods (the mutating ones are looked up only to be refused).
    static let dictMethods: Set<String> = ["get", "items", "keys", "values", "copy", "pop", "update", "setdefault",
                                           "clear", "popitem"]
    /// List methods (the mutating ones are looked up only to be refused).
    static let listMethods: Set<String> = ["count", "index", "copy", "append", "extend", "insert", "pop", "remove",
                                           "sort", "reverse", "clear"]

    /// Calls the method `name` of `receiver`.
    static func call(_ name: String, on receiver: JinjaValue, _ positional: [JinjaValue],
                     _ keywords: [(String, JinjaValue)]) throws -> JinjaValue {
        switch receiver {
        case .string(let text): return try stringMethod(name, text, positional, keywords)
        case .dict(let dict): return try dictMethod(name, dict, positional, keywords)
        case .list(let items), .tuple(let items): return try listMethod(name, items, positional, keywords)
        case .loop(let loop):
            guard name == "cycle" else {
                throw JinjaError.unsupported("chat template uses unsupported 'loop.\(name)'")
            }
            guard !positional.isEmpty else { throw JinjaError.runtime("loop.cycle needs at least one value") }
            return positional[loop.index0 % positional.count]
        default:
            throw JinjaError.unsupported("chat template calls unsupported method '\(name)' on a \(receiver.typeName)")
        }
    }

    /// Methods of strings.
    private static func stringMethod(_ name: String, _ text: String, _ positional: [JinjaValue],
                                     _ keywords: [(String, JinjaValue)]) throws -> JinjaValue {
        let owner = "str.\(name)()"
        func arguments(_ names: [String]) throws -> JinjaArguments {
            try JinjaArguments(owner, positional, keywords, names: names)
        }
        func required(_ args: JinjaArguments, _ parameter: String) throws -> String {
            guard let value = try args.string(parameter) else { throw JinjaError.runtime("\(owner) needs '\(parameter)'") }
            return value
        }
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try arguments(["chars"]).string("chars")
            return .string(PythonText.strip(text, chars, leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            let args = try arguments(["sep", "maxsplit"])
            let separator = try args.string("sep")
            let maxSplit = try args.int("maxsplit") ?? -1
            let parts = name == "split" ? try PythonText.split(text, separator, maxSplit: maxSplit)
                : try PythonText.rsplit(text, separator, maxSplit: maxSplit)
            return .list(parts.map { .string($0) })
        case "splitlines":
            let keepEnds = try arguments(["keepends"]).bool("keepends", false)
            let breaks: Set<Unicode.Scalar> = ["\n", "\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}",
                                               "\u{2028}", "\u{2029}"]
            let scalars = PythonText.scalars(text)
            var lines = [JinjaValue]()
            var current = [Unicode.Scalar]()
            var index = 0
            while index < scalars.count {
                let scalar = scalars[index]
                index += 1
                guard breaks.contains(scalar) else {
                    current.append(scalar)
                    continue
                }
                var ending = [scalar]
                if scalar == "\r", index < scalars.count, scalars[index] == "\n" {
                    ending.append("\n")
                    index += 1
                }
                lines.append(.string(PythonText.string(keepEnds ? current + ending : current)))
                current = []
            }
            if !current.isEmpty { lines.append(.string(PythonText.string(current))) }
            return .list(lines)
        case "startswith", "endswith":
            let args = try arguments(["prefix", "start", "end"])
            guard let affix = args["prefix"] else { throw JinjaError.runtime("\(owner) needs an argument") }
            let candidates: [JinjaValue]
            switch affix {
            case .tuple(let items), .list(let items): candidates = items
            default: candidates = [affix]
            }
            let all = PythonText.scalars(text)
            let slice = JinjaValue.slice(all, try args.int("start"), try args.int("end"), 1)
            for candidate in candidates {
                guard case .string(let part) = candidate else {
                    throw JinjaError.runtime("\(owner) argument must be str or a tuple of str, not \(candidate.typeName)")
                }
                let needle = PythonText.scalars(part)
                let matches = name == "startswith" ? slice.starts(with: needle) : slice.reversed().starts(with: needle.reversed())
                if matches { return .bool(true) }
            }
            return .bool(false)
        case "upper": _ = try arguments([]); return .string(text.uppercased())
        case "lower": _ = try arguments([]); return .string(text.lowercased())
        case "casefold": _ = try arguments([]); return .string(text.lowercased())
        case "title": _ = try arguments([]); return .string(PythonText.title(text))
        case "capitalize": _ = try arguments([]); return .string(PythonText.capitalize(text))
        case "swapcase":
            _ = try arguments([])
            var out = ""
            for scalar in text.unicodeScalars {
                out += scalar.properties.isUppercase ? scalar.properties.lowercaseMapping
                    : scalar.properties.isLowercase ? scalar.properties.uppercaseMapping : String(scalar)
            }
            return .string(out)
        case "replace":
            let args = try arguments(["old", "new", "count"])
            return .string(PythonText.replace(text, try required(args, "old"), try required(args, "new"),
                                              count: try args.int("count") ?? -1))
        case "find", "index", "rfind", "rindex":
            let args = try arguments(["sub"])
            let needle = PythonText.scalars(try required(args, "sub"))
            let all = PythonText.scalars(text)
            let found = name.hasPrefix("r") ? PythonText.findLast(needle, in: all) : PythonText.find(needle, in: all)
            if found == nil && name.hasSuffix("index") { throw JinjaError.runtime("\(owner): substring not found") }
            return .int(found ?? -1)
        case "count":
            return .int(PythonText.count(text, try required(try arguments(["sub"]), "sub")))
        case "join":
            let items = try arguments(["iterable"])["iterable"]?.iterated() ?? []
            return .string(try items.map { item -> String in
                guard case .string(let part) = item else {
                    throw JinjaError.runtime("\(owner): expected str items, found \(item.typeName)")
                }
                return part
            }.joined(separator: text))
        case "isdigit", "isnumeric", "isdecimal":
            _ = try arguments([])
            return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha":
            _ = try arguments([])
            return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum":
            _ = try arguments([])
            return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace":
            _ = try arguments([])
            return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy(PythonText.isSpace))
        case "isupper", "islower":
            _ = try arguments([])
            let cased = text.unicodeScalars.filter(PythonText.isCased)
            let upper = name == "isupper"
            return .bool(!cased.isEmpty && cased.allSatisfy { upper ? !$0.properties.isLowercase : !$0.properties.isUppercase })
        case "removeprefix", "removesuffix":
            let affix = PythonText.scalars(try required(try arguments(["affix"]), "affix"))
            let all = PythonText.scalars(text)
            if name == "removeprefix", all.starts(with: affix) { return .string(PythonText.string(all.dropFirst(affix.count))) }
            if name == "removesuffix", !affix.isEmpty, all.reversed().starts(with: affix.reversed()) {
                return .string(PythonText.string(all.dropLast(affix.count)))
            }
            return .string(text)
        default:
            throw JinjaError.unsupported("chat template calls unsupported string method '\(name)'")
        }
    }

    /// Methods of dicts.
    private static func dictMethod(_ name: String, _ dict: JinjaDict, _ positional: [JinjaValue],
                                   _ keywords: [(String, JinjaValue)]) throws -> JinjaValue {
        let owner = "dict.\(name)()"
        switch name {
        case "get":
            let args = try JinjaArguments(owner, positional, keywords, names: ["key", "default"])
            guard let key = args["key"] else { throw JinjaError.runtime("\(owner) needs a key") }
            guard case .string(let text) = key else { return args["default"] ?? .none }
            return dict[text] ?? args["default"] ?? .none
        case "items":
            _ = try JinjaArguments(owner, positional, keywords, names: [])
            return .list(dict.entries.map { .tuple([.string($0.key), $0.value]) })
        case "keys":
            _ = try JinjaArguments(owner, positional, keywords, names: [])
            return .list(dict.keys.map { .string($0) })
        case "values":
            _ = try JinjaArguments(owner, positional, keywords, names: [])
            return .list(dict.entries.map(\.value))
        case "copy":
            return .dict(dict)
        default:
            throw JinjaError.unsupported("chat template calls '\(name)', which changes a dict (not allowed in chat templates)")
        }
    }

    /// Methods of lists and tuples.
    private static func listMethod(_ name: String, _ items: [JinjaValue], _ positional: [JinjaValue],
                                   _ keywords: [(String, JinjaValue)]) throws -> JinjaValue {
        let owner = "list.\(name)()"
        switch name {
        case "count":
            let args = try JinjaArguments(owner, positional, keywords, names: ["value"])
            let value = args["value"] ?? .undefinedName("value")
            return .int(items.filter { $0.pythonEquals(value) }.count)
        case "index":
            let args = try JinjaArguments(owner, positional, keywords, names: ["value"])
            let value = args["value"] ?? .undefinedName("value")
            guard let found = items.firstIndex(where: { $0.pythonEquals(value) }) else {
                throw JinjaError.runtime("\(owner): \(value.pythonRepr) is not in list")
            }
            return .int(found)
        case "copy":
            return .list(items)
        default:
            throw JinjaError.unsupported("chat template calls '\(name)', which changes a list (not allowed in chat templates)")
        }
    }
}
