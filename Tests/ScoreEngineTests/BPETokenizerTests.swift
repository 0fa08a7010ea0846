import Foundation
import Testing
@testable import ScoreEngine

/// Parity of `BPETokenizer` with the Hugging Face `tokenizers` library, from the committed
/// fixtures made by Fixtures/tokenizers/make_tokenizer_fixtures.py (no Python needed here), plus
/// the behaviour the fixtures cannot show: malformed files, ids outside the vocabulary, options
/// set by construction.
struct BPETokenizerTests {
    static let families = ["gpt2", "smollm", "llama3", "qwen2", "options"]

    /// Families whose decode gives back the input exactly (no normalizer, no added prefix space).
    static let exactFamilies = ["gpt2", "smollm", "llama3"]

    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_plain: [Int]
        let decoded: String
        let pieces: [String]
    }

    struct CaseFile: Decodable {
        let vocab_size: Int
        let cases: [Case]
    }

    static func folder(_ family: String) throws -> URL {
        guard let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw ScoreError.invalidArgument("fixtures folder missing from the test bundle")
        }
        return fixtures.appendingPathComponent("tokenizers").appendingPathComponent(family)
    }

    static func tokenizer(_ family: String) throws -> BPETokenizer {
        try BPETokenizer(contentsOf: folder(family).appendingPathComponent("tokenizer.json"))
    }

    static func cases(_ family: String) throws -> CaseFile {
        try JSONDecoder().decode(CaseFile.self, from: Data(contentsOf: folder(family).appendingPathComponent("cases.json")))
    }

    /// The family's tokenizer.json as a mutable JSON object.
    static func json(_ family: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder(family).appendingPathComponent("tokenizer.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func tokenizer(json: [String: Any]) throws -> BPETokenizer {
        try BPETokenizer(json: JSONSerialization.data(withJSONObject: json), path: "test.json")
    }

    // MARK: Parity

    @Test(arguments: families)
    func idsMatchTokenizers(family: String) throws {
        let tokenizer = try Self.tokenizer(family)
        let file = try Self.cases(family)
        #expect(file.cases.count > 80)
        #expect(tokenizer.vocabularySize == file.vocab_size)
        for item in file.cases {
            let ids = tokenizer.encode(item.text, parseSpecialTokens: true)
            #expect(ids == item.ids, "\(family) \(item.text.debugDescription) with special tokens")
            let plain = tokenizer.encode(item.text, parseSpecialTokens: false)
            #expect(plain == item.ids_plain, "\(family) \(item.text.debugDescription) as plain text")
            #expect(tokenizer.encode(item.text) == plain)
            #expect(try tokenizer.decode(item.ids) == item.decoded, "\(family) decode of \(item.text.debugDescription)")
            // decodeBytes is concatenative: token by token gives the same bytes.
            let together = try tokenizer.decodeBytes(item.ids)
            let oneByOne = try item.ids.flatMap { try tokenizer.decodeBytes([$0]) }
            #expect(together == oneByOne)
        }
    }

    @Test(arguments: families)
    func preTokenizerWordsMatchTokenizers(family: String) throws {
        let preTokenizer = try Self.tokenizer(family).preTokenizer
        var scratch = PreTokenizer.Scratch()
        for item in try Self.cases(family).cases {
            let bytes = Array(item.text.utf8)
            var words = [String]()
            preTokenizer.forEachWord(in: bytes, 0..<bytes.count, scratch: &scratch) { buffer, range in
                words.append(String(String.UnicodeScalarView(buffer[range].map { ByteLevelAlphabet.scalarForByte[Int($0)] })))
            }
            #expect(words == item.pieces, "\(family) \(item.text.debugDescription)")
        }
    }

    @Test(arguments: exactFamilies)
    func decodeOfEncodeIsExact(family: String) throws {
        let tokenizer = try Self.tokenizer(family)
        var texts = try Self.cases(family).cases.map(\.text)
        // Random scalars from ASCII, Latin, combining marks, CJK, emoji and whitespace.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let ranges: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x09...0x0D, 0xA0...0x17F, 0x300...0x36F, 0x3040...0x30FF, 0x4E00...0x4E80,
            0x1F300...0x1F64F, 0x2000...0x202F, 0x0660...0x0669,
        ]
        for _ in 0..<200 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<next(30) {
                let range = ranges[next(ranges.count)]
                scalars.append(Unicode.Scalar(range.lowerBound + UInt32(next(Int(range.upperBound - range.lowerBound) + 1)))!)
            }
            texts.append(String(scalars))
        }
        for text in texts {
            for parse in [true, false] {
                let ids = tokenizer.encode(text, parseSpecialTokens: parse)
                #expect(try tokenizer.decodeBytes(ids) == Array(text.utf8), "\(family) \(text.debugDescription)")
            }
        }
    }

    @Test func qwen2NormalizesToNFC() throws {
        let tokenizer = try Self.tokenizer("qwen2")
        let decomposed = "Zu\u{0308}rich cafe\u{0301}"
        let composed = "Z\u{00FC}rich caf\u{00E9}"
        #expect(tokenizer.encode(decomposed) == tokenizer.encode(composed))
        #expect(try tokenizer.decodeBytes(tokenizer.encode(decomposed)) == Array(composed.utf8))
        // Hangul jamo compose; a non-BMP character does not compose with a following mark.
        let jamo = "\u{1100}\u{1161}\u{11A8}"
        #expect(try tokenizer.decode(tokenizer.encode(jamo)) == "\u{AC01}")
        let astral = "\u{10050}\u{0301}\u{E0075}\u{0301}"
        #expect(try tokenizer.decodeBytes(tokenizer.encode(astral)) == Array(astral.utf8))
    }

    @Test func decodeBytesConcatenatesInsideACharacter() throws {
        let tokenizer = try Self.tokenizer("llama3")
        let text = "x𝔘y"  // a 4-byte character the small vocabulary has never merged
        let ids = tokenizer.encode(text)
        let pieces = try ids.map { try tokenizer.decodeBytes([$0]) }
        #expect(pieces.contains { String(validating: $0, as: UTF8.self) == nil }, "expected a token holding part of 𝔘")
        #expect(pieces.flatMap { $0 } == Array(text.utf8))
        #expect(try tokenizer.decode(ids) == text)
        // A token alone that holds part of a character decodes with U+FFFD.
        let partial = ids.first { String(validating: try! tokenizer.decodeBytes([$0]), as: UTF8.self) == nil }!
        #expect(try tokenizer.decode([partial]).contains("\u{FFFD}"))
    }

    // MARK: Added tokens and special ids

    @Test func specialTokensAndAddedTokens() throws {
        let llama = try Self.tokenizer("llama3")
        let added = try Self.json("llama3")["added_tokens"] as! [[String: Any]]
        for entry in added {
            let id = entry["id"] as! Int, content = entry["content"] as! String
            #expect(llama.id(forSpecialToken: content) == id)
            #expect(try llama.decodeBytes([id]) == Array(content.utf8))
            #expect(llama.encode(content, parseSpecialTokens: true) == [id])
            #expect(!llama.encode(content, parseSpecialTokens: false).contains(id))
        }
        #expect(llama.id(forSpecialToken: "<|not_a_token|>") == nil)
        #expect(llama.specialTokens == SpecialTokens(bos: llama.id(forSpecialToken: "<|begin_of_text|>")))

        let qwen = try Self.tokenizer("qwen2")
        #expect(qwen.specialTokens == SpecialTokens())
        // Non-special added tokens are matched even when special tokens are not parsed.
        let toolCall = try #require(qwen.id(forSpecialToken: "<tool_call>"))
        let imStart = try #require(qwen.id(forSpecialToken: "<|im_start|>"))
        let plain = qwen.encode("<|im_start|><tool_call>", parseSpecialTokens: false)
        #expect(plain.contains(toolCall) && !plain.contains(imStart))

        // GPT-2's <|endoftext|> is both the last vocab entry and an added token.
        let gpt2 = try Self.tokenizer("gpt2")
        #expect(gpt2.id(forSpecialToken: "<|endoftext|>") == gpt2.vocabularySize - 1)
        #expect(gpt2.specialTokens == SpecialTokens())
    }

    @Test func withSpecialTokensChecksIds() throws {
        let tokenizer = try Self.tokenizer("qwen2")
        let imEnd = try #require(tokenizer.id(forSpecialToken: "<|im_end|>"))
        let set = try tokenizer.withSpecialTokens(SpecialTokens(eos: imEnd, pad: imEnd))
        #expect(set.specialTokens == SpecialTokens(eos: imEnd, pad: imEnd))
        #expect(set.encode("hello") == tokenizer.encode("hello"))
        #expect(throws: ScoreError.self) { try tokenizer.withSpecialTokens(SpecialTokens(eos: tokenizer.vocabularySize)) }
        #expect(throws: ScoreError.self) { try tokenizer.withSpecialTokens(SpecialTokens(bos: -1)) }
    }

    @Test func unknownIdsAreRejected() throws {
        let tokenizer = try Self.tokenizer("gpt2")
        for ids in [[tokenizer.vocabularySize], [-1], [0, 1_000_000]] {
            let error = #expect(throws: ScoreError.self) { try tokenizer.decodeBytes(ids) }
            guard case .invalidArgument(let message)? = error else {
                Issue.record("expected invalidArgument, got \(String(describing: error))")
                continue
            }
            #expect(message.contains("not in the tokenizer's vocabulary"))
        }
        #expect(try tokenizer.decodeBytes([]) == [])
    }

    // MARK: File formats

    @Test func mergesAsStringsOrPairsGiveTheSameIds() throws {
        for family in ["gpt2", "llama3"] {
            var json = try Self.json(family)
            var model = json["model"] as! [String: Any]
            if let strings = model["merges"] as? [String] {
                model["merges"] = strings.map { $0.split(separator: " ").map(String.init) }
            } else {
                model["merges"] = (model["merges"] as! [[String]]).map { $0.joined(separator: " ") }
            }
            json["model"] = model
            let converted = try Self.tokenizer(json: json)
            let original = try Self.tokenizer(family)
            for item in try Self.cases(family).cases {
                #expect(converted.encode(item.text, parseSpecialTokens: true) == item.ids)
                #expect(converted.encode(item.text) == original.encode(item.text))
            }
        }
    }

    /// A tokenizer with the 256 byte characters at ids 0–255, then `ab`, `bc`, `abc` and merges
    /// `b c` (first) and `a b`. Expected ids were checked against `tokenizers`.
    static func tinyTokenizer(
        ignoreMerges: Bool, unknown: String? = nil, fuseUnknown: Bool = false, dropHighBytes: Bool = false
    ) throws -> BPETokenizer {
        var vocab = [String: Int]()
        for byte in 0..<256 where !(dropHighBytes && byte >= 0x80) {
            vocab[String(ByteLevelAlphabet.scalarForByte[byte])] = byte
        }
        vocab["ab"] = 256
        vocab["bc"] = 257
        vocab["abc"] = 258
        if let unknown { vocab[unknown] = 259 }
        let json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": [Any](),
            "normalizer": NSNull(), "post_processor": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": unknown as Any? ?? NSNull(),
                "continuing_subword_prefix": NSNull(), "end_of_word_suffix": NSNull(), "fuse_unk": fuseUnknown,
                "byte_fallback": false, "ignore_merges": ignoreMerges, "vocab": vocab, "merges": ["b c", "a b"],
            ] as [String: Any],
        ]
        return try tokenizer(json: json)
    }

    @Test func ignoreMergesEmitsVocabularyWordsWhole() throws {
        let merging = try Self.tinyTokenizer(ignoreMerges: false)
        let whole = try Self.tinyTokenizer(ignoreMerges: true)
        #expect(merging.encode("abc") == [97, 257])
        #expect(whole.encode("abc") == [258])
        #expect(merging.encode("xabc") == [120, 97, 257])
        #expect(whole.encode("xabc") == [120, 97, 257])
        #expect(whole.encode("ab abc") == [256, 32, 97, 257])
        #expect(merging.vocabularySize == 259)
    }

    @Test func bytesMissingFromTheVocabulary() throws {
        let dropped = try Self.tinyTokenizer(ignoreMerges: false, dropHighBytes: true)
        let unknown = try Self.tinyTokenizer(ignoreMerges: false, unknown: "<unk>", dropHighBytes: true)
        let fused = try Self.tinyTokenizer(ignoreMerges: false, unknown: "<unk>", fuseUnknown: true, dropHighBytes: true)
        #expect(dropped.encode("aé") == [97])
        #expect(unknown.encode("aé") == [97, 259, 259])
        #expect(fused.encode("aé") == [97, 259])
        #expect(dropped.encode("éé b") == [32, 98])
        #expect(unknown.encode("éé b") == [259, 259, 259, 259, 32, 98])
        #expect(fused.encode("éé b") == [259, 32, 98])
        #expect(fused.encode("ab") == [256])
    }

    /// Expects `BPETokenizer(json:)` to fail with `invalidFile` whose reason contains `fragment`.
    static func expectInvalid(_ data: Data, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: ScoreError.self, sourceLocation: sourceLocation) {
            _ = try BPETokenizer(json: data, path: "test.json")
        }
        guard case .invalidFile(let path, let reason)? = error else {
            Issue.record("expected invalidFile, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        #expect(path == "test.json", sourceLocation: sourceLocation)
        #expect(reason.contains(fragment), "reason \"\(reason)\" should contain \"\(fragment)\"",
                sourceLocation: sourceLocation)
    }

    /// The llama3 fixture with one change, expected to fail naming `fragment`.
    static func expectInvalid(
        _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ change: (inout [String: Any]) -> Void
    ) throws {
        var json = try Self.json("llama3")
        change(&json)
        expectInvalid(try JSONSerialization.data(withJSONObject: json), fragment, sourceLocation: sourceLocation)
    }

    @Test func malformedFilesNameTheField() throws {
        Self.expectInvalid(Data("not json {".utf8), "not valid JSON")
        Self.expectInvalid(Data("[1, 2]".utf8), "expected")
        try Self.expectInvalid("model: missing") { $0["model"] = nil }
        try Self.expectInvalid("model.type") { json in
            var model = json["model"] as! [String: Any]
            model["type"] = "WordPiece"
            json["model"] = model
        }
        try Self.expectInvalid("model.vocab: missing") { json in
            var model = json["model"] as! [String: Any]
            model["vocab"] = nil
            json["model"] = model
        }
        try Self.expectInvalid("pre_tokenizer.pretokenizers[0].pattern.Regex: unsupported split pattern \"\\w+\"") { json in
            var pre = json["pre_tokenizer"] as! [String: Any]
            var steps = pre["pretokenizers"] as! [[String: Any]]
            steps[0]["pattern"] = ["Regex": "\\w+"]
            pre["pretokenizers"] = steps
            json["pre_tokenizer"] = pre
        }
        try Self.expectInvalid("pre_tokenizer.pretokenizers[0].behavior") { json in
            var pre = json["pre_tokenizer"] as! [String: Any]
            var steps = pre["pretokenizers"] as! [[String: Any]]
            steps[0]["behavior"] = "Removed"
            pre["pretokenizers"] = steps
            json["pre_tokenizer"] = pre
        }
        try Self.expectInvalid("pre_tokenizer.type") { $0["pre_tokenizer"] = ["type": "Whitespace"] }
        try Self.expectInvalid("pre_tokenizer: missing") { $0["pre_tokenizer"] = NSNull() }
        let mergeCount = ((try Self.json("llama3")["model"] as! [String: Any])["merges"] as! [[String]]).count
        try Self.expectInvalid("model.merges[\(mergeCount)]: \"zz_not_a_token\" is not in the vocab") { json in
            var model = json["model"] as! [String: Any]
            var merges = model["merges"] as! [[String]]
            merges.append(["zz_not_a_token", "a"])
            model["merges"] = merges
            json["model"] = model
        }
        try Self.expectInvalid("merged token") { json in
            var model = json["model"] as! [String: Any]
            var merges = model["merges"] as! [[String]]
            merges.append(["x", "q"])  // "xq" is not in the small vocab
            model["merges"] = merges
            json["model"] = model
        }
        try Self.expectInvalid("model.merges[0]") { json in
            var model = json["model"] as! [String: Any]
            model["merges"] = ["a b c"]
            json["model"] = model
        }
        try Self.expectInvalid("model.vocab: duplicate id 5") { json in
            var model = json["model"] as! [String: Any]
            var vocab = model["vocab"] as! [String: Int]
            vocab["zz_duplicate"] = 5
            model["vocab"] = vocab
            json["model"] = model
        }
        try Self.expectInvalid("model.byte_fallback") { json in
            var model = json["model"] as! [String: Any]
            model["byte_fallback"] = true
            json["model"] = model
        }
        try Self.expectInvalid("model.dropout") { json in
            var model = json["model"] as! [String: Any]
            model["dropout"] = 0.1
            json["model"] = model
        }
        try Self.expectInvalid("model.unk_token") { json in
            var model = json["model"] as! [String: Any]
            model["unk_token"] = "<unk>"
            json["model"] = model
        }
        try Self.expectInvalid("model.continuing_subword_prefix") { json in
            var model = json["model"] as! [String: Any]
            model["continuing_subword_prefix"] = "##"
            json["model"] = model
        }
        try Self.expectInvalid("normalizer.type") { $0["normalizer"] = ["type": "Lowercase"] }
        try Self.expectInvalid("decoder: missing") { $0["decoder"] = NSNull() }
        try Self.expectInvalid("decoder.type") { $0["decoder"] = ["type": "Metaspace"] }
        try Self.expectInvalid("added_tokens[1].id: duplicate id") { json in
            var added = json["added_tokens"] as! [[String: Any]]
            added[1]["id"] = added[0]["id"]
            json["added_tokens"] = added
        }
        try Self.expectInvalid("added_tokens[0].surprise: unknown field") { json in
            var added = json["added_tokens"] as! [[String: Any]]
            added[0]["surprise"] = true
            json["added_tokens"] = added
        }
        try Self.expectInvalid("extra_section: unknown field") { $0["extra_section"] = 1 }
    }

    @Test func missingFileIsAnIOError() {
        let error = #expect(throws: ScoreError.self) {
            let missing = FileManager.default.temporaryDirectory
                .appendingPathComponent("no-such-folder-\(UUID().uuidString)/tokenizer.json")
            _ = try BPETokenizer(contentsOf: missing)
        }
        guard case .io? = error else {
            Issue.record("expected an io error, got \(String(describing: error))")
            return
        }
    }

    // MARK: Scale

    @Test(arguments: ["llama3", "gpt2"])
    func largeInputsEncodeInReasonableTime(family: String) throws {
        let tokenizer = try Self.tokenizer(family)
        let sample = try Self.cases(family).cases.map(\.text).joined(separator: "\n")
        var text = ""
        while text.utf8.count < 100_000 { text += sample }
        // Long single words and whitespace runs must not be quadratic.
        let inputs = [text, String(repeating: "a", count: 100_000), String(repeating: " ", count: 100_000)]
        let clock = ContinuousClock()
        for input in inputs {
            var ids = [Int]()
            let elapsed = clock.measure { ids = tokenizer.encode(input, parseSpecialTokens: true) }
            #expect(try tokenizer.decodeBytes(ids) == Array(input.utf8))
            // Generous for debug builds on a busy machine; release takes a few milliseconds.
            #expect(elapsed < .seconds(20), "\(family): \(input.utf8.count) bytes took \(elapsed)")
        }
    }
}
