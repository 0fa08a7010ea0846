import ArgumentParser
import Foundation
import ScoreEngine

/// Two-attempt evaluation of a model folder.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Two-attempt evaluation of a model folder: Acc@t1, Acc@t2, Δ, Δi→c, Δc→i, fix and break rates, edit distance.")

    @OptionGroup var folder: ModelFolderOptions
    @Option(help: "Problems as JSON Lines ({\"prompt\": …, \"reference\": …} per line; default: the built-in arithmetic test split).")
    var problems: String?
    @Option(help: "Evaluate at most this many problems.") var count = 500
    @Flag(help: "Built-in task: references zero-padded to digits + 1 characters, as the demo trains (46 → \"046\").")
    var fixedWidth = false
    @Option(help: "Protocol: greedy (both attempts) or mixed (attempt 1 sampled at temperature 1).") var `protocol` = "greedy"
    @Option(help: "Maximum tokens per attempt (default: 8 for the built-in task, else 128).") var maxNewTokens: Int?
    @Option(help: "Seed of the mixed protocol's sampling.") var seed: UInt64 = 0

    func run() throws {
        guard let evaluation = EvaluationProtocol(rawValue: `protocol`) else {
            throw ValidationError("unknown protocol '\(`protocol`)' (greedy, mixed)")
        }
        let bundle = try folder.bundle()
        let format = try bundle.format(instruction: folder.instruction)
        let set: [SelfCorrectionProblem]
        if let problems {
            set = try SelfCorrectionProblem.readJSONLines(from: URL(fileURLWithPath: problems))
        } else {
            let task = try ArithmeticTask()
            set = task.problems(.test).map {
                SelfCorrectionProblem(prompt: $0.prompt, reference: task.answerText($0.a + $0.b, fixedWidth: fixedWidth))
            }
        }
        let chosen = Array(set.prefix(max(1, count)))
        let m = try bundle.model.evaluateSelfCorrection(
            problems: chosen, format: format, verifier: try folder.chosenVerifier(builtInTask: problems == nil),
            protocol: evaluation, maxNewTokens: maxNewTokens ?? (problems == nil ? 8 : 128), seed: seed).metrics
        print(m.summary(protocol: evaluation.rawValue))
    }
}
