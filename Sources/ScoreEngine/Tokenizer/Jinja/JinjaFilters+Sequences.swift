/// Filters over sequences: `map`, `select`, `reject`, `selectattr`, `rejectattr`, `sort`,
/// `unique`, `min`, `max`, `sum`, `dictsort`.
extension JinjaFilters {
    /// Applies one of the sequence filters.
    static func sequenceFilter(_ name: String, _ value: JinjaValue, _ positional: [JinjaValue],
                               _ keywords: [(String, JinjaValue)], renderer: JinjaRenderer) throws -> JinjaValue {
        let owner = "filter '\(name)'"
        switch name {
        case "map":
            let items = try value.iterated()
            if let attribute = keywords.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = keywords.first { $0.0 == "default" }?.1
                return .list(try items.map { item in
                    let found = try lookup(item, attribute)
                    if found.isUndefined, let fallback { return fallback }
                    return found
                })
            }
            guard case .string(let filter)? = positional.first else {
                throw JinjaError.runtime("\(owner) needs a filter name or attribute=")
            }
            let rest = Array(positional.dropFirst())
            return .list(try items.map { try apply(filter, to: $0, rest, keywords, renderer: renderer) })
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            var rest = positional
            var attribute: JinjaValue?
            if byAttribute {
                guard !rest.isEmpty else { throw JinjaError.runtime("\(owner) needs an attribute") }
                attribute = rest.removeFirst()
            }
            var test: String?
            if !rest.isEmpty {
                guard case .string(let testName) = rest.removeFirst() else {
                    throw JinjaError.runtime("\(owner) needs a test name")
                }
                test = testName
            }
            let keep = name.hasPrefix("select")
            return .list(try value.iterated().filter { item in
                let subject = try attribute.map { try lookup(item, $0) } ?? item
                let passed = try test.map { try JinjaPredicates.test($0, subject, rest, keywords, renderer: renderer) }
                    ?? subject.truthy
                return passed == keep
            })
        case "sort", "unique", "min", "max":
            let args = try JinjaArguments(owner, positional, keywords,
                                          names: name == "sort" ? ["reverse", "case_sensitive", "attribute"]
                                              : ["case_sensitive", "attribute"])
            let caseSensitive = args.bool("case_sensitive", false)
            let attribute = args["attribute"]
            let items = try value.iterated()
            func key(_ item: JinjaValue) throws -> JinjaValue {
                let subject = try attribute.map { try lookup(item, $0) } ?? item
                if !caseSensitive, case .string(let text) = subject { return .string(text.lowercased()) }
                return subject
            }
            let keyed = try items.map { (item: $0, key: try key($0)) }
            switch name {
            case "sort":
                let reverse = args.bool("reverse", false)
                let sorted = try stableSorted(keyed) { a, b in
                    let order = try a.key.pythonCompare(b.key)
                    return reverse ? order > 0 : order < 0
                }
                return .list(sorted.map(\.item))
            case "unique":
                var seen = [JinjaValue]()
                var out = [JinjaValue]()
                for entry in keyed where !seen.contains(where: { $0.pythonEquals(entry.key) }) {
                    seen.append(entry.key)
                    out.append(entry.item)
                }
                return .list(out)
            default:
                guard var best = keyed.first else {
                    return .undefined(description: "No aggregated item, sequence was empty.")
                }
                for entry in keyed.dropFirst() {
                    let order = try entry.key.pythonCompare(best.key)
                    if name == "min" ? order < 0 : order > 0 { best = entry }
                }
                return best.item
            }
        case "sum":
            let args = try JinjaArguments(owner, positional, keywords, names: ["attribute", "start"])
            var total = args["start"] ?? .int(0)
            for item in try value.iterated() {
                total = try JinjaOperators.binary("+", total, try args["attribute"].map { try lookup(item, $0) } ?? item)
            }
            return total
        case "dictsort":
            let args = try JinjaArguments(owner, positional, keywords, names: ["case_sensitive", "by", "reverse"])
            guard case .dict(let dict) = value else { throw JinjaError.runtime("\(owner) needs a dict") }
            let byValue = try args.string("by", "key") == "value"
            let caseSensitive = args.bool("case_sensitive", false)
            let reverse = args.bool("reverse", false)
            func key(_ value: JinjaValue) -> JinjaValue {
                if !caseSensitive, case .string(let text) = value { return .string(text.lowercased()) }
                return value
            }
            let entries = dict.entries.map { (item: JinjaValue.tuple([.string($0.key), $0.value]),
                                              key: key(byValue ? $0.value : .string($0.key))) }
            let sorted = try stableSorted(entries) { try reverse ? $0.key.pythonCompare($1.key) > 0 : $0.key.pythonCompare($1.key) < 0 }
            return .list(sorted.map(\.item))
        default:
            throw JinjaError.unsupported("chat template uses unsupported filter '\(name)'")
        }
    }

    /// A stable sort with a throwing comparison (insertion sort on small inputs, merge sort
    /// otherwise), as Python's `sorted` is stable.
    private static func stableSorted<T>(_ items: [T], by less: (T, T) throws -> Bool) throws -> [T] {
        guard items.count > 1 else { return items }
        let middle = items.count / 2
        let left = try stableSorted(Array(items[..<middle]), by: less)
        let right = try stableSorted(Array(items[middle...]), by: less)
        var out = [T]()
        out.reserveCapacity(items.count)
        var i = 0, j = 0
        while i < left.count && j < right.count {
            if try less(right[j], left[i]) {
                out.append(right[j])
                j += 1
            } else {
                out.append(left[i])
                i += 1
            }
        }
        out += left[i...]
        out += right[j...]
        return out
    }
}
