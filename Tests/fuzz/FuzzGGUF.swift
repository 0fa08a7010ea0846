import Foundation

extension Fuzz {
    /// A GGUF file: opened and validated, every tensor dequantized, then each step of
    /// `ModelBundle.load(gguf:)` tried on its own: the model configuration (and the model itself
    /// when the tensors match it), the embedded tokenizer files, the tokenizer, tokenizer config and
    /// generation config they convert to, and the chat layout derived from the embedded template.
    static let ggufTarget = FuzzTarget(
        name: "gguf", summary: "a .gguf file: GGUFFile, dequantization, GGUF -> config/model/tokenizer/template"
    ) { data in
        guard let file = try? GGUFFile(contentsOf: file("model.gguf", data)) else { return }
        for tensor in file.tensors { _ = try? file.floats(tensor.name) }
        for (_, value) in file.metadata { _ = (value.intValue, value.doubleValue, value.typeName) }
        if (try? ModelConfig(gguf: file)) != nil {
            _ = try? Transformer.load(gguf: file, threads: 1)
        }
        guard let files = try? GGUFTokenizerFiles(file) else { return }
        let generation = try? GenerationDefaults.parse(files.generationConfig)
        guard let tokenizer = try? BPETokenizer(json: files.tokenizerJSON, path: file.path) else { return }
        exercise(tokenizer)
        guard let config = try? TokenizerConfig(json: files.tokenizerConfig, path: file.path),
              let template = config.chatTemplate,
              let layout = deriveLayout(tokenizer, template: template, bos: config.bosToken, eos: config.eosToken,
                                        pad: config.padToken, unk: config.unkToken, source: file.path) else { return }
        if let stops = generation?.eosTokenIds, !stops.isEmpty { _ = try? layout.addingStopTokens(stops) }
    }
}
