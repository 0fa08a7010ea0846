import ScoreEngine

/// A tokenizer that knows every id of a model's vocabulary, for timing SCoRe steps on random
/// weights: ids 0..<256 are bytes, the last six ids are the byte tokenizer's control tokens
/// (`<|bos|>` … `<|end_turn|>`), and every id in between decodes to one ASCII letter.
///
/// With `ByteTokenizer` the sampler would draw from its 262 ids only, and random weights would
/// then close an attempt with `<|end_turn|>` about once in 262 tokens. Here the stop token is one
/// id among the whole vocabulary (1 in 49,152 at SmolLM2's shape), so attempts run to full length
/// almost always, as the peer's do (it masks the stop token with `min_new_tokens`).
struct BenchTokenizer: Tokenizer {
    let vocabularySize: Int
    /// The id of `<|bos|>`; the other control tokens follow in `ByteTokenizer` order.
    let firstSpecialId: Int

    /// A tokenizer of `vocabularySize` ids (at least the byte tokenizer's 262).
    init(vocabularySize: Int) throws {
        guard vocabularySize >= ByteTokenizer.vocabularySize else {
            throw ScoreError.invalidArgument(
                "the bench tokenizer needs a vocabulary of at least \(ByteTokenizer.vocabularySize) ids")
        }
        self.vocabularySize = vocabularySize
        firstSpecialId = vocabularySize - ByteTokenizer.specialTokenNames.count
    }

    var specialTokens: SpecialTokens {
        let f = firstSpecialId
        return SpecialTokens(bos: f, eos: f + 1, pad: f + 2, user: f + 3, assistant: f + 4, endTurn: f + 5)
    }

    /// The byte tokenizer's encoding with its control ids moved to the top of the vocabulary.
    func encode(_ text: String, parseSpecialTokens: Bool) -> [Int] {
        ByteTokenizer().encode(text, parseSpecialTokens: parseSpecialTokens).map {
            $0 < ByteTokenizer.firstSpecialId ? $0 : $0 - ByteTokenizer.firstSpecialId + firstSpecialId
        }
    }

    func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var bytes = [UInt8]()
        for id in ids {
            switch id {
            case 0..<256: bytes.append(UInt8(id))
            case 256..<firstSpecialId: bytes.append(UInt8(ascii: "a") + UInt8(id % 26))
            case firstSpecialId..<vocabularySize:
                bytes += Array(ByteTokenizer.specialTokenNames[id - firstSpecialId].utf8)
            default: throw ScoreError.invalidArgument("token id \(id) is outside 0..<\(vocabularySize)")
            }
        }
        return bytes
    }

    func id(forSpecialToken name: String) -> Int? {
        ByteTokenizer.specialTokenNames.firstIndex(of: name).map { firstSpecialId + $0 }
    }
}
