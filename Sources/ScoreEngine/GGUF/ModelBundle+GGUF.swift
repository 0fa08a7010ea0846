import Foundation

/// Model bundles read from GGUF files: weights, tokenizer and chat template from one file.
extension ModelBundle {
    /// Whether `url` names a GGUF file (an existing file, not a folder, ending in `.gguf`).
    public static func isGGUF(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return url.pathExtension.lowercased() == "gguf"
            && FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Reads a GGUF file: the model (see `Transformer.load(gguf:threads:)`), its embedded tokenizer
    /// (see `GGUFTokenizerFiles`), its chat template (`tokenizer.chat_template`, unless `template`
    /// replaces it) and its EOS and end-of-turn ids as stop tokens. Saving the bundle writes an
    /// ordinary Hugging Face folder.
    public static func load(gguf url: URL, threads: Int = 1, template: ChatTemplate? = nil,
                            date: String? = nil) throws -> ModelBundle {
        let file = try GGUFFile(contentsOf: url)
        let files = try GGUFTokenizerFiles(file)
        let tokenizer = try Self.tokenizer(from: files, path: url.path)
        var layout = try template ?? ChatTemplate(
            tokenizer: tokenizer, config: TokenizerConfig(json: files.tokenizerConfig, path: url.path), date: date)
        let generation = try GenerationDefaults.parse(files.generationConfig)
        if !generation.eosTokenIds.isEmpty { layout = try layout.addingStopTokens(generation.eosTokenIds) }
        let model = try Transformer.load(gguf: file, threads: threads)
        return try ModelBundle(model: model, tokenizer: tokenizer, template: layout, generationDefaults: generation,
                               source: url, tokenizerFiles: Dictionary(uniqueKeysWithValues: files.byName))
    }

    /// The tokenizer of a GGUF file's metadata.
    static func tokenizer(inGGUF url: URL) throws -> any Tokenizer {
        try tokenizer(from: GGUFTokenizerFiles(GGUFFile(contentsOf: url)), path: url.path)
    }

    private static func tokenizer(from files: GGUFTokenizerFiles, path: String) throws -> BPETokenizer {
        do {
            return try BPETokenizer(json: files.tokenizerJSON, path: path)
        } catch ScoreError.invalidFile(_, let reason) {
            throw ScoreError.invalidFile(path: path, reason: "the embedded tokenizer (tokenizer.ggml.*): \(reason)")
        }
    }
}
