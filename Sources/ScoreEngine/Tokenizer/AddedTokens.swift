/// One entry of a tokenizer.json's `added_tokens`: a string that, when found in the text, becomes
/// one id without going through BPE.
struct AddedToken: Sendable, Equatable {
    /// Its id.
    var id: Int
    /// The text it stands for.
    var content: String
    /// A control token (BOS, end of turn…); only recognised when special tokens are parsed.
    var special: Bool
    /// Only matched when not inside a word (no `\w` character touching either end).
    var singleWord: Bool
    /// A match also takes the whitespace before it.
    var lstrip: Bool
    /// A match also takes the whitespace after it.
    var rstrip: Bool
    /// Matched in the normalized text (second pass) rather than in the raw text (first pass).
    var normalized: Bool
}

/// A stretch of text after added tokens are cut out: plain text (a byte range) or one token.
enum AddedTokenSegment: Equatable {
    case text(Range<Int>)
    case token(Int)
}

/// Finds added tokens in text as the `tokenizers` library does: scanning left to right, the
/// leftmost match wins and, among matches starting there, the longest; matches do not overlap,
/// and a match that is then discarded (a special token when special tokens are not parsed, or a
/// `single_word` token inside a word) still hides whatever starts inside it.
struct AddedTokenMatcher: Sendable {
    /// The tokens this matcher looks for.
    private let tokens: [AddedToken]
    /// The bytes each token is matched as.
    private let patterns: [[UInt8]]
    /// Token indices by the first byte of their pattern, longest pattern first.
    private let byFirstByte: [[Int]]

    /// A matcher for `tokens`, matched as the given byte strings (their content, normalized
    /// where the normalizer applies to them).
    init(tokens: [AddedToken], patterns: [[UInt8]]) {
        self.tokens = tokens
        self.patterns = patterns
        var table = [[Int]](repeating: [], count: 256)
        for index in patterns.indices where !patterns[index].isEmpty {
            table[Int(patterns[index][0])].append(index)
        }
        byFirstByte = table.map { list in list.sorted { patterns[$0].count > patterns[$1].count } }
    }

    /// Whether there is nothing to look for.
    var isEmpty: Bool { tokens.isEmpty }

    /// Cuts `bytes[range]` into text and added tokens, appending the segments in order; empty
    /// text segments are left out. Special tokens are only matched if `parseSpecial`.
    func segments(of bytes: [UInt8], _ range: Range<Int>, parseSpecial: Bool, into segments: inout [AddedTokenSegment]) {
        guard !isEmpty else {
            if !range.isEmpty { segments.append(.text(range)) }
            return
        }
        var textStart = range.lowerBound
        var position = range.lowerBound
        while position < range.upperBound {
            guard let index = longestMatch(in: bytes, at: position, before: range.upperBound) else {
                position += 1
                continue
            }
            let token = tokens[index]
            var start = position
            var stop = position + patterns[index].count
            position = stop
            if token.special && !parseSpecial { continue }
            if token.singleWord {
                let wordBefore = start > range.lowerBound && Self.isWordCharacter(Self.scalar(in: bytes, before: start))
                let wordAfter = stop < range.upperBound && Self.isWordCharacter(Self.scalar(in: bytes, at: stop))
                if wordBefore || wordAfter { continue }
            }
            if token.lstrip {
                var newStart = start
                while newStart > range.lowerBound {
                    let (scalar, scalarStart) = Self.scalarAndStart(in: bytes, before: newStart)
                    guard scalar.properties.isWhitespace else { break }
                    newStart = scalarStart
                }
                // Whitespace a previous match already took stays with it.
                start = max(newStart, textStart)
            }
            if token.rstrip {
                while stop < range.upperBound {
                    let scalar = Self.scalar(in: bytes, at: stop)
                    guard scalar.properties.isWhitespace else { break }
                    stop += scalar.utf8.count
                }
            }
            if textStart < start { segments.append(.text(textStart..<start)) }
            segments.append(.token(token.id))
            textStart = stop
        }
        if textStart < range.upperBound { segments.append(.text(textStart..<range.upperBound)) }
    }

    /// The index of the longest token whose pattern starts at `position` and ends by `end`.
    private func longestMatch(in bytes: [UInt8], at position: Int, before end: Int) -> Int? {
        let candidates = byFirstByte[Int(bytes[position])]
        if candidates.isEmpty { return nil }
        for index in candidates {
            let pattern = patterns[index]
            guard position + pattern.count <= end else { continue }
            var offset = 1
            while offset < pattern.count && bytes[position + offset] == pattern[offset] { offset += 1 }
            if offset == pattern.count { return index }
        }
        return nil
    }

    /// `\w` as the Rust `regex` crate defines it: Alphabetic, a mark, a decimal digit, connector
    /// punctuation or Join_Control.
    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isAlphabetic || properties.isJoinControl { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            return true
        default:
            return false
        }
    }

    /// The scalar that starts at byte `position` of valid UTF-8.
    private static func scalar(in bytes: [UInt8], at position: Int) -> Unicode.Scalar {
        let lead = UInt32(bytes[position])
        let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        var value = length == 1 ? lead : lead & (0x7F >> UInt32(length))
        for offset in 1..<length { value = value << 6 | (UInt32(bytes[position + offset]) & 0x3F) }
        return Unicode.Scalar(value) ?? "\u{FFFD}"
    }

    /// The scalar that ends just before byte `end` of valid UTF-8.
    private static func scalar(in bytes: [UInt8], before end: Int) -> Unicode.Scalar {
        scalarAndStart(in: bytes, before: end).0
    }

    /// The scalar that ends just before byte `end`, and the byte where it starts.
    private static func scalarAndStart(in bytes: [UInt8], before end: Int) -> (Unicode.Scalar, Int) {
        var start = end - 1
        while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        return (scalar(in: bytes, at: start), start)
    }
}
