/// The ids of the control tokens a tokenizer defines; `nil` where it has none.
///
/// `user` and `assistant` open a conversation turn and `endTurn` closes it; the two-attempt
/// self-correction format is written with them.
public struct SpecialTokens: Codable, Sendable, Equatable, Hashable {
    /// Beginning of sequence.
    public var bos: Int?
    /// End of sequence.
    public var eos: Int?
    /// Padding (never trained on).
    public var pad: Int?
    /// Opens a user turn.
    public var user: Int?
    /// Opens an assistant turn.
    public var assistant: Int?
    /// Closes the current turn.
    public var endTurn: Int?

    /// Creates a set of special-token ids; omitted ones are absent.
    public init(
        bos: Int? = nil, eos: Int? = nil, pad: Int? = nil,
        user: Int? = nil, assistant: Int? = nil, endTurn: Int? = nil
    ) {
        self.bos = bos
        self.eos = eos
        self.pad = pad
        self.user = user
        self.assistant = assistant
        self.endTurn = endTurn
    }
}

/// Turns text into token ids and back.
///
/// Implementations must be immutable after construction (hence `Sendable`), and `decodeBytes`
/// must be concatenative: the bytes of a sequence are the bytes of its tokens, one after the
/// other. Stop-string detection relies on that to decode one token at a time.
public protocol Tokenizer: Sendable {
    /// Number of ids the tokenizer knows (`0..<vocabularySize`). A model may have more rows in
    /// its embedding; the extra ids are unknown to the tokenizer.
    var vocabularySize: Int { get }

    /// The ids of the control tokens.
    var specialTokens: SpecialTokens { get }

    /// Encodes plain text. Special-token names inside `text` are NOT recognised: they are encoded
    /// as ordinary text, so untrusted text cannot inject control tokens.
    func encode(_ text: String) -> [Int]

    /// Encodes text; when `parseSpecialTokens` is true, exact occurrences of special-token names
    /// become their ids (use only for trusted templates).
    func encode(_ text: String, parseSpecialTokens: Bool) -> [Int]

    /// The exact bytes the ids stand for; a special token renders as its name.
    /// Throws `ScoreError.invalidArgument` on an id the tokenizer does not know.
    func decodeBytes(_ ids: [Int]) throws -> [UInt8]

    /// The text the ids stand for; invalid UTF-8 sequences become U+FFFD.
    /// Throws `ScoreError.invalidArgument` on an id the tokenizer does not know.
    func decode(_ ids: [Int]) throws -> String

    /// The id of the special token with this exact name (for example `<|eos|>`), if any.
    func id(forSpecialToken name: String) -> Int?
}

extension Tokenizer {
    /// Encodes plain text without parsing special-token names.
    public func encode(_ text: String) -> [Int] {
        encode(text, parseSpecialTokens: false)
    }

    /// Decodes through `decodeBytes`, replacing invalid UTF-8 with U+FFFD.
    public func decode(_ ids: [Int]) throws -> String {
        String(decoding: try decodeBytes(ids), as: UTF8.self)
    }
}
