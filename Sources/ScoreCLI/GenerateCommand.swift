import ArgumentParser
import Foundation
import ScoreEngine

/// Continues a prompt with a saved model.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Continue a prompt with a saved byte-level model.")

    @Option(help: "Model folder (config.json + model.safetensors).") var model: String
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 0
    @Option(help: "Maximum new tokens.") var maxNewTokens = 32
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Argument(help: "The prompt text.") var prompt: String

    func run() throws {
        let tokenizer = ByteTokenizer()
        let transformer = try Transformer.load(from: URL(fileURLWithPath: model))
        let options = SamplingOptions(temperature: temperature, maxNewTokens: maxNewTokens,
                                      stopTokenIds: tokenizer.specialTokens.eos.map { [$0] } ?? [], seed: seed)
        let prompt = (tokenizer.specialTokens.bos.map { [$0] } ?? []) + tokenizer.encode(self.prompt)
        let result = try transformer.generate(prompts: [prompt], options: options, tokenizer: tokenizer)[0]
        print(self.prompt + result.text)
    }
}
