/// Levenshtein distance between token sequences: how much a second attempt rewrote the first.
public enum EditDistance {
    /// The minimum number of single-element insertions, deletions and substitutions turning `a`
    /// into `b`. O(n·m) time and O(min(n, m)) memory (one row over the shorter sequence, after
    /// dropping the common prefix and suffix).
    ///
    ///     levenshtein(Array("kitten".utf8), Array("sitting".utf8)) == 3
    public static func levenshtein<Element: Equatable>(_ a: [Element], _ b: [Element]) -> Int {
        var low = 0
        var highA = a.count, highB = b.count
        while low < highA, low < highB, a[low] == b[low] { low += 1 }
        while highA > low, highB > low, a[highA - 1] == b[highB - 1] { highA -= 1; highB -= 1 }
        let trimmedA = a[low..<highA], trimmedB = b[low..<highB]
        let (long, short) = trimmedA.count >= trimmedB.count ? (trimmedA, trimmedB) : (trimmedB, trimmedA)
        if short.isEmpty { return long.count }

        // row[j] = distance between the first i elements of `long` and the first j of `short`.
        var row = Array(0...short.count)
        for (i, longElement) in long.enumerated() {
            var diagonal = row[0]
            row[0] = i + 1
            for (j, shortElement) in short.enumerated() {
                let substitution = diagonal + (longElement == shortElement ? 0 : 1)
                diagonal = row[j + 1]
                row[j + 1] = min(substitution, diagonal + 1, row[j] + 1)
            }
        }
        return row[short.count]
    }

    /// `levenshtein(a, b) / (a.count + b.count)`, in [0, 1]: 0 for identical sequences (and when
    /// both are empty), 0.5 for equal-length sequences that differ at every position, 1 when
    /// exactly one is empty.
    public static func ratio<Element: Equatable>(_ a: [Element], _ b: [Element]) -> Double {
        let total = a.count + b.count
        return total == 0 ? 0 : Double(levenshtein(a, b)) / Double(total)
    }
}
