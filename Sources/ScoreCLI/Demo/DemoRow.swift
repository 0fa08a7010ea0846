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

    static let header = "| method | Acc@t1 | Acc@t2 | Δ(t1,t2) | Δi→c | Δc→i | edit ratio |"

    var markdown: String { Self.markdown(name, metrics) }

    static func markdown(_ name: String, _ m: SelfCorrectionMetrics) -> String {
        return String(format: "| %@ | %.1f | %.1f | %+.1f | %.1f | %.1f | %.3f |", name as NSString,
                      100 * m.accuracyT1, 100 * m.accuracyT2, 100 * m.delta, 100 * m.deltaIncorrectToCorrect,
                      100 * m.deltaCorrectToIncorrect, m.editDistanceRatio)
    }

    var terminal: String { Self.terminal(name, metrics, seconds: seconds) }

    static func terminal(_ name: String, _ m: SelfCorrectionMetrics, seconds: Double?) -> String {
        let cells = [String(format: "%.1f", 100 * m.accuracyT1), String(format: "%.1f", 100 * m.accuracyT2),
                     String(format: "%+.1f", 100 * m.delta), String(format: "%.1f", 100 * m.deltaIncorrectToCorrect),
                     String(format: "%.1f", 100 * m.deltaCorrectToIncorrect), String(format: "%.3f", m.editDistanceRatio),
                     seconds.map { String(format: "%.0fs", $0) } ?? ""]
        return line(name, cells)
    }

    static let terminalHeader = line("method", ["Acc@t1", "Acc@t2", "Δ", "i→c", "c→i", "edit", "time"])

    static func line(_ name: String, _ cells: [String]) -> String {
        name.padding(toLength: 20, withPad: " ", startingAt: 0)
            + cells.map { String(repeating: " ", count: max(0, 8 - $0.count)) + $0 }.joined()
    }
}
