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
        let rows = try AttemptRow.rows(episodes: episodes, pairs: pairs, problems: chosen, format: format)
        for row in rows.prefix(max(0, show)) {
            print("\(row.prompt.debugDescription)  ref \(row.reference)")
            print("   1 \(row.correct1 ? "ok " : "bad") \(row.attempt1.debugDescription)")
            print("   2 \(row.correct2 ? "ok " : "bad") \(row.attempt2.debugDescription)")
        }
        if let out { try AttemptRow.write(rows, to: out) }
        let n = Double(max(1, rows.count))
        func share(_ predicate: (AttemptRow) -> Bool) -> Double { 100 * Double(rows.filter(predicate).count) / n }
        print(metrics.summary(protocol: evaluation.rawValue))
        print(String(format: "bare number t1 %.1f  t2 %.1f   truncated t1 %.1f  t2 %.1f   attempt 2 changed the text %.1f  "
                     + "changed the answer %.1f  Acc@t1 among bare %.1f",
                     share(\.bare1), share(\.bare2), share(\.truncated1), share(\.truncated2),
                     share { $0.attempt1 != $0.attempt2 },
                     share { Self.answer($0.attempt1) != Self.answer($0.attempt2) },
                     100 * Double(rows.filter { $0.bare1 && $0.correct1 }.count) / Double(max(1, rows.filter(\.bare1).count))))
    }

    /// The final answer the final-answer verifier reads from `text` (nil: none).
    static func answer(_ text: String) -> String? {
        FinalAnswerVerifier.extractAnswer(from: text)
    }
}
