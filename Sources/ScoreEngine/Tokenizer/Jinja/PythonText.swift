/// Python's string operations, by code point as Python counts them (Swift's `String` compares
/// and counts grapheme clusters, which would differ on combining marks).
enum PythonText {
    /// The code points of `text`.
    static func scalars(_ text: String) -> [Unicode.Scalar] {
        Array(text.unicodeScalars)
    }

    /// A string of code points.
    static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Python's `str.isspace()` for one code point.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        ChatTemplate.isPythonWhitespace(scalar)
    }

    /// The first index at or after `from` where `needle` occurs in `haystack`, or nil.
    static func find(_ needle: [Unicode.Scalar], in haystack: [Unicode.Scalar], from: Int = 0, to end: Int? = nil) -> Int? {
        let limit = min(end ?? haystack.count, haystack.count)
        guard from >= 0, needle.count <= limit - from else { return nil }
        if needle.isEmpty { return from }
        var i = from
        while i + needle.count <= limit {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// The last index where `needle` occurs in `haystack`, or nil.
    static func findLast(_ needle: [Unicode.Scalar], in haystack: [Unicode.Scalar]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var i = haystack.count - needle.count
        while i >= 0 {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
    }

    /// Whether `needle` occurs in `haystack`.
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        find(scalars(needle), in: scalars(haystack)) != nil
    }

    /// Python's `str.strip(chars)`, `lstrip`, `rstrip`: whitespace when `chars` is nil.
    static func strip(_ text: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let strips: (Unicode.Scalar) -> Bool = { set?.contains($0) ?? isSpace($0) }
        var items = scalars(text)[...]
        if leading { while let first = items.first, strips(first) { items.removeFirst() } }
        if trailing { while let last = items.last, strips(last) { items.removeLast() } }
        return string(items)
    }

    /// Python's `str.split(sep, maxsplit)`: on runs of whitespace (dropping empty parts) when
    /// `separator` is nil, else on each occurrence of it.
    static func split(_ text: String, _ separator: String?, maxSplit: Int = -1) throws -> [String] {
        let items = scalars(text)
        guard let separator else {
            var parts = [String]()
            var i = 0
            while i < items.count {
                while i < items.count && isSpace(items[i]) { i += 1 }
                guard i < items.count else { break }
                if maxSplit >= 0 && parts.count == maxSplit {
                    var rest = items[i...]
                    while let last = rest.last, isSpace(last) { rest.removeLast() }
                    parts.append(string(rest))
                    break
                }
                let start = i
                while i < items.count && !isSpace(items[i]) { i += 1 }
                parts.append(string(items[start..<i]))
            }
            return parts
        }
        let needle = scalars(separator)
        guard !needle.isEmpty else { throw JinjaError.runtime("split: empty separator") }
        var parts = [String]()
        var start = 0
        while maxSplit < 0 || parts.count < maxSplit, let found = find(needle, in: items, from: start) {
            parts.append(string(items[start..<found]))
            start = found + needle.count
        }
        parts.append(string(items[start...]))
        return parts
    }

    /// Python's `str.rsplit(sep, maxsplit)`.
    static func rsplit(_ text: String, _ separator: String?, maxSplit: Int = -1) throws -> [String] {
        guard maxSplit >= 0 else { return try split(text, separator) }
        let reversedText = string(scalars(text).reversed())
        let reversedSeparator = separator.map { string(scalars($0).reversed()) }
        return try split(reversedText, reversedSeparator, maxSplit: maxSplit).reversed().map { string(scalars($0).reversed()) }
    }

    /// Python's `str.replace(old, new, count)`; an empty `old` inserts `new` between code points.
    static func replace(_ text: String, _ old: String, _ new: String, count: Int = -1) -> String {
        let items = scalars(text)
        let needle = scalars(old)
        let insert = scalars(new)
        var out = [Unicode.Scalar]()
        var replaced = 0
        if needle.isEmpty {
            for item in items {
                if count < 0 || replaced < count {
                    out += insert
                    replaced += 1
                }
                out.append(item)
            }
            if count < 0 || replaced < count { out += insert }
            return string(out)
        }
        var i = 0
        while i < items.count {
            if count < 0 || replaced < count, let found = find(needle, in: items, from: i) {
                out += items[i..<found]
                out += insert
                i = found + needle.count
                replaced += 1
            } else {
                out += items[i...]
                break
            }
        }
        return string(out)
    }

    /// Number of non-overlapping occurrences of `needle`.
    static func count(_ text: String, _ needle: String) -> Int {
        let items = scalars(text)
        let part = scalars(needle)
        if part.isEmpty { return items.count + 1 }
        var total = 0
        var i = 0
        while let found = find(part, in: items, from: i) {
            total += 1
            i = found + part.count
        }
        return total
    }

    /// Whether a code point has case (is upper-, lower- or title-case), as Python's `title()` sees it.
    static func isCased(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isLowercase || scalar.properties.isUppercase || scalar.properties.generalCategory == .titlecaseLetter
    }

    /// Python's `str.title()`: each run of cased letters starts title-cased, the rest lower-cased.
    static func title(_ text: String) -> String {
        var out = ""
        var previousCased = false
        for scalar in text.unicodeScalars {
            if isCased(scalar) {
                out += previousCased ? scalar.properties.lowercaseMapping : scalar.properties.titlecaseMapping
                previousCased = true
            } else {
                out.unicodeScalars.append(scalar)
                previousCased = false
            }
        }
        return out
    }

    /// Python's `str.capitalize()`: the first code point title-cased, the rest lower-cased.
    static func capitalize(_ text: String) -> String {
        guard let first = text.unicodeScalars.first else { return "" }
        return first.properties.titlecaseMapping + string(text.unicodeScalars.dropFirst()).lowercased()
    }

    /// Jinja's `title` filter: words split at whitespace, `-`, and opening brackets, each
    /// with its first code point upper-cased and the rest lower-cased.
    static func jinjaTitle(_ text: String) -> String {
        var out = ""
        var atWordStart = true
        for scalar in text.unicodeScalars {
            if isSpace(scalar) || "-({[<".unicodeScalars.contains(scalar) {
                out.unicodeScalars.append(scalar)
                atWordStart = true
            } else if atWordStart {
                out += scalar.properties.uppercaseMapping
                atWordStart = false
            } else {
                out += scalar.properties.lowercaseMapping
            }
        }
        return out
    }
}
