import Foundation
import ScoreEngine

/// One row of the paper-style table.
struct DemoRow: Codable {
    let name: String
    /// Greedy evaluation of both attempts (the paper's protocol).
    let metrics: SelfCorrectionMetrics
    /// Attempt 1 sampled at temperature 1, attempt 2 greedy (nil where it does not apply).
    let mixed: SelfCorrectionMetrics?
    let seconds: Double
    /// Each held-out problem's greedy outcome (`AttemptOutcomes.code`), for paired comparisons
    /// across rows and runs; nil in tables written before it was kept.
    var outcomes: String?

    static let header = "| method | Acc@t1 | Acc@t2 | Δ(t1,t2) | Δi→c | Δc→i | fix rate | break rate | edit ratio |"
    /// The markdown rule under `header`.
    static let rule = "|---|---|---|---|---|---|---|---|---|"

    var markdown: String { Self.markdown(name, metrics) }

    /// The percentages of a row: Acc@t1, Acc@t2, Δ, Δi→c, Δc→i, fix rate, break rate.
    static func percentages(_ m: SelfCorrectionMetrics) -> [Double] {
        [m.accuracyT1, m.accuracyT2, m.delta, m.deltaIncorrectToCorrect, m.deltaCorrectToIncorrect, m.fixRate,
         m.breakRate].map { 100 * $0 }
    }

    /// Formats the cells of a row (Δ with its sign, the edit ratio with three digits).
    static func cells(_ m: SelfCorrectionMetrics) -> [String] {
        percentages(m).enumerated().map { String(format: $0.offset == 2 ? "%+.1f" : "%.1f", $0.element) }
            + [String(format: "%.3f", m.editDistanceRatio)]
    }

    static func markdown(_ name: String, _ m: SelfCorrectionMetrics) -> String {
        "| \(name) | " + cells(m).joined(separator: " | ") + " |"
    }

    var terminal: String { Self.terminal(name, metrics, seconds: seconds) }

    static func terminal(_ name: String, _ m: SelfCorrectionMetrics, seconds: Double?) -> String {
        line(name, cells(m) + [seconds.map { String(format: "%.0fs", $0) } ?? ""])
    }

    static let terminalHeader = line("method", ["Acc@t1", "Acc@t2", "Δ", "i→c", "c→i", "fix", "break", "edit", "time"])

    static func line(_ name: String, _ cells: [String]) -> String {
        name.padding(toLength: 20, withPad: " ", startingAt: 0)
            + cells.map { String(repeating: " ", count: max(0, 8 - $0.count)) + $0 }.joined()
    }
}
