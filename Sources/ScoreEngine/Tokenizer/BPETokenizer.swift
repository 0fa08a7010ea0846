import Foundation

/// A byte-level BPE tokenizer read from a Hugging Face `tokenizer.json`, as GPT-2, SmolLM,
/// Llama-3 and Qwen2 write them. It gives the same ids as the `tokenizers` library.
///
/// What is read (a value or field outside this list is an `invalidFile` error naming the field):
/// - `model`: type `BPE` with `vocab`, `merges` (`"a b"` strings or `["a", "b"]` pairs),
///   `ignore_merges`, `unk_token`/`fuse_unk`; `byte_fallback` must be false, `dropout` null (or
///   0), `continuing_subword_prefix`/`end_of_word_suffix` null or empty.
/// - `normalizer`: null, or `NFC` (Qwen2).
/// - `pre_tokenizer`: `ByteLevel`, or a `Sequence` of `Split` steps with the GPT-2, Llama-3 or
///   Qwen2 pattern then `ByteLevel` (see `PreTokenizer`).
/// - `decoder`: `ByteLevel`.
/// - `added_tokens`, with `special`, `single_word`, `lstrip`, `rstrip` and `normalized`.
///
/// Not applied, and only read to find the BOS id: `post_processor` (Llama-3's adds BOS; here the
/// chat template adds control tokens). Not applied: `truncation` and `padding` (batching
/// settings, which `transformers` does not apply either). So `encode(text, parseSpecialTokens:
/// true)` equals the `tokenizers` call `encode(text, add_special_tokens=False).ids`.
///
/// `decode(encode(text))` gives back `text` exactly, except that with the NFC normalizer it
/// gives the NFC form, and with `add_prefix_space` a leading space is added.
public struct BPETokenizer: Tokenizer {
    /// One more than the largest id of the vocabulary and the added tokens.
    public let vocabularySize: Int

    /// Only `bos` can be known from tokenizer.json alone: the special token a `TemplateProcessing`
    /// post-processor puts first (Llama-3's `<|begin_of_text|>`). The rest are nil; set them
    /// (from tokenizer_config.json, for example) with `withSpecialTokens(_:)`.
    public private(set) var specialTokens: SpecialTokens

    private let model: BPEModel
    /// The pre-tokenizer (internal so tests can compare its words with `tokenizers`).
    let preTokenizer: PreTokenizer
    /// Whether pieces of text are NFC-normalized before pre-tokenization.
    private let normalizesNFC: Bool
    /// Added tokens with `normalized` false, matched in the raw text.
    private let rawMatcher: AddedTokenMatcher
    /// Added tokens with `normalized` true, matched in the normalized text between raw matches.
    private let normalizedMatcher: AddedTokenMatcher
    /// Added-token ids by content.
    private let addedIds: [String: Int]
    /// The bytes of each id; nil for ids neither the vocabulary nor the added tokens use.
    private let bytesById: [[UInt8]?]

    /// Reads a tokenizer.json file. Throws `ScoreError.io` if it cannot be read and
    /// `ScoreError.invalidFile` (naming the field) if it is not a supported tokenizer.
    public init(contentsOf url: URL) throws {
        let data = try FileContents.read(url)
        try self.init(json: data, path: url.path)
    }

    /// Reads tokenizer.json contents; `path` names the source in errors.
    public init(json: Data, path: String = "tokenizer.json") throws {
        do {
            let file: TokenizerFileJSON
            do {
                file = try JSONDecoder().decode(TokenizerFileJSON.self, from: json)
            } catch let error as DecodingError {
                throw TokenizerFileError(error)
            }
            try self.init(file: file)
        } catch let error as TokenizerFileError {
            throw ScoreError.invalidFile(path: path, reason: error.message)
        }
    }

