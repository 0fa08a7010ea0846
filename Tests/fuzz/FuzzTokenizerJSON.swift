import Foundation

extension Fuzz {
    /// A `tokenizer.json`: parsed as a byte-level BPE tokenizer; one that parses encodes and
    /// decodes the fixed texts.
    static let tokenizerJSONTarget = FuzzTarget(
        name: "tokenizer_json", summary: "a tokenizer.json: BPETokenizer(json:), then encode/decode of fixed texts"
    ) { data in
        guard let tokenizer = attempt("BPETokenizer", { try BPETokenizer(json: data, path: "tokenizer.json") }) else { return }
        exercise(tokenizer)
        let last = tokenizer.vocabularySize - 1
        if let retagged = attempt("withSpecialTokens", { try tokenizer.withSpecialTokens(SpecialTokens(bos: 0, eos: last, pad: last)) }) {
            consume(retagged.encode(texts[0], parseSpecialTokens: true))
        }
    }
}
