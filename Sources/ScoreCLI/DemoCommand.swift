import ArgumentParser
import Foundation
import ScoreEngine

/// The main job: build a tiny model, train the two-attempt base on the arithmetic task, then train
/// and evaluate every method of the paper's comparison and print the table.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train a tiny model to self-correct on 2-digit addition and print the paper-style table.")

    @Flag(help: "Only the base and SCoRe, smaller (about 3 minutes).") var quick = false
    @Option(help: "Seed of weights, data, sampling.") var seed: UInt64 = 1
    @Option(help: "Threads for the kernels.") var threads = 2
    @Option(help: "Held-out problems to evaluate on.") var evalCount = 500
    @Option(help: "Folder for metrics.jsonl, accuracy.svg, table.md and the base-model and score-model folders (default runs/demo-seed<seed>).")
    var out: String?

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        var settings = quick ? DemoSettings.quick() : DemoSettings()
        settings.evalCount = evalCount
        let folder = URL(fileURLWithPath: out ?? "runs/demo-seed\(seed)")
        print("libscore \(LibraryVersion.string) SCoRe demo (\(quick ? "quick" : "full"), seed \(seed), "
              + "\(threads) threads): tiny model, 2-digit addition, \(evalCount) held-out problems")
        let began = Date()
        let demo = try SelfCorrectionDemo(settings: settings, seed: seed, threads: threads, quick: quick, output: folder)
        let rows = try demo.run()
        print("\n" + DemoRow.terminalHeader)
        for row in rows { print(row.terminal) }
        print("\nMixed protocol (attempt 1 sampled at temperature 1, attempt 2 greedy):")
        print(DemoRow.terminalHeader)
        for row in rows { if let mixed = row.mixed { print(DemoRow.terminal(row.name, mixed, seconds: nil)) } }
        let rule = "|---|---|---|---|---|---|---|"
        let table = ([DemoRow.header, rule] + rows.map(\.markdown) + ["", "Mixed protocol:", "", DemoRow.header, rule]
                     + rows.compactMap { row in row.mixed.map { DemoRow.markdown(row.name, $0) } })
            .joined(separator: "\n")
        try (table + "\n").write(to: folder.appendingPathComponent("table.md"), atomically: true, encoding: .utf8)
        let rowsJSON = try JSONEncoder().encode(rows)
        try rowsJSON.write(to: folder.appendingPathComponent("table.json"), options: .atomic)
        print("\nAccuracies in % of \(evalCount) held-out problems, greedy; Δ = Acc@t2 − Acc@t1. "
              + "Total \(ProgressDisplay.clock(Date().timeIntervalSince(began))).")
        print("Wrote \(folder.path)/table.md, table.json, metrics.jsonl, accuracy.svg, base-model/ and score-model/.")
    }
}
