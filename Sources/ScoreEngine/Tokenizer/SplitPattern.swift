/// A regular expression of a `Split` pre-tokenizer (or the one built into `ByteLevel`), matched
/// by a hand-written scanner that reproduces the regex exactly: at each position the first
/// alternative that matches wins, quantifiers are greedy, and `\s+(?!\S)` gives back the last
/// whitespace character when a non-space follows. Only these known patterns are supported.
enum SplitPattern: Sendable, Equatable {
    /// GPT-2's pattern, also built into the `ByteLevel` pre-tokenizer (GPT-2, SmolLM):
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Llama-3's pattern: case-insensitive contractions, letters with one leading non-letter,
    /// digits in groups of up to three, punctuation with trailing newlines, newline runs.
    case llama3
    /// Qwen2's pattern: Llama-3's with single digits.
    case qwen2
    /// The `Digits` pre-tokenizer with `individual_digits` (SmolLM, StarCoder): each numeric
    /// character (`\p{N}`) alone.
    case digits

    /// The regex sources, exactly as tokenizer.json files write them.
    static let sources: [(SplitPattern, String)] = [
        (.gpt2, #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#),
        (.llama3, #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#),
        (.qwen2, #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#),
    ]

    /// The pattern with this exact regex source, if it is a known one.
    init?(regex: String) {
        guard let known = Self.sources.first(where: { $0.1 == regex }) else { return nil }
        self = known.0
    }

    /// Splits the text into the pattern's matches and the stretches between them (the
    /// `Isolated` behaviour), appending the byte ranges of the non-empty pieces to `pieces`.
    func split(_ text: ScalarText, into pieces: inout [Range<Int>]) {
        var start = 0
        var gapStart = 0
        while start < text.count {
            guard let end = matchEnd(in: text, at: start) else {
                start += 1
                continue
            }
            if gapStart < start { pieces.append(text.offsets[gapStart]..<text.offsets[start]) }
            pieces.append(text.offsets[start]..<text.offsets[end])
            start = end
            gapStart = end
        }
        if gapStart < text.count { pieces.append(text.offsets[gapStart]..<text.offsets[text.count]) }
    }

    /// The end (scalar index) of the match that starts at `start`, or nil if none does.
    func matchEnd(in text: ScalarText, at start: Int) -> Int? {
        switch self {
        case .gpt2: return gpt2MatchEnd(text, start)
        case .llama3: return llamaMatchEnd(text, start, maxDigits: 3)
        case .qwen2: return llamaMatchEnd(text, start, maxDigits: 1)
        case .digits: return text.classes[start] & ScalarText.number != 0 ? start + 1 : nil
        }
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    private func gpt2MatchEnd(_ text: ScalarText, _ start: Int) -> Int? {
        let count = text.count
        if let end = contractionEnd(text, start, foldCase: false) { return end }
        // ` ?X+` for X in letters, numbers, other: the optional space is taken when X follows.
        var first = start
        if text.scalars[start] == 0x20 && start + 1 < count
            && text.classes[start + 1] & ScalarText.whitespace == 0 {
            first = start + 1
        }
        let kind = text.classes[first]
        if kind & ScalarText.letter != 0 { return run(text, from: first, ScalarText.letter) }
        if kind & ScalarText.number != 0 { return run(text, from: first, ScalarText.number) }
        if kind & ScalarText.whitespace == 0 { return otherRun(text, from: first) }
        return whitespaceEnd(text, start)
    }

    /// Llama-3 and Qwen2: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    private func llamaMatchEnd(_ text: ScalarText, _ start: Int, maxDigits: Int) -> Int? {
        let count = text.count
        if let end = contractionEnd(text, start, foldCase: true) { return end }
        let kind = text.classes[start]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if kind & ScalarText.letter != 0 { return run(text, from: start, ScalarText.letter) }
        if kind & (ScalarText.newline | ScalarText.number) == 0 && start + 1 < count
            && text.classes[start + 1] & ScalarText.letter != 0 {
            return run(text, from: start + 1, ScalarText.letter)
        }
        // \p{N}{1,k}
        if kind & ScalarText.number != 0 {
            return min(run(text, from: start, ScalarText.number), start + maxDigits)
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var first = start
        if text.scalars[start] == 0x20 && start + 1 < count && text.classes[start + 1] == 0 { first = start + 1 }
        if text.classes[first] == 0 {
            var end = otherRun(text, from: first)
            while end < count && text.classes[end] & ScalarText.newline != 0 { end += 1 }
            return end
        }
        // Only whitespace is left. `\s*[\r\n]+`: the longest whitespace run that ends in a newline.
        let runEnd = run(text, from: start, ScalarText.whitespace)
        var position = runEnd - 1
        while position >= start {
            if text.classes[position] & ScalarText.newline != 0 { return position + 1 }
            position -= 1
        }
        return whitespaceEnd(text, start)
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `start` (ASCII apostrophe), case-insensitively if asked.
    /// Case folding is Unicode's simple folding, under which `ſ` (U+017F) is an `s`.
    private func contractionEnd(_ text: ScalarText, _ start: Int, foldCase: Bool) -> Int? {
        let count = text.count
        guard text.scalars[start] == 0x27, start + 1 < count else { return nil }
        func letter(_ index: Int) -> UInt32 {
            let value = text.scalars[index]
            guard foldCase else { return value }
            if value >= 0x41 && value <= 0x5A { return value + 0x20 }
            return value == 0x17F ? 0x73 : value
        }
        switch letter(start + 1) {
        case 0x73, 0x74, 0x6D, 0x64:  // s t m d
            return start + 2
        case 0x72, 0x76:  // r v, then e
            return start + 2 < count && letter(start + 2) == 0x65 ? start + 3 : nil
        case 0x6C:  // l, then l
            return start + 2 < count && letter(start + 2) == 0x6C ? start + 3 : nil
        default:
            return nil
        }
    }

    /// `\s+(?!\S)|\s+` at whitespace: the whole run if it ends the text or is one character,
    /// otherwise all but its last character (which then goes with the word that follows).
    private func whitespaceEnd(_ text: ScalarText, _ start: Int) -> Int {
        let end = run(text, from: start, ScalarText.whitespace)
        return end == text.count || end - start == 1 ? end : end - 1
    }

    /// The end of the run of scalars having `bit`, from `start`.
    private func run(_ text: ScalarText, from start: Int, _ bit: UInt8) -> Int {
        var end = start
        while end < text.count && text.classes[end] & bit != 0 { end += 1 }
        return end
    }

    /// The end of the run of `[^\s\p{L}\p{N}]` scalars (no class bit set), from `start`.
    private func otherRun(_ text: ScalarText, from start: Int) -> Int {
        var end = start
        while end < text.count && text.classes[end] == 0 { end += 1 }
        return end
    }
}
