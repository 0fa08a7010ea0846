import Foundation

/// How the built-in verifiers canonicalise answer text before comparing it. Steps run in this
/// order: trim, collapse whitespace, lowercase, strip one trailing period (then trim again).
///
///     AnswerNormalization().apply("  The   Answer.\n") == "the answer"
public struct AnswerNormalization: Codable, Sendable, Equatable {
    /// Remove leading and trailing whitespace and newlines.
    public var trimWhitespace: Bool
    /// Replace every run of internal whitespace (spaces, tabs, newlines) by one space.
    public var collapseWhitespace: Bool
    /// Compare case-insensitively (lowercase both sides).
    public var caseInsensitive: Bool
    /// Remove one trailing "." ("42." → "42", "etc.." → "etc.").
    public var stripTrailingPeriod: Bool

    /// Normalisation with every step on unless turned off.
    public init(trimWhitespace: Bool = true, collapseWhitespace: Bool = true, caseInsensitive: Bool = true,
                stripTrailingPeriod: Bool = true) {
        self.trimWhitespace = trimWhitespace
        self.collapseWhitespace = collapseWhitespace
        self.caseInsensitive = caseInsensitive
        self.stripTrailingPeriod = stripTrailingPeriod
    }

    /// `text` with the enabled steps applied.
    public func apply(_ text: String) -> String {
        var result = text
        if trimWhitespace { result = result.trimmingCharacters(in: .whitespacesAndNewlines) }
        if collapseWhitespace { result = Self.collapsingWhitespace(result) }
        if caseInsensitive { result = result.lowercased() }
        if stripTrailingPeriod, result.hasSuffix(".") {
            result.removeLast()
            if trimWhitespace { result = result.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        return result
    }

    /// `text` with every run of whitespace replaced by one space.
    private static func collapsingWhitespace(_ text: String) -> String {
        var result = ""
        var inRun = false
        for character in text {
            if character.isWhitespace {
                if !inRun { result.append(" ") }
                inRun = true
            } else {
                result.append(character)
                inRun = false
            }
        }
        return result
    }
}

/// Reward 1 when the normalised response equals the normalised reference, else 0.
///
///     " Paris. " vs "paris"     → 1
///     "New  York" vs "new york" → 1
///     "Paris, France" vs "Paris" → 0
public struct ExactMatchVerifier: Verifier, Codable, Sendable, Equatable {
    /// Normalisation applied to both sides.
    public var normalization: AnswerNormalization

    /// A verifier with the given normalisation (all steps on by default).
    public init(normalization: AnswerNormalization = AnswerNormalization()) {
        self.normalization = normalization
    }

    /// Whether `response` matches `reference` after normalisation.
    public func matches(response: String, reference: String) -> Bool {
        normalization.apply(response) == normalization.apply(reference)
    }

    /// 1 or 0 per item.
    public func score(_ items: [VerifierItem]) -> [Float] {
        items.map { matches(response: $0.response, reference: $0.reference) ? 1 : 0 }
    }
}

/// Reward 1 when the response's final answer equals the reference, else 0. The final answer is,
/// in order of preference:
/// 1. the text after the last "Final Answer:" (any case) up to the end of its line (a marker
///    followed only by a line break takes the next line), trimmed, with a trailing period and
///    surrounding `$…$` or `\boxed{…}` removed; an empty answer there scores 0;
/// 2. else the contents of the last `\boxed{…}`;
/// 3. else the last number in the response (integers, decimals, negatives; thousands
///    separators dropped: "1,234" → "1234");
/// 4. else there is no answer and the reward is 0.
///
/// When the reference is a number the comparison is numeric ("2.50" equals "2.5", "1,234" equals
/// "1234"); if the extracted answer is not itself a number (e.g. "Final Answer: x = 42") its last
/// number is compared. Otherwise both sides are compared as text after `normalization`.
///
///     "Final Answer: 42"            vs "42"  → 1
///     "final answer: $3.5$."        vs "3.5" → 1
///     "so it's 12, then 15"         vs "15"  → 1
///     "the total is 1,234 apples"   vs "1234" → 1
///     "I am not sure"               vs "5"   → 0
public struct FinalAnswerVerifier: Verifier, Codable, Sendable, Equatable {
    /// Normalisation of both sides when the reference is not a number.
    public var normalization: AnswerNormalization

    /// A verifier with the given text normalisation (all steps on by default).
    public init(normalization: AnswerNormalization = AnswerNormalization()) {
        self.normalization = normalization
    }

    /// Whether the final answer of `response` equals `reference`.
    public func matches(response: String, reference: String) -> Bool {
        guard let answer = Self.extractAnswer(from: response) else { return false }
        let target = AnswerText.unwrap(reference)
        guard let expected = AnswerText.numericValue(target) else {
            return normalization.apply(answer) == normalization.apply(target)
        }
        if let value = AnswerText.numericValue(answer) { return value == expected }
        guard let last = AnswerText.numbers(in: answer).last, let value = Double(last) else { return false }
        return value == expected
    }

    /// 1 or 0 per item.
    public func score(_ items: [VerifierItem]) -> [Float] {
        items.map { matches(response: $0.response, reference: $0.reference) ? 1 : 0 }
    }

    /// The final answer of `response` by the rules above, or nil when it has none.
    ///
    ///     extractAnswer(from: "… Final Answer: \\boxed{7}.") == "7"
    ///     extractAnswer(from: "x = -3, so y = 1,234") == "1234"
    public static func extractAnswer(from response: String) -> String? {
        if let marker = response.range(of: "final answer:", options: [.caseInsensitive, .backwards]) {
            var rest = response[marker.upperBound...].drop { $0 == " " || $0 == "\t" }
            if rest.first?.isNewline == true { rest = rest.dropFirst() }
            let line = rest.prefix { !$0.isNewline }
            let answer = AnswerText.unwrap(String(line))
            return answer.isEmpty ? nil : answer
        }
        if let boxed = AnswerText.lastBoxedContent(in: response) {
            let answer = AnswerText.unwrap(boxed)
            if !answer.isEmpty { return answer }
        }
        return AnswerText.numbers(in: response).last
    }
}

/// Reward 1 when the response, trimmed of surrounding whitespace, is exactly the reference: the
/// rule of the built-in addition task (`ArithmeticTask.check`), applied to `VerifierItem`s.
///
///     " 46\n" vs "46" → 1
///     "046"   vs "46" → 0
///     "46."   vs "46" → 0
public struct ArithmeticVerifier: Verifier, Codable, Sendable, Equatable {
    /// The verifier (it has no settings).
    public init() {}

    /// 1 or 0 per item.
    public func score(_ items: [VerifierItem]) -> [Float] {
        items.map { ArithmeticTask.isCorrect(response: $0.response, answer: $0.reference) ? 1 : 0 }
    }
}

extension ArithmeticTask {
    /// Whether `response`, trimmed of surrounding whitespace, is exactly `answer` — the rule of
    /// `check(response:problem:)`, usable without a problem value.
    public static func isCorrect(response: String, answer: String) -> Bool {
        response.trimmingCharacters(in: .whitespacesAndNewlines) == answer
    }
}

/// Answer-text helpers of the built-in verifiers: unwrapping, `\boxed{}` and number scanning.
enum AnswerText {
    /// `text` trimmed, with trailing periods and surrounding `$…$` / `\boxed{…}` peeled off
    /// repeatedly ("$\boxed{7}$." → "7").
    static func unwrap(_ text: String) -> String {
        var current = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while true {
            var next = current
            if next.hasSuffix(".") { next.removeLast() }
            if next.count >= 2, next.hasPrefix("$"), next.hasSuffix("$") { next = String(next.dropFirst().dropLast()) }
            if next.hasPrefix("\\boxed{"), let inner = boxedContent(next, from: next.startIndex), inner.end == next.endIndex {
                next = inner.content
            }
            next = next.trimmingCharacters(in: .whitespacesAndNewlines)
            if next == current { return current }
            current = next
        }
    }

    /// The contents of the last balanced `\boxed{…}` in `text`.
    static func lastBoxedContent(in text: String) -> String? {
        guard let range = text.range(of: "\\boxed{", options: .backwards) else { return nil }
        return boxedContent(text, from: range.lowerBound)?.content
    }

    /// The contents of the `\boxed{…}` starting at `start`, and the index after its closing brace.
    private static func boxedContent(_ text: String, from start: String.Index) -> (content: String, end: String.Index)? {
        let open = text.index(start, offsetBy: "\\boxed{".count)
        var depth = 1
        var index = open
        while index < text.endIndex {
            switch text[index] {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { return (String(text[open..<index]), text.index(after: index)) }
            default: break
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// A number found in text: its canonical spelling and the scalar offsets it spans.
    struct NumberMatch {
        /// Sign, digits without thousands separators, fraction ("-1234.5").
        var value: String
        /// Offset of the first scalar (the sign when there is one).
        var start: Int
        /// Offset after the last scalar.
        var end: Int
    }

    /// Every number in `text`, left to right, spelled canonically.
    static func numbers(in text: String) -> [String] {
        numberMatches(in: Array(text.unicodeScalars)).map(\.value)
    }

    /// The value of `text` when it is exactly one number (after trimming), else nil.
    static func numericValue(_ text: String) -> Double? {
        let scalars = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars)
        let matches = numberMatches(in: scalars)
        guard matches.count == 1, let only = matches.first, only.start == 0, only.end == scalars.count else { return nil }
        return Double(only.value)
    }

    /// Scans for numbers: optional "-" (or "−") not preceded by a digit, digits in groups of three
    /// separated by commas when the first group has 1–3 digits, and an optional "." plus digits.
    /// A leading-dot decimal (".5") counts when the dot does not follow a digit.
    static func numberMatches(in s: [Unicode.Scalar]) -> [NumberMatch] {
        func isDigit(_ k: Int) -> Bool { k >= 0 && k < s.count && ("0"..."9").contains(s[k]) }
        var matches = [NumberMatch]()
        var i = 0
        while i < s.count {
            let startsWithDot = s[i] == "." && isDigit(i + 1) && !isDigit(i - 1)
            guard isDigit(i) || startsWithDot else { i += 1; continue }
            let negative = i > 0 && (s[i - 1] == "-" || s[i - 1] == "\u{2212}") && !isDigit(i - 2)
            var digits = ""
            var j = i
            while isDigit(j) { digits.unicodeScalars.append(s[j]); j += 1 }
            if (1...3).contains(digits.count) {
                while j < s.count, s[j] == ",", isDigit(j + 1), isDigit(j + 2), isDigit(j + 3), !isDigit(j + 4) {
                    digits.unicodeScalars.append(contentsOf: s[(j + 1)...(j + 3)])
                    j += 4
                }
            }
            if j < s.count, s[j] == ".", isDigit(j + 1) {
                digits += digits.isEmpty ? "0." : "."
                j += 1
                while isDigit(j) { digits.unicodeScalars.append(s[j]); j += 1 }
            }
            matches.append(NumberMatch(value: (negative ? "-" : "") + digits, start: negative ? i - 1 : i, end: j))
            i = j
        }
        return matches
    }
}
