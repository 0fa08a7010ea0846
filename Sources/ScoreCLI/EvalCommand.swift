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
    @Option(help: "Seed of the mixed protocol's sampling (and of the votes).") var seed: UInt64 = 0
    @Option(help: "Greedy attempts per problem, each after the instruction again (1...\(Transformer.maximumAttempts)); prints Acc@t1 … Acc@tN.")
    var attempts: Int?
    @Option(help: "Majority voting with a budget of K sampled attempts per problem (temperature 1): K parallel samples against K/N samples each self-corrected to N attempts (N = --attempts, at least 2; default 2).")
    var majority: Int?
    @Option(help: "Two-attempt evaluation: also write every problem's attempts and verdicts as JSON Lines to this file.")
    var out: String?

    func run() throws {
        guard let evaluation = EvaluationProtocol(rawValue: `protocol`) else {
            throw ValidationError("unknown protocol '\(`protocol`)' (greedy, mixed)")
        }
        if out != nil, attempts != nil || majority != nil {
            throw ValidationError("--out writes the two-attempt evaluation (no --attempts or --majority)")
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
        let verifier = try folder.chosenVerifier(builtInTask: problems == nil)
        let tokens = maxNewTokens ?? (problems == nil ? 8 : 128)
        if let attempts {
            guard (1...Transformer.maximumAttempts).contains(attempts) else {
                throw ValidationError("--attempts must be in 1...\(Transformer.maximumAttempts) (got \(attempts))")
            }
            print(try bundle.model.evaluateAttempts(problems: chosen, format: format, verifier: verifier,
                                                    attempts: attempts, maxNewTokens: tokens).summary)
        }
        if let majority {
            guard (1...64).contains(majority) else { throw ValidationError("--majority must be in 1...64 (got \(majority))") }
            let parallel = try bundle.model.majorityAccuracy(problems: chosen, format: format, verifier: verifier,
                                                             samples: majority, selfCorrect: false,
                                                             maxNewTokens: tokens, seed: seed)
            var line = "majority of \(majority): \(majority) parallel samples \(AttemptsEvaluation.percent(parallel))"
            let chain = max(2, attempts ?? 2)
            if majority >= chain {
                let sequential = try bundle.model.majorityAccuracy(problems: chosen, format: format, verifier: verifier,
                                                                   samples: majority / chain, selfCorrect: true,
                                                                   attempts: chain, maxNewTokens: tokens, seed: seed)
                line += ", \(majority / chain) × \(chain) attempts (self-correcting) \(AttemptsEvaluation.percent(sequential))"
            }
            print(line)
        }
        if attempts != nil || majority != nil { return }
        let (m, episodes, pairs) = try bundle.model.evaluateSelfCorrection(
            problems: chosen, format: format, verifier: verifier,
            protocol: evaluation, maxNewTokens: tokens, seed: seed)
        if let out {
            try AttemptRow.write(
                try AttemptRow.rows(episodes: episodes, pairs: pairs, problems: chosen, format: format), to: out)
        }
        print(m.summary(protocol: evaluation.rawValue))
    }
}
