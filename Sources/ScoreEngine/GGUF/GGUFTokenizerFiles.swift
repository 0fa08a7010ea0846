import Foundation

/// The Hugging Face tokenizer files of a GGUF file's embedded tokenizer (`tokenizer.ggml.*`,
/// `tokenizer.chat_template`): `tokenizer.json`, `tokenizer_config.json` and
/// `generation_config.json`, written as the original model folder has them, so that the engine
/// reads them with its usual readers and a saved GGUF-loaded policy is an ordinary folder.
///
/// Only gpt2-style byte-level BPE is supported (`tokenizer.ggml.model` = `gpt2`). The
/// pre-tokenizer comes from llama.cpp's name for it (`tokenizer.ggml.pre`):
///
/// | name                          | pre-tokenizer of the original tokenizer.json            |
/// |-------------------------------|---------------------------------------------------------|
/// | `gpt-2`                       | ByteLevel with GPT-2's pattern                          |
/// | `smollm`, `starcoder`         | Digits (each digit alone), then ByteLevel with GPT-2's  |
/// | `llama-bpe`, `llama3`         | Split with Llama-3's pattern, ByteLevel; merges ignored for whole-word tokens |
/// | `qwen2`, `deepseek-r1-qwen`   | NFC, Split with Qwen2's pattern, ByteLevel              |
///
/// Token types: control tokens (3) become special added tokens; user-defined ones (4) non-special
/// added tokens, except the `[PADn]` fillers llama.cpp's converter writes for unused ids.
public struct GGUFTokenizerFiles: Sendable {
    /// `tokenizer.json`.
    public let tokenizerJSON: Data
    /// `tokenizer_config.json`: chat template and the BOS, EOS, PAD and UNK token names.
    public let tokenizerConfig: Data
    /// `generation_config.json`: BOS, EOS (with the end-of-turn token when the file names one)
    /// and PAD ids.
    public let generationConfig: Data

    /// The files by their names in a model folder.
    public var byName: [(String, Data)] {
        [("tokenizer.json", tokenizerJSON), (TokenizerConfig.fileName, tokenizerConfig),
         (GenerationDefaults.fileName, generationConfig)]
    }

