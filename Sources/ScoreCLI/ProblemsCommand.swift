import ArgumentParser
import Foundation
import ScoreEngine

/// Problems of the built-in tasks as JSON Lines, and a look at what a model answers to them.
struct ProblemsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "problems",
        abstract: "Write a generated task's problems as JSON Lines, or inspect a model's attempts on a problems file.",
        subcommands: [ProblemsWriteCommand.self, ProblemsInspectCommand.self],
        defaultSubcommand: ProblemsWriteCommand.self)
}

/// Writes problems of the mental-arithmetic task (`MentalArithmeticTask`) as JSON Lines that
/// `eval`, `train` and `problems inspect` read.
struct ProblemsWriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write problems of a generated arithmetic task (train and test splits disjoint) as JSON Lines.",
        discussion: "Tasks: " + MentalArithmeticTaskOptions.presets.map(\.name).joined(separator: ", ")
            + ". Answers are checked by the \(MentalArithmeticTask.verifierName) verifier.")

    @Option(help: "Task (a preset; the options below override its settings).") var task = "products"
    @Option(help: "Split: train or test.") var split = "test"
    @Option(help: "Write this many distinct problems (default: the whole split).") var count: Int?
    @Option(help: "Seed of the problems' selection and order.") var seed: UInt64 = 0
    @Option(help: "Output file (default: standard output).") var out: String?
    @Option(help: "Form: \(MentalArithmeticForm.allCases.map(\.rawValue).joined(separator: ", ")).") var form: String?
    @Option(help: "Operand ranges, one per operand: \"10-99,2-9\".") var ranges: String?
    @Option(help: "Wording: \(MentalArithmeticWording.allCases.map(\.rawValue).joined(separator: ", ")).")
    var wording: String?
    @Option(help: "Order of commuting operands: \(MentalArithmeticOrder.allCases.map(\.rawValue).joined(separator: ", ")).")
    var order: String?
    @Option(help: "Share of problems in the test split.") var testFraction: Double?
    @Option(help: "Seed of the train/test split.") var splitSeed: UInt64?

    func run() throws {
        guard let side = ArithmeticTask.Split(rawValue: split) else {
            throw ValidationError("unknown split '\(split)' (train, test)")
        }
        let task = try MentalArithmeticTask(options: try options())
        let problems = try task.selfCorrectionProblems(side, count: count, seed: seed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = try problems.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        if let out {
            try text.write(toFile: out, atomically: true, encoding: .utf8)
            let available = task.problems(side).count
            FileHandle.standardError.write(Data(("wrote \(problems.count) of the \(available) \(side.rawValue) problems "
                + "of '\(self.task)' to \(out) (verifier: \(MentalArithmeticTask.verifierName))\n").utf8))
        } else {
            print(text, terminator: "")
        }
    }

    /// The preset with the given overrides.
    func options() throws -> MentalArithmeticTaskOptions {
        var options = try MentalArithmeticTaskOptions.preset(named: task)
        if let form {
            guard let value = MentalArithmeticForm(rawValue: form) else { throw ValidationError("unknown form '\(form)'") }
            options.form = value
        }
        if let ranges { options.operandRanges = try Self.parseRanges(ranges) }
        if let wording {
            guard let value = MentalArithmeticWording(rawValue: wording) else {
                throw ValidationError("unknown wording '\(wording)'")
            }
            options.wording = value
        }
        if let order {
            guard let value = MentalArithmeticOrder(rawValue: order) else { throw ValidationError("unknown order '\(order)'") }
            options.order = value
        }
        if let testFraction { options.testFraction = testFraction }
        if let splitSeed { options.splitSeed = splitSeed }
        return options
    }

    /// "10-99,2-9" → [10...99, 2...9].
    static func parseRanges(_ text: String) throws -> [ClosedRange<Int>] {
        try text.split(separator: ",").map { part in
            let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard bounds.count == 2, let low = bounds[0], let high = bounds[1], low <= high else {
                throw ValidationError("operand range '\(part)' is not LOW-HIGH")
            }
            return low...high
        }
    }
}
