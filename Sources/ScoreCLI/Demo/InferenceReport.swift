import Foundation

/// The figures of the demo's inference-time study (`inference.json`), and their mean over several
/// runs for `score-cli summarize`.
struct InferenceReport: Codable {
    /// Majority-vote accuracy at a budget of K generated attempts.
    struct Vote: Codable {
        var model: String
        var budget: Int
        /// K parallel samples.
        var parallel: Double
        /// K/2 samples, each self-corrected once (nil at K = 1).
        var sequential: Double?
    }
    /// Greedy self-correction revising only below a confidence threshold (nil: always).
    struct Gate: Codable {
        var model: String
        var measure: String
        var threshold: Float?
        var accuracy: Double
        var revised: Double
        var tokensPerProblem: Double
    }
    /// Greedy accuracy of each of several attempts, each after the instruction again.
    struct Attempts: Codable {
        var model: String
        var accuracies: [Double]
    }

    var votes: [Vote] = []
    var gates: [Gate] = []
    var attempts: [Attempts] = []

    /// Mean ± sample standard deviation, in %, over `reports` (one per run) of every figure present in
    /// all of them, as markdown tables, with the runs where sequential voting beats parallel.
    static func summary(_ reports: [InferenceReport]) -> String {
        guard let first = reports.first else { return "" }
        let n = reports.count
        var lines = ["Inference-time study, mean ± standard deviation over \(n) runs (%):", "",
                     "| model | budget K | K parallel samples | K/2 samples × self-correction | runs sequential > parallel |",
                     "|---|---|---|---|---|"]
        for vote in first.votes {
            let matching = reports.compactMap { $0.votes.first { $0.model == vote.model && $0.budget == vote.budget } }
            guard matching.count == n else { continue }
            let sequential = matching.compactMap(\.sequential)
            let wins = sequential.count == n ? "\(zip(matching, sequential).filter { $1 > $0.parallel }.count)/\(n)" : "—"
            lines.append("| \(vote.model) | \(vote.budget) | \(meanSD(matching.map(\.parallel))) | "
                         + "\(sequential.count == n ? meanSD(sequential) : "—") | \(wins) |")
        }
        let rows = first.attempts.map(\.model)
        if let width = first.attempts.map(\.accuracies.count).max(), width > 0 {
            lines += ["", "| model | " + (1...width).map { "Acc@t\($0)" }.joined(separator: " | ") + " |",
                      "|---|" + String(repeating: "---|", count: width)]
            for model in rows {
                let matching = reports.compactMap { $0.attempts.first { $0.model == model } }
                guard matching.count == n, matching.allSatisfy({ $0.accuracies.count == width }) else { continue }
                lines.append("| \(model) | " + (0..<width).map { k in meanSD(matching.map { $0.accuracies[k] }) }
                    .joined(separator: " | ") + " |")
            }
        }
        lines += ["", "| model | measure | threshold | accuracy | revised | tokens per problem |", "|---|---|---|---|---|---|"]
        for gate in first.gates {
            let matching = reports.compactMap { report in
                report.gates.first { $0.model == gate.model && $0.measure == gate.measure && $0.threshold == gate.threshold }
            }
            guard matching.count == n else { continue }
            let tokens = matching.map(\.tokensPerProblem)
            lines.append("| \(gate.model) | \(gate.measure) | \(gate.threshold.map { "< \($0)" } ?? "always") | "
                         + "\(meanSD(matching.map(\.accuracy))) | \(meanSD(matching.map(\.revised))) | "
                         + String(format: "%.1f", tokens.reduce(0, +) / Double(n)) + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "m ± s" of fractions, in %.
    private static func meanSD(_ fractions: [Double]) -> String {
        let values = fractions.map { 100 * $0 }
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(values.count - 1, 1))
        return String(format: "%.1f ± %.1f", mean, variance.squareRoot())
    }
}
