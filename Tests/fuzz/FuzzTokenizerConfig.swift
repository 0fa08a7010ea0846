import Foundation

extension Fuzz {
    /// A `tokenizer_config.json`: decoded; when it has a chat template, the layout is derived from
    /// it with its BOS/EOS/PAD/UNK names against the built-in chat tokenizer (as
    /// `ChatTemplate(tokenizer:config:)` does for a model folder).
    static let tokenizerConfigTarget = FuzzTarget(
        name: "tokenizer_config", summary: "a tokenizer_config.json: TokenizerConfig(json:), then the chat layout derived"
    ) { data in
        guard let config = attempt("TokenizerConfig", { try TokenizerConfig(json: data, path: TokenizerConfig.fileName) }),
              let template = config.chatTemplate else { return }
        consume(deriveLayout(chatTokenizer, template: template, bos: config.bosToken, eos: config.eosToken,
                             pad: config.padToken, unk: config.unkToken, source: config.path))
    }
}
