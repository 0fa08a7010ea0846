import ArgumentParser
import Foundation
import ScoreEngine

/// Self-corrects one problem with a model folder: attempt 1, the instruction, attempt 2 (and on,
/// with --attempts).
struct CorrectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "correct",
        abstract: "Answer a problem with a model folder (libscore's or Hugging Face's): attempt 1, then attempt 2 (and more with --attempts).")

    @Option(help: "Model folder (config.json, weights; tokenizer.json and tokenizer_config.json for a Hugging Face model) or GGUF file.")
    var model: String
    @Option(help: "Self-correction instruction (default: the library's for this tokenizer).") var instruction: String?
    @Option(help: "Sampling temperature of every attempt (0 = greedy).") var temperature: Float = 0
    @Option(help: "Maximum tokens per attempt.") var maxNewTokens = 64
    @Option(help: "Attempts at most (1...\(Transformer.maximumAttempts)); attempt k + 1 follows the instruction after attempt k.")
    var attempts = 2
    @Option(help: "Revise only when the latest attempt's confidence is below this (0...1; default: always revise).")
    var gate: Float?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Threads for the kernels.") var threads = 2
    @Argument(help: "The problem.") var problem: String

    func run() throws {
        let bundle = try ModelBundle.load(from: URL(fileURLWithPath: model), threads: threads)
        let format = try bundle.format(instruction: instruction)
        let options = SelfCorrectOptions(temperature: temperature, maxNewTokens: maxNewTokens, seed: seed,
                                         attempts: attempts, gate: gate)
        try options.validate()
        let (results, _) = try bundle.model.selfCorrect([problem], format: format, options: options)
        guard let result = results.first else { return }
        print("attempt 1: \(try format.text(of: result.attempt1.tokens))")
        print(String(format: "confidence: %.3f", result.confidence))
        let made = result.attempts
        for (k, attempt) in made.enumerated().dropFirst() {
            print("attempt \(k + 1): \(try format.text(of: attempt.tokens))")
        }
        if made.count < attempts {
            print("attempt \(made.count + 1): (not generated: attempt \(made.count) was confident enough)")
        }
    }
}
