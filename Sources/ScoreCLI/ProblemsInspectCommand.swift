import ArgumentParser
import Foundation
import ScoreEngine

/// Runs two attempts on a problems file and shows what the model wrote: per-problem attempts,
/// whether each is a bare number (the answer format of the built-in tasks), and the share of
/// second attempts that change the first. The tool for calibrating a task's prompt wording.
struct ProblemsInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Two attempts on a problems file, with each attempt's text, format and verdict.")

    @OptionGroup var folder: ModelFolderOptions
    @Option(help: "Problems as JSON Lines ({\"prompt\": …, \"reference\": …} per line).") var problems: String
    @Option(help: "Inspect at most this many problems.") var count = 200
    @Option(help: "Protocol: greedy (both attempts) or mixed (attempt 1 sampled at temperature 1).") var `protocol` = "greedy"
    @Option(help: "Maximum tokens per attempt.") var maxNewTokens = 24
    @Option(help: "Seed of the mixed protocol's sampling.") var seed: UInt64 = 0
    @Option(help: "Print this many episodes (the first ones).") var show = 20
    @Option(help: "Write every episode as JSON Lines (prompt, reference, attempts, verdicts) to this file.")
    var out: String?

    /// One inspected episode.
    struct Row: Codable {
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
    }

    func run() throws {
        guard let evaluation = EvaluationProtocol(rawValue: `protocol`) else {
            throw ValidationError("unknown protocol '\(`protocol`)' (greedy, mixed)")
        }
        let bundle = try folder.bundle()
        let format = try bundle.format(instruction: folder.instruction)
        let all = try SelfCorrectionProblem.readJSONLines(from: URL(fileURLWithPath: problems))
        let chosen = Array(all.prefix(max(1, count)))
        let verifier = try folder.chosenVerifier(builtInTask: false)
        let (metrics, episodes, pairs) = try bundle.model.evaluateSelfCorrection(
            problems: chosen, format: format, verifier: verifier, protocol: evaluation,
            maxNewTokens: maxNewTokens, seed: seed)
        let rows = try Self.rows(episodes: episodes, pairs: pairs, problems: chosen, format: format)
        for row in rows.prefix(max(0, show)) {
            print("\(row.prompt.debugDescription)  ref \(row.reference)")
            print("   1 \(row.correct1 ? "ok " : "bad") \(row.attempt1.debugDescription)")
            print("   2 \(row.correct2 ? "ok " : "bad") \(row.attempt2.debugDescription)")
        }
        if let out { try Self.write(rows, to: out) }
        let n = Double(max(1, rows.count))
        func share(_ predicate: (Row) -> Bool) -> Double { 100 * Double(rows.filter(predicate).count) / n }
        print(metrics.summary(protocol: evaluation.rawValue))
        print(String(format: "bare number t1 %.1f  t2 %.1f   truncated t1 %.1f  t2 %.1f   attempt 2 changed the text %.1f  "
                     + "changed the answer %.1f  Acc@t1 among bare %.1f",
                     share(\.bare1), share(\.bare2), share(\.truncated1), share(\.truncated2),
                     share { $0.attempt1 != $0.attempt2 },
                     share { Self.answer($0.attempt1) != Self.answer($0.attempt2) },
                     100 * Double(rows.filter { $0.bare1 && $0.correct1 }.count) / Double(max(1, rows.filter(\.bare1).count))))
    }

    /// One row per evaluated episode, with its scored pair (as `evaluateSelfCorrection` returns them).
    static func rows(episodes: [Episode], pairs: [AttemptPair], problems: [SelfCorrectionProblem],
                     format: SelfCorrectionFormat) throws -> [Row] {
        var rows = [Row]()
        for (e, episode) in episodes.enumerated() {
            let problem = problems[episode.group]
            let first = try format.text(of: episode.attempt1.tokens)
            let second = try episode.attempt2.map { try format.text(of: $0.tokens) } ?? first
            let pair = pairs[e]
            rows.append(Row(prompt: problem.prompt, reference: problem.reference, attempt1: first, attempt2: second,
                            correct1: pair.correct1, correct2: pair.correct2,
                            bare1: isBareNumber(first), bare2: isBareNumber(second),
                            truncated1: pair.truncated1, truncated2: pair.truncated2))
        }
        return rows
    }

    /// Writes `rows` as JSON Lines to the file at `path`.
    static func write(_ rows: [Row], to path: String) throws {
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

    /// The final answer the final-answer verifier reads from `text` (nil: none).
    static func answer(_ text: String) -> String? {
        FinalAnswerVerifier.extractAnswer(from: text)
    }
}
