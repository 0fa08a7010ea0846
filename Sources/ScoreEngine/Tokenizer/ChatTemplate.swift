/// How a model's chat template lays a conversation out in tokens, reduced to the pieces a
/// conversation of user and assistant messages needs (no system messages, no tools):
///
///     conversationStart
///     userPrefix + user text + userSuffix                              (each user message)
///     assistantPrefix + assistant text + endOfTurn + afterAssistant    (each assistant message)
///     assistantPrefix                                                  (the generation prompt)
///     conversationEnd                                     (instead, when there is no generation prompt)
///
/// For example ChatML (Qwen2.5) renders a user message as `<|im_start|>user\n` text
/// `<|im_end|>\n`, and Llama-3 as `<|start_header_id|>user<|end_header_id|>\n\n` text
/// `<|eot_id|>`. The conversation start holds what the template writes before the first message
/// when no system message is given: a BOS token and/or a default system block.
///
/// Message text is untrusted: it is encoded with special-token parsing off, so a message that
/// contains `<|im_end|>` gets the characters of that name, never the control token. Only the
/// template's own pieces hold control tokens. Between two control tokens, template text and
/// message text are encoded together, as `transformers` encodes a rendered chat, so the ids are
/// the same as `apply_chat_template` gives for the same messages.
///
/// Build one from a model's Jinja chat template (`init(tokenizer:config:date:)` for a
/// `tokenizer_config.json`, `init(tokenizer:template:…)` for the template text), whose pieces are
/// found by rendering it (see `ChatTemplateProbe`); with a family constructor (`turnMarkers`,
/// `chatML`, `llama3`); or from host-given strings (`custom`). A template is tied to the
/// tokenizer it was built with.
public struct ChatTemplate: Sendable {
    /// The layouts the engine renders.
    public enum Family: String, Sendable, Equatable, CaseIterable {
        /// The byte tokenizer's own markers: `<|bos|><|user|>…<|end_turn|><|assistant|>…<|end_turn|>`.
        case turnMarkers
        /// `<|im_start|>role\n…<|im_end|>\n`, as Qwen2, Qwen2.5 and SmolLM2 write it.
        case chatML
        /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`, as Llama-3, 3.1, 3.2 and 3.3
        /// write it.
        case llama3
        /// Another layout, derived from a model's chat template (Gemma, Phi-3, DeepSeek…).
        case other
        /// Pieces given by the host.
        case custom
    }

    /// Which layout this is.
    public let family: Family
    /// The tokenizer the pieces were resolved with; messages are encoded with it.
    public let tokenizer: any Tokenizer
    /// Written once before the first message.
    let conversationStart: ChatTemplateText
    /// Written before a user message's text.
    let userPrefix: ChatTemplateText
    /// Written after a user message's text.
    let userSuffix: ChatTemplateText
    /// Written before an assistant message's text; alone, it is the generation prompt.
    let assistantPrefix: ChatTemplateText
    /// The token that closes an assistant message: the stop token of a generated answer, and
    /// part of what is trained.
    public let endOfTurn: Int
    /// Written after the end-of-turn token, before the next message (ChatML: a line break).
    let afterAssistant: ChatTemplateText
    /// Written last when a conversation is rendered without the generation prompt (Phi-3: its
    /// EOS `<|endoftext|>`; usually nothing).
    let conversationEnd: ChatTemplateText
    /// Whether message text loses its leading and trailing whitespace first, as the Jinja `trim`
    /// filter (Python's `str.strip()`) does in Llama-3 templates.
    public let trimsMessages: Bool
    /// Ids that end a generated answer: `endOfTurn` first, then any others (for example the
    /// tokenizer's EOS when it differs). Each appears once.
    public private(set) var stopTokenIds: [Int]
    /// The id that pads packed sequences (never trained on).
    public let padID: Int

    /// A template from resolved pieces. `stopTokenIds` gets `endOfTurn` put first.
    init(family: Family, tokenizer: any Tokenizer, conversationStart: ChatTemplateText,
         userPrefix: ChatTemplateText, userSuffix: ChatTemplateText, assistantPrefix: ChatTemplateText,
         endOfTurn: Int, afterAssistant: ChatTemplateText, conversationEnd: ChatTemplateText = .empty, trimsMessages: Bool,
         stopTokenIds: [Int], padID: Int) {
        self.family = family
        self.tokenizer = tokenizer
        self.conversationStart = conversationStart
        self.userPrefix = userPrefix
        self.userSuffix = userSuffix
        self.assistantPrefix = assistantPrefix
        self.endOfTurn = endOfTurn
        self.afterAssistant = afterAssistant
        self.conversationEnd = conversationEnd
        self.trimsMessages = trimsMessages
        self.stopTokenIds = Self.unique([endOfTurn] + stopTokenIds)
        self.padID = padID
    }

    /// A copy that also ends generated answers at `ids` (for example the `eos_token_id` list of
    /// `generation_config.json`). Throws `ScoreError.invalidArgument` on an id the tokenizer
    /// does not know.
    public func addingStopTokens(_ ids: [Int]) throws -> ChatTemplate {
        for id in ids {
            do {
                _ = try tokenizer.decodeBytes([id])
            } catch {
                throw ScoreError.invalidArgument("stop token id \(id) is not in the tokenizer's vocabulary")
            }
        }
        var copy = self
        copy.stopTokenIds = Self.unique(stopTokenIds + ids)
        return copy
    }

    /// The ids of a conversation as the model's template renders it: each message in its
    /// pieces (assistant messages closed by the end-of-turn token and `afterAssistant`), then
    /// the generation prompt when asked for, else the conversation end. For a layout derived
    /// from a chat template, equals `apply_chat_template(messages, add_generation_prompt:)` of
    /// `transformers`, except that special-token names inside messages stay text.
    public func tokens(for messages: [ChatMessage], addGenerationPrompt: Bool = false) -> [Int] {
        var writer = ChatTokenWriter(tokenizer: tokenizer)
        writer.write(conversationStart)
        for message in messages {
            switch message.role {
            case .user:
                writer.write(userPrefix)
                writer.writeMessage(messageText(message.content))
                writer.write(userSuffix)
            case .assistant:
                writer.write(assistantPrefix)
                writer.writeMessage(messageText(message.content))
                writer.write(token: endOfTurn)
                writer.write(afterAssistant)
            }
        }
        writer.write(addGenerationPrompt ? assistantPrefix : conversationEnd)
        return writer.finish()
    }

    /// The text of each piece with control tokens by name, in rendering order:
    /// conversation start, user prefix, user suffix, assistant prefix, end of turn, after
    /// assistant, conversation end. For display and diagnostics.
    public func pieceTexts() throws -> [String] {
        try [conversationStart, userPrefix, userSuffix, assistantPrefix, ChatTemplateText(parts: [.token(endOfTurn)]),
             afterAssistant, conversationEnd].map { try $0.text(tokenizer: tokenizer) }
    }

    /// Message text as the template writes it: trimmed when the template trims.
    func messageText(_ text: String) -> String {
        trimsMessages ? Self.pythonStripped(text) : text
    }

    /// `text` without leading and trailing whitespace as Python's `str.strip()` defines it
    /// (which the Jinja `trim` filter calls).
    static func pythonStripped(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isPythonWhitespace($0) }),
              let last = scalars.lastIndex(where: { !isPythonWhitespace($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// Python's `str.isspace()` for one scalar: tab to carriage return, the four information
    /// separators, space, next line, no-break space and the Unicode space separators.
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `ids` in order without repeats.
    private static func unique(_ ids: [Int]) -> [Int] {
        var seen = Set<Int>()
        return ids.filter { seen.insert($0).inserted }
    }
}
