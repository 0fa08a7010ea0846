import ArgumentParser
import Foundation
import ScoreEngine

/// Options shared by the commands that read a model folder and score attempts.
struct ModelFolderOptions: ParsableArguments {
    @Option(help: "Model folder (libscore's, or Hugging Face's with tokenizer.json and tokenizer_config.json) or GGUF file.")
    var model: String
    @Option(help: "Verifier: final-answer, exact-match or arithmetic (default: arithmetic for the built-in task, else final-answer).")
    var verifier: String?
    @Option(help: "Self-correction instruction (default: the library's for this tokenizer).") var instruction: String?
    @Option(help: "Threads for the kernels.") var threads = 2
    @Option(help: "A PEFT LoRA adapter folder to apply on the model.") var adapter: String?

    /// The model folder with its tokenizer and chat template, and the adapter when given.
    func bundle() throws -> ModelBundle {
        let bundle = try ModelBundle.load(from: URL(fileURLWithPath: model), threads: threads)
        if let adapter {
            try bundle.model.attach(LoRAAdapters.load(from: URL(fileURLWithPath: adapter), config: bundle.model.config))
        }
        return bundle
    }

    /// The chosen built-in verifier; `builtInTask` picks the default.
    func chosenVerifier(builtInTask: Bool) throws -> any Verifier {
        switch verifier ?? (builtInTask ? "arithmetic" : "final-answer") {
        case "final-answer": return FinalAnswerVerifier()
        case "exact-match": return ExactMatchVerifier()
        case "arithmetic": return ArithmeticVerifier()
        case let other: throw ValidationError("unknown verifier '\(other)' (final-answer, exact-match, arithmetic)")
        }
    }
}
