import Foundation

extension Fuzz {
    /// A GGUF file: opened and validated, every tensor dequantized, then each step of
    /// `ModelBundle.load(gguf:)` tried on its own: the model configuration (and the model itself
    /// when the tensors match it), the embedded tokenizer files, the tokenizer, tokenizer config and
    /// generation config they convert to, and the chat layout derived from the embedded template.
    static let ggufTarget = FuzzTarget(
        name: "gguf", summary: "a .gguf file: GGUFFile, dequantization, GGUF -> config/model/tokenizer/template"
    ) { data in
        let url = file("model.gguf", data)
        guard let file = attempt("GGUFFile", { try GGUFFile(contentsOf: url) }) else { return }
        for tensor in file.tensors { _ = attempt("dequantize \(tensor.name)") { try file.floats(tensor.name) } }
        for (_, value) in file.metadata { consume((value.intValue, value.doubleValue, value.typeName)) }
        if attempt("ModelConfig(gguf:)", { try ModelConfig(gguf: file) }) != nil {
            _ = attempt("Transformer.load(gguf:)") { try Transformer.load(gguf: file, threads: 1) }
        }
        guard let files = attempt("GGUFTokenizerFiles", { try GGUFTokenizerFiles(file) }) else { return }
        let generation = attempt("GenerationDefaults.parse") { try GenerationDefaults.parse(files.generationConfig) }
        guard let tokenizer = attempt("BPETokenizer", { try BPETokenizer(json: files.tokenizerJSON, path: file.path) }) else { return }
        exercise(tokenizer)
        guard let config = attempt("TokenizerConfig", { try TokenizerConfig(json: files.tokenizerConfig, path: file.path) }),
              let template = config.chatTemplate,
              let layout = deriveLayout(tokenizer, template: template, bos: config.bosToken, eos: config.eosToken,
                                        pad: config.padToken, unk: config.unkToken, source: file.path) else { return }
        if let stops = generation?.eosTokenIds, !stops.isEmpty { _ = attempt("addingStopTokens") { try layout.addingStopTokens(stops) } }
    }
}