    /// Builds the tokenizer from the decoded file, validating every section.
    private init(file: TokenizerFileJSON) throws {
        model = try BPEModel(json: file.model)
        preTokenizer = try PreTokenizer(json: file.preTokenizer)
        normalizesNFC = try Self.readNormalizer(file.normalizer)
        try Self.checkDecoder(file.decoder)

        var bytesById = model.bytesById
        var addedIds = [String: Int]()
        var addedContents = [Int: String]()
        var tokens = [AddedToken]()
        for (index, entry) in file.addedTokens.enumerated() {
            let field = "added_tokens[\(index)]"
            guard entry.id >= 0 && entry.id < BPEModel.maximumId else {
                throw TokenizerFileError(field: "\(field).id", reason: "\(entry.id) is outside 0..<\(BPEModel.maximumId)")
            }
            guard !entry.content.isEmpty else {
                throw TokenizerFileError(field: "\(field).content", reason: "empty")
            }
            if addedIds[entry.content] != nil {
                throw TokenizerFileError(field: "\(field).content", reason: "\"\(entry.content)\" is added twice")
            }
            if let other = addedContents[entry.id] {
                throw TokenizerFileError(field: "\(field).id", reason: "duplicate id \(entry.id) (\"\(other)\" and \"\(entry.content)\")")
            }
            addedIds[entry.content] = entry.id
            addedContents[entry.id] = entry.content
            tokens.append(AddedToken(
                id: entry.id, content: entry.content, special: entry.special, singleWord: entry.singleWord,
                lstrip: entry.lstrip, rstrip: entry.rstrip, normalized: entry.normalized))
            if entry.id >= bytesById.count { bytesById += Array(repeating: nil, count: entry.id + 1 - bytesById.count) }
            // An added token decodes to its content, also where it shares an id with a vocab entry.
            bytesById[entry.id] = Array(entry.content.utf8)
        }
        let raw = tokens.filter { !$0.normalized }
        let normalized = tokens.filter(\.normalized)
        rawMatcher = AddedTokenMatcher(tokens: raw, patterns: raw.map { Array($0.content.utf8) })
        let nfc = normalizesNFC
        normalizedMatcher = AddedTokenMatcher(tokens: normalized, patterns: normalized.map { token in
            let bytes = Array(token.content.utf8)
            return nfc ? Self.nfc(bytes[...]) ?? bytes : bytes
        })
        self.addedIds = addedIds
        self.bytesById = bytesById
        vocabularySize = bytesById.count
        let bos = Self.beginningOfSequence(file.postProcessor).flatMap { id in
            id >= 0 && id < bytesById.count && bytesById[id] != nil ? id : nil
        }
        specialTokens = SpecialTokens(bos: bos)
    }

    /// A copy with other special-token ids. Throws `ScoreError.invalidArgument` on an id the
    /// tokenizer does not know.
    public func withSpecialTokens(_ tokens: SpecialTokens) throws -> BPETokenizer {
        let named: [(String, Int?)] = [
            ("bos", tokens.bos), ("eos", tokens.eos), ("pad", tokens.pad), ("user", tokens.user),
            ("assistant", tokens.assistant), ("endTurn", tokens.endTurn),
        ]
        for case let (name, id?) in named where !(id >= 0 && id < bytesById.count && bytesById[id] != nil) {
            throw ScoreError.invalidArgument("special token \(name) id \(id) is not in the tokenizer's vocabulary")
        }
        var copy = self
        copy.specialTokens = tokens
        return copy
    }

    /// Encodes text like the `tokenizers` library with `add_special_tokens=False`.
    ///
    /// With `parseSpecialTokens`, every added token found in the text becomes its id. Without
    /// it, added tokens marked `special` are encoded as plain text (so untrusted text cannot
    /// inject control tokens) while non-special added tokens (such as Qwen2.5's `<tool_call>`)
    /// are still matched; this is what `tokenizers` does with `encode_special_tokens = True`.
    public func encode(_ text: String, parseSpecialTokens: Bool) -> [Int] {
        let bytes = Array(text.utf8)
        var ids = [Int]()
        ids.reserveCapacity(bytes.count / 3 + 1)
        var rawSegments = [AddedTokenSegment]()
        rawMatcher.segments(of: bytes, 0..<bytes.count, parseSpecial: parseSpecialTokens, into: &rawSegments)
        var segments = [AddedTokenSegment]()
        var wordScratch = PreTokenizer.Scratch()
        var mergeScratch = BPEModel.Scratch()
        for rawSegment in rawSegments {
            guard case .text(let rawRange) = rawSegment else {
                if case .token(let id) = rawSegment { ids.append(id) }
                continue
            }
            var piece = bytes
            var pieceRange = rawRange
            if normalizesNFC, let normalized = Self.nfc(bytes[rawRange]) {
                piece = normalized
                pieceRange = 0..<normalized.count
            }
            segments.removeAll(keepingCapacity: true)
            normalizedMatcher.segments(of: piece, pieceRange, parseSpecial: parseSpecialTokens, into: &segments)
            for segment in segments {
                switch segment {
                case .token(let id):
                    ids.append(id)
                case .text(let range):
                    preTokenizer.forEachWord(in: piece, range, scratch: &wordScratch) { wordBytes, word in
                        model.encode(wordBytes, word, into: &ids, scratch: &mergeScratch)
                    }
                }
            }
        }
        return ids
    }

