import ArgumentParser
import Foundation
import ScoreEngine

/// Averages the tables of several demo runs (e.g. one per seed): mean ± standard deviation, and
/// paired-bootstrap intervals over problems and runs when the tables keep per-problem outcomes;
/// the inference-time studies too when every run wrote one (inference.json).
struct SummarizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarize",
        abstract: "Mean ± standard deviation of several demo tables (their table.json), with paired-bootstrap intervals.")

    @Argument(help: "Demo output folders, each with a table.json.") var folders: [String]
    @Option(help: "Bootstrap resamples.") var resamples = 2000
    @Option(help: "Confidence of the bootstrap intervals.") var confidence = 0.9

    func run() throws {
        guard resamples >= 1, confidence > 0, confidence < 1 else {
            throw ValidationError("--resamples must be at least 1 and --confidence in (0, 1)")
        }
        let tables = try folders.map(Self.readRows)
        guard let first = tables.first else { throw ValidationError("no folders given") }
        // Rows present, under the same name and position, in every run.
        let names = first.enumerated().compactMap { index, row in
            tables.allSatisfy { $0.indices.contains(index) && $0[index].name == row.name } ? row.name : nil
        }
        let runs = tables.map { rows in names.compactMap { name in rows.first { $0.name == name } } }
        print("Mean ± standard deviation over \(tables.count) runs (greedy, %):\n")
        print(DemoRow.header)
        print(DemoRow.rule)
        for (r, name) in names.enumerated() {
            let values = runs.map { DemoRow.percentages($0[r].metrics) + [$0[r].metrics.editDistanceRatio] }
            let last = values[0].count - 1
            let cells = (0...last).map { index -> String in
                let column = values.map { $0[index] }
                let mean = column.reduce(0, +) / Double(column.count)
                let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(column.count - 1, 1))
                let digits = index == last ? 3 : 1
                return String(format: "%.\(digits)f ± %.\(digits)f", mean, variance.squareRoot())
            }
            print("| \(name) | " + cells.joined(separator: " | ") + " |")
        }
        try printIntervals(names: names, runs: runs)
        let studies = folders.map { URL(fileURLWithPath: $0).appendingPathComponent("inference.json") }
        if studies.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) {
            let reports = try studies.map { try JSONDecoder().decode(InferenceReport.self, from: Data(contentsOf: $0)) }
            print("\n" + InferenceReport.summary(reports))
        }
    }

    /// Paired-bootstrap intervals of each row's figures and of SCoRe's lead over each row.
    private func printIntervals(names: [String], runs: [[DemoRow]]) throws {
        let outcomes = runs.map { rows in rows.map { $0.outcomes.flatMap(AttemptOutcomes.init(code:)) } }
        guard outcomes.allSatisfy({ $0.allSatisfy { $0 != nil } }) else {
            print("\n(No bootstrap intervals: some tables keep no per-problem outcomes.)")
            return
        }
        let samples = try PairedBootstrap.resample(runs: outcomes.map { $0.compactMap { $0 } }, resamples: resamples,
                                                   seed: 0x5EED)
        let percent = Int((100 * confidence).rounded())
        func cell(_ values: [Double]) -> String {
            let range = PairedBootstrap.interval(values.map { 100 * $0 }, confidence: confidence)
            return String(format: "[%.1f, %.1f]", range.lowerBound, range.upperBound)
        }
        print("\n\(percent)% paired-bootstrap intervals over problems and runs (%):\n")
        print("| method | Acc@t1 | Acc@t2 | Δ(t1,t2) | fix rate | break rate |")
        print("|---|---|---|---|---|---|")
        for (r, name) in names.enumerated() {
            let rows = samples.map { $0[r] }
            print("| \(name) | \(cell(rows.map(\.accuracyT1))) | \(cell(rows.map(\.accuracyT2))) | "
                  + "\(cell(rows.map(\.delta))) | \(cell(rows.map(\.fixRate))) | \(cell(rows.map(\.breakRate))) |")
        }
        guard let score = names.firstIndex(of: "SCoRe") else { return }
        print("\nSCoRe minus each row (%), \(percent)% intervals:\n")
        print("| method | Acc@t2 | Δ(t1,t2) |")
        print("|---|---|---|")
        for (r, name) in names.enumerated() where r != score {
            print("| \(name) | \(cell(samples.map { $0[score].accuracyT2 - $0[r].accuracyT2 })) | "
                  + "\(cell(samples.map { $0[score].delta - $0[r].delta })) |")
        }
    }

    /// The rows of a run's table.json (the current layout with rows, wall time and seed, or the
    /// earlier bare array of rows).
    private static func readRows(_ folder: String) throws -> [DemoRow] {
        let url = URL(fileURLWithPath: folder).appendingPathComponent("table.json")
        do {
            let data = try Data(contentsOf: url)
            if let table = try? JSONDecoder().decode(DemoTable.self, from: data) { return table.rows }
            return try JSONDecoder().decode([DemoRow].self, from: data)
        } catch {
            throw ValidationError("\(url.path): \(error)")
        }
    }
}
