import ArgumentParser
import Foundation
import ScoreEngine

/// Continues a prompt (raw text, no chat template) with a model folder.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Continue a raw text prompt (no chat template) with a model folder.")

    @Option(help: "Model folder (libscore's, or Hugging Face's with tokenizer.json) or GGUF file.") var model: String
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 0
    @Option(help: "Maximum new tokens.") var maxNewTokens = 32
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Threads for the kernels.") var threads = 2
    @Argument(help: "The prompt text.") var prompt: String

    func run() throws {
        let bundle = try ModelBundle.load(from: URL(fileURLWithPath: model), threads: threads)
        let tokenizer = bundle.tokenizer
        let eos = (bundle.generationDefaults?.eosTokenIds ?? []) + (tokenizer.specialTokens.eos.map { [$0] } ?? [])
        let options = SamplingOptions(temperature: temperature, maxNewTokens: maxNewTokens, stopTokenIds: eos, seed: seed)
        let ids = (tokenizer.specialTokens.bos.map { [$0] } ?? []) + tokenizer.encode(prompt)
        let result = try bundle.model.generate(prompts: [ids], options: options, tokenizer: tokenizer)[0]
        print(prompt + result.text)
    }
}
