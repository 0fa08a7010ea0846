import Foundation

/// A model folder read whole: the weights, the tokenizer and the chat template, which together
/// lay out a two-attempt exchange. A Hugging Face folder (with `tokenizer.json` and
/// `tokenizer_config.json`) gets its byte-level BPE tokenizer and its own chat template; a folder
/// libscore saved for its byte tokenizer (no `tokenizer.json`) gets the byte tokenizer and its
/// turn markers.
public struct ModelBundle: Sendable {
    /// The weights.
    public let model: Transformer
    /// The layout of conversations, holding the tokenizer.
    public let template: ChatTemplate
    /// The folder's `generation_config.json`, if any.
    public let generationDefaults: GenerationDefaults?
    /// The folder or GGUF file the bundle was read from (a folder's tokenizer files are copied on
    /// save); nil for a bundle made in memory.
    public let source: URL?
    /// Tokenizer files written on save beside the weights, by name: those made from a GGUF file's
    /// metadata (empty for a bundle read from a folder).
    public let tokenizerFiles: [String: Data]

    /// The tokenizer.
    public var tokenizer: any Tokenizer { template.tokenizer }

    /// Whether the tokenizer is the byte tokenizer (one token per byte), whose context is spent
    /// quickly: such bundles default to the short self-correction instruction.
    public var usesByteTokenizer: Bool { tokenizer is ByteTokenizer }

    /// A bundle from parts; `template` nil means the tokenizer's turn markers.
    public init(model: Transformer, tokenizer: any Tokenizer = ByteTokenizer(), template: ChatTemplate? = nil,
                generationDefaults: GenerationDefaults? = nil, source: URL? = nil,
                tokenizerFiles: [String: Data] = [:]) throws {
        guard model.config.vocabSize >= tokenizer.vocabularySize else {
            throw ScoreError.invalidArgument("the model's vocabulary (\(model.config.vocabSize)) is smaller than the "
                                             + "tokenizer's \(tokenizer.vocabularySize) ids")
        }
        self.model = model
        self.template = try template ?? ChatTemplate.turnMarkers(tokenizer: tokenizer)
        self.generationDefaults = generationDefaults
        self.source = source
        self.tokenizerFiles = tokenizerFiles
    }

    /// Reads a model folder, or a GGUF file when `directory` is a file whose name ends in `.gguf`
    /// (see `load(gguf:threads:template:date:)`). `template` replaces the folder's chat template (a
    /// host-supplied layout for a template the engine cannot lay out; it must be built on this folder's
    /// tokenizer, see `tokenizer(in:)`); `date` is the Llama-3 "Today Date" (default: what the
    /// template says). The folder's generation EOS ids also stop answers.
    public static func load(from directory: URL, threads: Int = 1, template: ChatTemplate? = nil,
                            date: String? = nil) throws -> ModelBundle {
        if isGGUF(directory) { return try load(gguf: directory, threads: threads, template: template, date: date) }
        // The cheap checks (tokenizer, template) run before the weights are read.
        let tokenizer = try Self.tokenizer(in: directory)
        var layout: ChatTemplate
        if let template {
            layout = template
        } else if tokenizer is ByteTokenizer {
            layout = try ChatTemplate.turnMarkers(tokenizer: tokenizer)
        } else {
            layout = try ChatTemplate(tokenizer: tokenizer, config: try TokenizerConfig.load(from: directory), date: date)
        }
        let pretrained = try Transformer.loadPretrained(from: directory, threads: threads)
        let configPath = directory.appendingPathComponent(Transformer.configFileName).path
        guard pretrained.model.config.vocabSize >= tokenizer.vocabularySize else {
            throw ScoreError.invalidFile(path: configPath, reason: "vocab_size \(pretrained.model.config.vocabSize) is "
                                         + "smaller than the tokenizer's \(tokenizer.vocabularySize) ids")
        }
        if !(tokenizer is ByteTokenizer), let eos = pretrained.generationDefaults?.eosTokenIds, !eos.isEmpty {
            do {
                layout = try layout.addingStopTokens(eos)
            } catch let error as ScoreError {
                throw ScoreError.invalidFile(
                    path: directory.appendingPathComponent(GenerationDefaults.fileName).path,
                    reason: "eos_token_id: \(error)")
            }
        }
        return try ModelBundle(model: pretrained.model, tokenizer: tokenizer, template: layout,
                               generationDefaults: pretrained.generationDefaults, source: directory)
    }

    /// The tokenizer of a GGUF file's metadata, or the folder's: `tokenizer.json` when present, else the byte tokenizer. A folder
    /// whose tokenizer comes only in another form (SentencePiece `tokenizer.model`, or
    /// `vocab.json` with `merges.txt`) is refused rather than read with the wrong tokenizer.
    public static func tokenizer(in directory: URL) throws -> any Tokenizer {
        if isGGUF(directory) { return try tokenizer(inGGUF: directory) }
        let url = directory.appendingPathComponent("tokenizer.json")
        if FileManager.default.fileExists(atPath: url.path) { return try BPETokenizer(contentsOf: url) }
        for other in ["tokenizer.model", "vocab.json", "merges.txt"]
        where FileManager.default.fileExists(atPath: directory.appendingPathComponent(other).path) {
            throw ScoreError.invalidFile(path: directory.appendingPathComponent(other).path, reason:
                "this tokenizer format is not supported; the folder needs a tokenizer.json (byte-level BPE)")
        }
        return ByteTokenizer()
    }

    /// The two-attempt format with `instruction` (nil: the short wording for the byte tokenizer,
    /// the paper's otherwise).
    public func format(instruction: String? = nil) throws -> SelfCorrectionFormat {
        let text = instruction ?? (usesByteTokenizer ? SelfCorrectionFormat.shortInstruction
                                                     : SelfCorrectionFormat.defaultInstruction)
        return try SelfCorrectionFormat(template: template, instruction: text)
    }

    /// Saves the weights and config to `directory` with the tokenizer and generation files (copied
    /// from the source folder, or made from the GGUF file's metadata), so `transformers` (and
    /// `load`) read the folder back. The folder appears whole, as `Transformer.save` says.
    public func save(to directory: URL) throws {
        try AtomicFolder.write(directory) { folder in
            try model.writeFiles(into: folder, mergingAdapters: true)
            if tokenizerFiles.isEmpty, let source { try Transformer.copyTokenizerFiles(from: source, to: folder) }
            for (name, data) in tokenizerFiles.sorted(by: { $0.key < $1.key }) {
                try AtomicFileWriter.write(data, to: folder.appendingPathComponent(name))
            }
        }
    }
}