    /// Builds the files from `file`'s metadata. Throws `ScoreError.invalidFile` naming the key
    /// when the tokenizer is missing, of another kind, or malformed.
    public init(_ file: GGUFFile) throws {
        func invalid(_ reason: String) -> ScoreError { .invalidFile(path: file.path, reason: reason) }
        let model = file["tokenizer.ggml.model"]?.stringValue
        guard model == "gpt2" else {
            throw invalid("tokenizer.ggml.model is \(model.map { "'\($0)'" } ?? "missing"); only gpt2-style byte-level "
                          + "BPE ('gpt2') is supported")
        }
        guard let tokenValues = file["tokenizer.ggml.tokens"]?.arrayValue, !tokenValues.isEmpty else {
            throw invalid("tokenizer.ggml.tokens is missing or not a non-empty array")
        }
        let tokens = try tokenValues.enumerated().map { i, value in
            guard let text = value.stringValue else { throw invalid("tokenizer.ggml.tokens[\(i)] is not a string") }
            return text
        }
        let merges = try (file["tokenizer.ggml.merges"]?.arrayValue ?? []).enumerated().map { i, value in
            guard let text = value.stringValue else { throw invalid("tokenizer.ggml.merges[\(i)] is not a string") }
            return text
        }
        var types = [Int](repeating: 1, count: tokens.count)
        if let values = file["tokenizer.ggml.token_type"]?.arrayValue {
            guard values.count == tokens.count else {
                throw invalid("tokenizer.ggml.token_type has \(values.count) entries for \(tokens.count) tokens")
            }
            types = try values.enumerated().map { i, value in
                guard let type = value.intValue else { throw invalid("tokenizer.ggml.token_type[\(i)] is not an integer") }
                return type
            }
        }
        func tokenID(_ key: String) throws -> Int? {
            guard let value = file["tokenizer.ggml.\(key)"] else { return nil }
            guard let id = value.intValue, id >= 0, id < tokens.count else {
                throw invalid("tokenizer.ggml.\(key) is not a token id below \(tokens.count)")
            }
            return id
        }
        let pre = try Self.preTokenizer(file)
        let addPrefixSpace = file["tokenizer.ggml.add_space_prefix"]?.boolValue ?? false

        var vocab = [String: Int](minimumCapacity: tokens.count)
        var added = [[String: Any]]()
        for (id, token) in tokens.enumerated() {
            if vocab[token] == nil { vocab[token] = id }
            let type = types[id]
            guard type == 3 || (type == 4 && !Self.isPadFiller(token)) else { continue }
            added.append(["id": id, "content": token, "special": type == 3, "single_word": false, "lstrip": false,
                          "rstrip": false, "normalized": false])
        }
        var byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": addPrefixSpace, "trim_offsets": true,
                                        "use_regex": pre.splits.isEmpty]
        let preTokenizer: Any
        if pre.splits.isEmpty && !pre.digits {
            preTokenizer = byteLevel
        } else {
            var steps = [Any]()
            if pre.digits { steps.append(["type": "Digits", "individual_digits": true]) }
            for pattern in pre.splits {
                steps.append(["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false])
            }
            if pre.digits { byteLevel["use_regex"] = true }
            steps.append(byteLevel)
            preTokenizer = ["type": "Sequence", "pretokenizers": steps]
        }
        let bos = try tokenID("bos_token_id"), eos = try tokenID("eos_token_id")
        let addBOS = file["tokenizer.ggml.add_bos_token"]?.boolValue ?? false
        var postProcessor: Any = NSNull()
        if addBOS, let bos {
            postProcessor = [
                "type": "TemplateProcessing",
                "single": [["SpecialToken": ["id": tokens[bos], "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                "pair": [["SpecialToken": ["id": tokens[bos], "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                         ["SpecialToken": ["id": tokens[bos], "type_id": 1]], ["Sequence": ["id": "B", "type_id": 1]]],
                "special_tokens": [tokens[bos]: ["id": tokens[bos], "ids": [bos], "tokens": [tokens[bos]]]],
            ] as [String: Any]
        }
        let json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": pre.nfc ? ["type": "NFC"] : NSNull(), "pre_tokenizer": preTokenizer,
            "post_processor": postProcessor,
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false,
                "ignore_merges": pre.ignoreMerges, "vocab": vocab, "merges": merges,
            ] as [String: Any],
        ]
        tokenizerJSON = try Self.encode(json, path: file.path)

        let pad = try tokenID("padding_token_id"), unknown = try tokenID("unknown_token_id")
        var config: [String: Any] = ["add_bos_token": addBOS, "tokenizer_class": "PreTrainedTokenizerFast"]
        for (key, id) in [("bos_token", bos), ("eos_token", eos), ("pad_token", pad), ("unk_token", unknown)] {
            if let id { config[key] = tokens[id] }
        }
        if let template = file["tokenizer.chat_template"] {
            guard let text = template.stringValue else { throw invalid("tokenizer.chat_template is not a string") }
            config["chat_template"] = text
        }
        if let context = file["\(file["general.architecture"]?.stringValue ?? "").context_length"]?.intValue {
            config["model_max_length"] = context
        }
        tokenizerConfig = try Self.encode(config, path: file.path)

        var stops = [Int]()
        for key in ["eos_token_id", "eot_token_id", "eom_token_id"] {
            if let id = try tokenID(key), !stops.contains(id) { stops.append(id) }
        }
        var generation: [String: Any] = [:]
        if let bos { generation["bos_token_id"] = bos }
        if !stops.isEmpty { generation["eos_token_id"] = stops.count == 1 ? stops[0] as Any : stops as Any }
        if let pad { generation["pad_token_id"] = pad }
        generationConfig = try Self.encode(generation, path: file.path)
    }

    /// The pre-tokenizer of the original tokenizer.json for `tokenizer.ggml.pre`.
    private static func preTokenizer(_ file: GGUFFile) throws -> (splits: [String], digits: Bool, nfc: Bool, ignoreMerges: Bool) {
        let name = file["tokenizer.ggml.pre"]?.stringValue
        func source(_ pattern: SplitPattern) -> String { SplitPattern.sources.first { $0.0 == pattern }?.1 ?? "" }
        switch name {
        case "gpt-2"?, "gpt2"?: return ([], false, false, false)
        case "smollm"?, "starcoder"?: return ([], true, false, false)
        case "llama-bpe"?, "llama3"?: return ([source(.llama3)], false, false, true)
        case "qwen2"?, "deepseek-r1-qwen"?: return ([source(.qwen2)], false, true, false)
        default:
            throw ScoreError.invalidFile(path: file.path, reason: "tokenizer.ggml.pre is "
                + (name.map { "'\($0)'" } ?? "missing") + "; supported pre-tokenizers: gpt-2, smollm, starcoder, "
                + "llama-bpe, llama3, qwen2, deepseek-r1-qwen")
        }
    }

    /// Whether `token` is a `[PADn]` filler for an unused id.
    private static func isPadFiller(_ token: String) -> Bool {
        token.hasPrefix("[PAD") && token.hasSuffix("]") && Int(token.dropFirst(4).dropLast()) != nil
    }

    private static func encode(_ object: Any, path: String) throws -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw ScoreError.invalidFile(path: path, reason: "cannot write the tokenizer as JSON: \(error)")
        }
    }
}
