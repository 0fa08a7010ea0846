/// Text a chat template writes around messages, with its control tokens resolved: a list of
/// token ids and stretches of plain text. The text is encoded later, together with the message
/// text next to it (see `ChatTokenWriter`).
struct ChatTemplateText: Sendable, Equatable {
    /// A control token or a stretch of text.
    enum Part: Sendable, Equatable {
        case token(Int)
        case text(String)
    }

    /// The parts in order; adjacent text parts are merged.
    private(set) var parts: [Part]

    /// Nothing.
    static let empty = ChatTemplateText(parts: [])

    /// The given parts.
    init(parts: [Part]) {
        self.parts = []
        for part in parts { append(part) }
    }

    /// Resolves `text`: each special-token name the tokenizer knows (as `encode` with special
    /// tokens parsed finds them) becomes its id; everything else stays text.
    init(parsing text: String, tokenizer: any Tokenizer) {
        self.init(parts: [])
        var pending = [UInt8]()
        for id in tokenizer.encode(text, parseSpecialTokens: true) {
            // Ids from encode are always known to the tokenizer.
            let bytes = (try? tokenizer.decodeBytes([id])) ?? []
            if Self.isSpecial(id, bytes: bytes, tokenizer: tokenizer) {
                if !pending.isEmpty { append(.text(String(decoding: pending, as: UTF8.self))) }
                pending.removeAll()
                append(.token(id))
            } else {
                pending += bytes
            }
        }
        if !pending.isEmpty { append(.text(String(decoding: pending, as: UTF8.self))) }
    }

    /// A sequence of control tokens.
    init(tokens: [Int]) {
        self.init(parts: tokens.map { .token($0) })
    }

    /// The control-token ids, in order.
    var tokenIds: [Int] {
        parts.compactMap { if case .token(let id) = $0 { return id } else { return nil } }
    }

    /// Whether there is neither a token nor text.
    var isEmpty: Bool { parts.isEmpty }

    /// This text followed by `other`.
    static func + (lhs: ChatTemplateText, rhs: ChatTemplateText) -> ChatTemplateText {
        ChatTemplateText(parts: lhs.parts + rhs.parts)
    }

    /// The text with control tokens by name.
    func text(tokenizer: any Tokenizer) throws -> String {
        var out = ""
        for part in parts {
            switch part {
            case .token(let id): out += try tokenizer.decode([id])
            case .text(let text): out += text
            }
        }
        return out
    }

    /// Appends a part, merging text with text.
    private mutating func append(_ part: Part) {
        if case .text(let text) = part {
            if text.isEmpty { return }
            if case .text(let previous)? = parts.last {
                parts[parts.count - 1] = .text(previous + text)
                return
            }
        }
        parts.append(part)
    }

    /// Whether `id` is a special token: its bytes are a name the tokenizer maps back to it.
    private static func isSpecial(_ id: Int, bytes: [UInt8], tokenizer: any Tokenizer) -> Bool {
        guard let name = String(validating: bytes, as: UTF8.self), !name.isEmpty else { return false }
        return tokenizer.id(forSpecialToken: name) == id
    }
}

/// Writes the ids of a rendered chat: control tokens as they come, and each stretch of text
/// between two control tokens (template text and message text together) encoded in one piece
/// with special-token parsing off, as `transformers` encodes a rendered chat string.
struct ChatTokenWriter {
    /// The tokenizer text is encoded with.
    let tokenizer: any Tokenizer
    /// Ids written so far.
    private var ids = [Int]()
    /// Text not encoded yet.
    private var pending = ""

    /// A writer that encodes with `tokenizer`.
    init(tokenizer: any Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// Writes template text.
    mutating func write(_ text: ChatTemplateText) {
        for part in text.parts {
            switch part {
            case .token(let id): write(token: id)
            case .text(let text): pending += text
            }
        }
    }

    /// Writes one control token.
    mutating func write(token: Int) {
        flush()
        ids.append(token)
    }

    /// Writes message text (untrusted: special-token names in it stay text).
    mutating func writeMessage(_ text: String) {
        pending += text
    }

    /// The ids of everything written.
    mutating func finish() -> [Int] {
        flush()
        return ids
    }

    /// Encodes the pending text.
    private mutating func flush() {
        guard !pending.isEmpty else { return }
        ids += tokenizer.encode(pending, parseSpecialTokens: false)
        pending = ""
    }
}
