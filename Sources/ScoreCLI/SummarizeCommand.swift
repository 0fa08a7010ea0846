import ArgumentParser
import Foundation
import ScoreEngine

/// Averages the tables of several demo runs (e.g. one per seed): mean ± standard deviation.
struct SummarizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarize", abstract: "Mean ± standard deviation of several demo tables (their table.json).")

    @Argument(help: "Demo output folders, each with a table.json.") var folders: [String]

    func run() throws {
        let tables = try folders.map { folder -> [DemoRow] in
            let url = URL(fileURLWithPath: folder).appendingPathComponent("table.json")
            do {
                return try JSONDecoder().decode([DemoRow].self, from: Data(contentsOf: url))
            } catch {
                throw ValidationError("\(url.path): \(error)")
            }
        }
        guard let first = tables.first else { throw ValidationError("no folders given") }
        print("Mean ± standard deviation over \(tables.count) runs (greedy, %):\n")
        print(DemoRow.header)
        print("|---|---|---|---|---|---|---|")
        for (index, row) in first.enumerated() {
            let runs = tables.compactMap { $0.indices.contains(index) && $0[index].name == row.name ? $0[index] : nil }
            func cell(_ value: (SelfCorrectionMetrics) -> Double, scale: Double = 100, digits: Int = 1) -> String {
                let values = runs.map { value($0.metrics) * scale }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(values.count - 1, 1))
                return String(format: "%.\(digits)f ± %.\(digits)f", mean, variance.squareRoot())
            }
            print("| \(row.name) | \(cell { $0.accuracyT1 }) | \(cell { $0.accuracyT2 }) | \(cell { $0.delta }) | "
                  + "\(cell { $0.deltaIncorrectToCorrect }) | \(cell { $0.deltaCorrectToIncorrect }) | "
                  + "\(cell({ $0.editDistanceRatio }, scale: 1, digits: 3)) |")
        }
    }
}
