/// Looks up the ids of named special tokens, with errors that say which template needed them.
struct SpecialTokenResolver {
    /// The tokenizer whose names are looked up.
    let tokenizer: any Tokenizer
    /// What needs the tokens, for errors ("the ChatML layout").
    let source: String

    /// The id of the special token `name`. Throws `ScoreError.invalidArgument` when the
    /// tokenizer has no such token.
    func id(of name: String, role: String = "token") throws -> Int {
        guard let id = tokenizer.id(forSpecialToken: name) else {
            throw ScoreError.invalidArgument("\(source) needs the \(role) \"\(name)\", which is not a special token of the tokenizer")
        }
        return id
    }

    /// The EOS as a stop token (when named), then the tokenizer's own EOS (when it has one).
    func stopTokens(eos: String?) throws -> [Int] {
        (try eos.map { [try id(of: $0, role: "EOS")] } ?? []) + (tokenizer.specialTokens.eos.map { [$0] } ?? [])
    }

    /// The named pad token's id, else the tokenizer's PAD, else `otherwise`.
    func padID(_ name: String?, otherwise: Int) throws -> Int {
        if let name { return try id(of: name, role: "pad token") }
        return tokenizer.specialTokens.pad ?? otherwise
    }
}
