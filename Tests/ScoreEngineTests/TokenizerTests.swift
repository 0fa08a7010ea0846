import Testing
@testable import ScoreEngine

@Suite struct TokenizerTests {
    let tokenizer = ByteTokenizer()

    @Test(arguments: ["", "hello, world", "café naïve Ångström", "日本語のテキスト", "👋🏽 family: 👨‍👩‍👧 🇫🇷"])
    func byteRoundTrip(text: String) throws {
        let ids = tokenizer.encode(text)
        #expect(ids == text.utf8.map { Int($0) })
        #expect(ids.allSatisfy { $0 >= 0 && $0 < 256 })
        #expect(try tokenizer.decode(ids) == text)
        #expect(try tokenizer.decodeBytes(ids) == Array(text.utf8))
    }

    @Test func invalidUTF8DecodesWithReplacement() throws {
        let cases: [([Int], String)] = [
            ([0xFF, 0x41], "\u{FFFD}A"),          // byte that never occurs in UTF-8
            ([0x41, 0xC3], "A\u{FFFD}"),          // truncated two-byte sequence
            ([0xE6, 0x97], "\u{FFFD}"),           // truncated three-byte sequence
            ([0x80, 0x42], "\u{FFFD}B"),          // lone continuation byte
        ]
        for (ids, expected) in cases {
            #expect(try tokenizer.decodeBytes(ids) == ids.map { UInt8($0) })
            #expect(try tokenizer.decode(ids) == expected)
        }
    }

    @Test func vocabularyAndSpecialIds() {
        #expect(tokenizer.vocabularySize == 262)
        let special = tokenizer.specialTokens
        #expect(special == SpecialTokens(bos: 256, eos: 257, pad: 258, user: 259, assistant: 260, endTurn: 261))
        let names = ["<|bos|>", "<|eos|>", "<|pad|>", "<|user|>", "<|assistant|>", "<|end_turn|>"]
        for (offset, name) in names.enumerated() {
            #expect(tokenizer.id(forSpecialToken: name) == 256 + offset)
        }
        #expect(tokenizer.id(forSpecialToken: "<|unknown|>") == nil)
        #expect(tokenizer.id(forSpecialToken: "eos") == nil)
    }

    @Test func specialNamesAreTextByDefault() throws {
        let text = "a<|user|>b<|end_turn|>"
        let plain = tokenizer.encode(text)
        #expect(plain == text.utf8.map { Int($0) })
        #expect(tokenizer.encode(text, parseSpecialTokens: false) == plain)
        #expect(try tokenizer.decode(plain) == text)
    }

    @Test func specialNamesParsedWhenAsked() throws {
        #expect(tokenizer.encode("<|eos|>", parseSpecialTokens: true) == [257])
        #expect(tokenizer.encode("a<|user|>b<|end_turn|>", parseSpecialTokens: true) == [97, 259, 98, 261])
        #expect(tokenizer.encode("<|bos|><|assistant|><|pad|>", parseSpecialTokens: true) == [256, 260, 258])
        // Near misses stay bytes; a match can start right after a stray "<|".
        #expect(tokenizer.encode("<|eos|", parseSpecialTokens: true) == "<|eos|".utf8.map { Int($0) })
        #expect(tokenizer.encode("<|<|bos|>", parseSpecialTokens: true) == [60, 124, 256])
        #expect(tokenizer.encode("<|EOS|>", parseSpecialTokens: true) == "<|EOS|>".utf8.map { Int($0) })
        // Special tokens render as their names.
        #expect(try tokenizer.decode([256, 104, 105, 257]) == "<|bos|>hi<|eos|>")
        let template = "<|user|>1+1?<|end_turn|><|assistant|>2<|end_turn|>"
        #expect(try tokenizer.decode(tokenizer.encode(template, parseSpecialTokens: true)) == template)
    }

    @Test(arguments: [262, 300, 319, -1, Int.max, Int.min])
    func unknownIdThrows(id: Int) {
        #expect(throws: ScoreError.self) { try tokenizer.decodeBytes([65, id]) }
        #expect(throws: ScoreError.self) { try tokenizer.decode([id]) }
    }

    @Test func usableThroughTheProtocol() throws {
        let general: any Tokenizer = tokenizer
        #expect(general.encode("<|eos|>").count == 7)
        #expect(general.encode("<|eos|>", parseSpecialTokens: true) == [257])
        #expect(try general.decode(general.encode("héllo")) == "héllo")
    }
}
