import ArgumentParser
import Foundation
import ScoreEngine

/// Held-out accuracy of a saved model on the arithmetic task.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Greedy accuracy of a saved model on the held-out arithmetic problems.")

    @Option(help: "Model folder (config.json + model.safetensors).") var model: String
    @Option(help: "Threads for the kernels.") var threads = 2

    func run() throws {
        let tokenizer = ByteTokenizer()
        let task = try ArithmeticTask()
        let transformer = try Transformer.load(from: URL(fileURLWithPath: model), threads: threads)
        let test = task.problems(.test)
        let result = try transformer.evaluate(
            prompts: test.map { task.promptTokens($0, tokenizer: tokenizer) },
            options: task.answerSampling(tokenizer: tokenizer), tokenizer: tokenizer,
            check: { task.check(response: $1, problem: test[$0]) })
        print(String(format: "held-out accuracy (greedy): %.1f%% of %d problems", 100 * result.accuracy, result.count))
    }
}
