import Foundation
import ScoreEngine

/// One row of the paper-style table.
struct DemoRow: Codable {
    let name: String
    let metrics: SelfCorrectionMetrics
    let seconds: Double

    static let header = "| method | Acc@t1 | Acc@t2 | Δ(t1,t2) | Δi→c | Δc→i | edit ratio |"

    var markdown: String {
        let m = metrics
        return String(format: "| %@ | %.1f | %.1f | %+.1f | %.1f | %.1f | %.3f |", name as NSString,
                      100 * m.accuracyT1, 100 * m.accuracyT2, 100 * m.delta, 100 * m.deltaIncorrectToCorrect,
                      100 * m.deltaCorrectToIncorrect, m.editDistanceRatio)
    }

    var terminal: String {
        let m = metrics
        let cells = [String(format: "%.1f", 100 * m.accuracyT1), String(format: "%.1f", 100 * m.accuracyT2),
                     String(format: "%+.1f", 100 * m.delta), String(format: "%.1f", 100 * m.deltaIncorrectToCorrect),
                     String(format: "%.1f", 100 * m.deltaCorrectToIncorrect), String(format: "%.3f", m.editDistanceRatio),
                     String(format: "%.0fs", seconds)]
        return Self.line(name, cells)
    }

    static let terminalHeader = line("method", ["Acc@t1", "Acc@t2", "Δ", "i→c", "c→i", "edit", "time"])

    static func line(_ name: String, _ cells: [String]) -> String {
        name.padding(toLength: 20, withPad: " ", startingAt: 0)
            + cells.map { String(repeating: " ", count: max(0, 8 - $0.count)) + $0 }.joined()
    }
}