    /// The bytes of each id, one after the other: a vocabulary entry gives the bytes its
    /// characters stand for (see `ByteLevelAlphabet`; an entry with other characters gives its
    /// UTF-8, as the ByteLevel decoder does), an added token its content (also where it shares
    /// its id with a vocabulary entry). `tokenizers` passes added tokens through the ByteLevel
    /// decoder too; that differs only for a content whose characters are all in the byte-level
    /// alphabet and not all ASCII (such as `café`, which it decodes to the bytes 63 61 66 E9).
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            guard id >= 0 && id < bytesById.count, let tokenBytes = bytesById[id] else {
                throw ScoreError.invalidArgument("token id \(id) is not in the tokenizer's vocabulary (0..<\(vocabularySize))")
            }
            bytes.append(contentsOf: tokenBytes)
        }
        return bytes
    }

    /// The id of the added token with this exact content (special or not), or nil.
    public func id(forSpecialToken name: String) -> Int? {
        addedIds[name]
    }

    /// Reads `normalizer`: null or NFC (returns whether it is NFC).
    private static func readNormalizer(_ json: JSONValue) throws -> Bool {
        if json == .null { return false }
        let members = try json.object(at: "normalizer", allowing: ["type"])
        let type = try members.string("type", at: "normalizer", required: true)
        guard type == "NFC" else {
            throw TokenizerFileError(field: "normalizer.type", reason: "\"\(type ?? "")\" is not supported (only null or NFC)")
        }
        return true
    }

    /// Checks that `decoder` is ByteLevel (its options only concern offsets).
    private static func checkDecoder(_ json: JSONValue) throws {
        guard json != .null else {
            throw TokenizerFileError(field: "decoder", reason: "missing; a byte-level BPE needs the ByteLevel decoder")
        }
        let members = try json.object(at: "decoder", allowing: ["type", "add_prefix_space", "trim_offsets", "use_regex"])
        let type = try members.string("type", at: "decoder", required: true)
        guard type == "ByteLevel" else {
            throw TokenizerFileError(field: "decoder.type", reason: "\"\(type ?? "")\" is not supported (only ByteLevel)")
        }
    }

    /// The id a `TemplateProcessing` post-processor (alone or in a `Sequence`) puts before the
    /// text, if it puts exactly one special token there.
    private static func beginningOfSequence(_ json: JSONValue) -> Int? {
        guard case .object(let members) = json, case .string(let type)? = members["type"] else { return nil }
        if type == "Sequence", case .array(let processors)? = members["processors"] {
            return processors.lazy.compactMap(beginningOfSequence).first
        }
        guard type == "TemplateProcessing",
              case .array(let single)? = members["single"],
              case .object(let first)? = single.first,
              case .object(let special)? = first["SpecialToken"],
              case .string(let name)? = special["id"],
              case .object(let table)? = members["special_tokens"],
              case .object(let entry)? = table[name],
              case .array(let ids)? = entry["ids"], ids.count == 1,
              case .number(let id) = ids[0] else { return nil }
        return Int(exactly: id)
    }

    /// The NFC form of UTF-8 text, or nil if it is already NFC by a quick check (every scalar
    /// below U+0300, whose lead bytes are below 0xCC, is NFC-stable).
    ///
    /// Uses the standard library's normalization: Foundation's on Linux composes a character
    /// outside the Basic Multilingual Plane with a following combining mark as if it were the
    /// BMP character with the same low 16 bits (U+10050 + U+0301 gives U+1E54).
    private static func nfc(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        guard bytes.contains(where: { $0 >= 0xCC }) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        let normalized: [UInt8]
        if #available(macOS 13, iOS 16, tvOS 16, watchOS 9, *) {
            normalized = text._nfcCodeUnits
        } else {
            normalized = Array(text.precomposedStringWithCanonicalMapping.utf8)
        }
        return normalized.elementsEqual(bytes) ? nil : normalized
    }
}
