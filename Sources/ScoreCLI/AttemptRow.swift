import Foundation
import ScoreEngine

/// One evaluated episode as `problems inspect --out` and `eval --out` write it: the problem, both
/// attempts' texts, their verdicts, whether each is a bare number (the built-in tasks' answer
/// format) and whether it hit the token limit.
struct AttemptRow: Codable {
    var prompt: String
    var reference: String
    var attempt1: String
    var attempt2: String
    var correct1: Bool
    var correct2: Bool
    var bare1: Bool
    var bare2: Bool
    var truncated1: Bool
    var truncated2: Bool

    /// One row per evaluated episode, with its scored pair (as `evaluateSelfCorrection` returns them).
    static func rows(episodes: [Episode], pairs: [AttemptPair], problems: [SelfCorrectionProblem],
                     format: SelfCorrectionFormat) throws -> [AttemptRow] {
        var rows = [AttemptRow]()
        for (e, episode) in episodes.enumerated() {
            let problem = problems[episode.group]
            let first = try format.text(of: episode.attempt1.tokens)
            let second = try episode.attempt2.map { try format.text(of: $0.tokens) } ?? first
            let pair = pairs[e]
            rows.append(AttemptRow(prompt: problem.prompt, reference: problem.reference, attempt1: first, attempt2: second,
                                   correct1: pair.correct1, correct2: pair.correct2,
                                   bare1: isBareNumber(first), bare2: isBareNumber(second),
                                   truncated1: pair.truncated1, truncated2: pair.truncated2))
        }
        return rows
    }

    /// Writes `rows` as JSON Lines to the file at `path`.
    static func write(_ rows: [AttemptRow], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let lines = try rows.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Whether `text` is one integer and nothing else (surrounding whitespace and one trailing
    /// period allowed): the answer format of the built-in tasks.
    static func isBareNumber(_ text: String) -> Bool {
        var trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasSuffix(".") { trimmed.removeLast() }
        if trimmed.hasPrefix("-") { trimmed.removeFirst() }
        return !trimmed.isEmpty && trimmed.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
