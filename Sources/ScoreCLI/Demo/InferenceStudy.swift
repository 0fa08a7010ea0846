import Foundation
import ScoreEngine

/// The demo's inference-time study of the base and SCoRe models: majority voting at budgets of
/// K = 1 … 16 generated attempts (K parallel samples against K/2 samples each self-corrected
/// once, the paper's comparison), and the confidence gate at every threshold and measure
/// (accuracy against generated tokens), with how often each model edits attempt 1 as its
/// confidence in it grows.
struct InferenceStudy {
    static let budgets = [1, 2, 4, 8, 16]
    static let thresholds: [Float] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    /// Problems the votes run on (a prefix of the held-out set: K = 16 samples 16 attempts each).
    static let votingProblems = 200

    let models: [(name: String, model: Transformer)]
    let problems: [SelfCorrectionProblem]
    let format: SelfCorrectionFormat
    let verifier: any Verifier
    let maxNewTokens: Int
    let seed: UInt64
    /// Greedy attempts per problem in the attempts table (at least 3: one more than trained),
    /// fewer where a conversation of that many would not fit the models' context.
    var attempts = 3

    /// The attempts the table shows: `attempts`, or the most whose longest conversation fits.
    var attemptsThatFit: Int {
        let longestPrompt = problems.map { format.promptTokens($0.prompt).count }.max() ?? 0
        let context = models.map(\.model.config.maxSeqLen).min() ?? 0
        return (1...max(1, attempts)).last {
            format.longestEpisode(promptLength: longestPrompt, maxNewTokens: maxNewTokens, attempts: $0) <= context
        } ?? 1
    }

    /// Runs the study; returns its report (markdown) and writes it (inference.md, inference.json)
    /// with the voting plot into `folder`.
    func run(writingTo folder: URL) throws -> String {
        var report = InferenceReport()
        let voting = Array(problems.prefix(Self.votingProblems))
        var lines = ["## Inference-time scaling: majority voting (\(voting.count) held-out problems, temperature 1)", "",
                     "| model | budget K | K parallel samples | K/2 samples × self-correction |", "|---|---|---|---|"]
        var plot = SVGPlot(title: "Majority voting at a budget of K attempts (seed \(seed))",
                           xLabel: "budget K (generated attempts, log2)", yLabel: "accuracy (%)")
        let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
        for (m, entry) in models.enumerated() {
            var parallel = [(x: Double, y: Double)](), sequential = [(x: Double, y: Double)]()
            for k in Self.budgets {
                let p = try entry.model.majorityAccuracy(problems: voting, format: format, verifier: verifier, samples: k,
                                                         selfCorrect: false, maxNewTokens: maxNewTokens, seed: seed)
                parallel.append((log2(Double(k)), 100 * p))
                var s: Double?
                if k >= 2 {
                    s = try entry.model.majorityAccuracy(problems: voting, format: format, verifier: verifier,
                                                         samples: k / 2, selfCorrect: true, maxNewTokens: maxNewTokens,
                                                         seed: seed)
                    sequential.append((log2(Double(k)), 100 * (s ?? 0)))
                }
                lines.append("| \(entry.name) | \(k) | \(Self.percent(p)) | \(s.map(Self.percent) ?? "—") |")
                report.votes.append(.init(model: entry.name, budget: k, parallel: p, sequential: s))
            }
            plot.series.append(.init(name: "\(entry.name), parallel", color: colors[(2 * m) % colors.count], points: parallel))
            plot.series.append(.init(name: "\(entry.name), sequential", color: colors[(2 * m + 1) % colors.count],
                                     points: sequential))
        }
        try plot.render().write(to: folder.appendingPathComponent("scaling.svg"), atomically: true, encoding: .utf8)

        lines += ["", "## Confidence gate (\(problems.count) held-out problems, greedy)", "",
                  "Accuracy / share revised / generated tokens per problem; revise when attempt 1's confidence is below the threshold.", ""]
        let header = "| model | measure | always | " + Self.thresholds.map { "< \($0)" }.joined(separator: " | ") + " |"
        lines += [header, "|" + String(repeating: "---|", count: 3 + Self.thresholds.count)]
        var edits = ["", "## Edits against confidence (mean probability, quartiles of attempt 1's confidence)", "",
                     "| model | Q1 | Q2 | Q3 | Q4 |", "|---|---|---|---|---|"]
        for entry in models {
            let sweep = try ConfidenceGateSweep(model: entry.model, problems: problems, format: format, verifier: verifier,
                                                maxNewTokens: maxNewTokens)
            for measure in ConfidenceMeasure.allCases {
                let cells = ([nil] + Self.thresholds.map(Optional.some)).map { threshold -> String in
                    let point = sweep.point(measure, threshold: threshold)
                    report.gates.append(.init(model: entry.name, measure: measure.rawValue, threshold: threshold,
                                              accuracy: point.accuracy, revised: point.revisedFraction,
                                              tokensPerProblem: point.tokensPerProblem))
                    return "\(Self.percent(point.accuracy)) / \(Self.percent(point.revisedFraction)) / "
                        + String(format: "%.1f", point.tokensPerProblem)
                }
                lines.append("| \(entry.name) | \(measure.rawValue) | " + cells.joined(separator: " | ") + " |")
            }
            let quartiles = sweep.editsByConfidence(.meanProbability, bins: 4).map {
                String(format: "%.2f–%.2f: %@ edited", $0.low, $0.high, Self.percent($0.changed))
            }
            edits.append("| \(entry.name) | " + quartiles.joined(separator: " | ") + " |")
        }
        let attempts = attemptsThatFit
        var sequence = ["", "## More attempts (\(problems.count) held-out problems, greedy, each after the instruction again)", "",
                        "| model | " + (1...attempts).map { "Acc@t\($0)" }.joined(separator: " | ") + " |",
                        "|---|" + String(repeating: "---|", count: attempts)]
        for entry in models {
            let evaluation = try entry.model.evaluateAttempts(problems: problems, format: format, verifier: verifier,
                                                              attempts: attempts, maxNewTokens: maxNewTokens)
            report.attempts.append(.init(model: entry.name, accuracies: evaluation.accuracies))
            sequence.append("| \(entry.name) | " + evaluation.accuracies.map(Self.percent).joined(separator: " | ") + " |")
        }
        let text = (lines + edits + sequence).joined(separator: "\n") + "\n"
        try text.write(to: folder.appendingPathComponent("inference.md"), atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: folder.appendingPathComponent("inference.json"), options: .atomic)
        return text
    }

    static func percent(_ fraction: Double) -> String { String(format: "%.1f%%", 100 * fraction) }
}
