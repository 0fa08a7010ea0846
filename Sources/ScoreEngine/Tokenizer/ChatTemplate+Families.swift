import Foundation

/// The layouts the engine knows, and templates from host-given pieces.
extension ChatTemplate {
    /// The layout of a tokenizer with user, assistant and end-of-turn special tokens (the byte
    /// tokenizer has them): `<bos><user>problem<end_turn><assistant>answer<end_turn>…`, with no
    /// line breaks. BOS is written only if the tokenizer has one. Answers stop at end-of-turn
    /// only; padding is the tokenizer's PAD, else end-of-turn.
    public static func turnMarkers(tokenizer: any Tokenizer) throws -> ChatTemplate {
        let specials = tokenizer.specialTokens
        guard let user = specials.user, let assistant = specials.assistant, let endTurn = specials.endTurn else {
            throw ScoreError.invalidArgument(
                "the turn-marker layout needs user, assistant and end-of-turn special tokens in the tokenizer; "
                + "for a model with a chat template use ChatTemplate(tokenizer:config:) or ChatTemplate.custom")
        }
        return ChatTemplate(
            family: .turnMarkers, tokenizer: tokenizer, conversationStart: ChatTemplateText(tokens: specials.bos.map { [$0] } ?? []),
            userPrefix: ChatTemplateText(tokens: [user]), userSuffix: ChatTemplateText(tokens: [endTurn]),
            assistantPrefix: ChatTemplateText(tokens: [assistant]), endOfTurn: endTurn, afterAssistant: .empty,
            trimsMessages: false, stopTokenIds: [], padID: specials.pad ?? endTurn)
    }

    /// ChatML as Qwen2, Qwen2.5 and SmolLM2 write it: `<|im_start|>user\n…<|im_end|>\n`,
    /// `<|im_start|>assistant\n…<|im_end|>\n`, message text as given (not trimmed).
    ///
    /// - Parameters:
    ///   - defaultSystemMessage: the system message the template writes when the conversation
    ///     has none (Qwen2.5: "You are Qwen, created by Alibaba Cloud. You are a helpful
    ///     assistant."; nil: none), as `<|im_start|>system\n…<|im_end|>\n` first.
    ///   - bosToken: written first when the template starts with `bos_token` (the Qwen and
    ///     SmolLM2 templates do not).
    ///   - eosToken: the tokenizer's EOS; answers also stop there when it is not `<|im_end|>`.
    ///   - padToken: the padding token (nil: the tokenizer's PAD, else `<|im_end|>`).
    /// - Throws: `ScoreError.invalidArgument` when a token is not a special token of the tokenizer.
    public static func chatML(tokenizer: any Tokenizer, defaultSystemMessage: String? = nil, bosToken: String? = nil,
                              eosToken: String? = nil, padToken: String? = nil) throws -> ChatTemplate {
        let resolver = SpecialTokenResolver(tokenizer: tokenizer, source: "the ChatML layout")
        let start = try resolver.id(of: "<|im_start|>")
        let end = try resolver.id(of: "<|im_end|>")
        var conversationStart = ChatTemplateText(tokens: try bosToken.map { [try resolver.id(of: $0, role: "BOS")] } ?? [])
        if let defaultSystemMessage {
            conversationStart = conversationStart
                + ChatTemplateText(parts: [.token(start), .text("system\n" + defaultSystemMessage), .token(end), .text("\n")])
        }
        return ChatTemplate(
            family: .chatML, tokenizer: tokenizer, conversationStart: conversationStart,
            userPrefix: ChatTemplateText(parts: [.token(start), .text("user\n")]),
            userSuffix: ChatTemplateText(parts: [.token(end), .text("\n")]),
            assistantPrefix: ChatTemplateText(parts: [.token(start), .text("assistant\n")]), endOfTurn: end,
            afterAssistant: ChatTemplateText(parts: [.text("\n")]), trimsMessages: false,
            stopTokenIds: try resolver.stopTokens(eos: eosToken),
            padID: try resolver.padID(padToken, otherwise: end))
    }

    /// The Llama-3 header format: `<|start_header_id|>user<|end_header_id|>\n\n…<|eot_id|>`,
    /// message text trimmed (the templates apply Jinja's `trim`), no line break between messages.
    ///
    /// - Parameters:
    ///   - bosToken: written first (all Llama-3 templates start with `bos_token`).
    ///   - knowledgeCutoff: Llama-3.1, 3.2 and 3.3 always write a system block when the
    ///     conversation has no system message:
    ///     `<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>`.
    ///     Its "Cutting Knowledge Date" ("December 2023"); nil (Llama-3): no system block.
    ///   - today: its "Today Date", as `transformers` formats it (`%d %b %Y`, "26 Jul 2024"). Nil:
    ///     today's local date, which is what Llama-3.2's template renders (Llama-3.1's and
    ///     3.3's write "26 Jul 2024").
    ///   - eosToken: the tokenizer's EOS. Answers stop at `<|eot_id|>`, at `<|end_of_text|>`
    ///     when the tokenizer has it, and at the EOS.
    ///   - padToken: the padding token (nil: the tokenizer's PAD, else `<|eot_id|>`).
    /// - Throws: `ScoreError.invalidArgument` when a token is not a special token of the tokenizer.
    public static func llama3(tokenizer: any Tokenizer, bosToken: String? = "<|begin_of_text|>",
                              knowledgeCutoff: String? = nil, today: String? = nil, eosToken: String? = nil,
                              padToken: String? = nil) throws -> ChatTemplate {
        let resolver = SpecialTokenResolver(tokenizer: tokenizer, source: "the Llama-3 layout")
        let header = try resolver.id(of: "<|start_header_id|>")
        let headerEnd = try resolver.id(of: "<|end_header_id|>")
        let endOfTurn = try resolver.id(of: "<|eot_id|>")
        var conversationStart = ChatTemplateText(tokens: try bosToken.map { [try resolver.id(of: $0, role: "BOS")] } ?? [])
        if let knowledgeCutoff {
            let date = today ?? todayString()
            conversationStart = conversationStart + ChatTemplateText(parts: [
                .token(header), .text("system"), .token(headerEnd),
                .text("\n\nCutting Knowledge Date: \(knowledgeCutoff)\nToday Date: \(date)\n\n"), .token(endOfTurn),
            ])
        }
        func prefix(_ role: String) -> ChatTemplateText {
            ChatTemplateText(parts: [.token(header), .text(role), .token(headerEnd), .text("\n\n")])
        }
        let endOfText = tokenizer.id(forSpecialToken: "<|end_of_text|>").map { [$0] } ?? []
        return ChatTemplate(
            family: .llama3, tokenizer: tokenizer, conversationStart: conversationStart, userPrefix: prefix("user"),
            userSuffix: ChatTemplateText(tokens: [endOfTurn]), assistantPrefix: prefix("assistant"),
            endOfTurn: endOfTurn, afterAssistant: .empty, trimsMessages: true,
            stopTokenIds: endOfText + (try resolver.stopTokens(eos: eosToken)),
            padID: try resolver.padID(padToken, otherwise: endOfTurn))
    }

    /// A template from host-given pieces, for a chat template the engine cannot derive a layout
    /// from (see `init(tokenizer:template:…)`). Special-token names in the pieces (`<|im_start|>`,
    /// `<|eot_id|>`…) become control tokens; any other text is encoded as text, together with the
    /// message text next to it.
    ///
    /// - Parameters:
    ///   - conversationStart: written once before the first message (BOS, a default system block).
    ///   - userPrefix: written before a user message's text.
    ///   - userSuffix: written after a user message's text.
    ///   - assistantPrefix: written before an assistant message's text; the generation prompt.
    ///   - endOfTurn: the one special token that closes an assistant message.
    ///   - afterAssistant: written after the end-of-turn token, before the next message.
    ///   - trimsMessages: whether message text loses leading and trailing whitespace first.
    ///   - stopTokens: more special tokens that end an answer (for example the EOS).
    ///   - padToken: the padding token (nil: the tokenizer's PAD, else the end-of-turn token).
    /// - Throws: `ScoreError.invalidArgument` when `endOfTurn` is not exactly one special token of
    ///   the tokenizer, or a stop or pad token is not one.
    public static func custom(tokenizer: any Tokenizer, conversationStart: String = "", userPrefix: String,
                              userSuffix: String, assistantPrefix: String, endOfTurn: String,
                              afterAssistant: String = "", trimsMessages: Bool = false, stopTokens: [String] = [],
                              padToken: String? = nil) throws -> ChatTemplate {
        let resolver = SpecialTokenResolver(tokenizer: tokenizer, source: "the custom chat template")
        let closing = ChatTemplateText(parsing: endOfTurn, tokenizer: tokenizer)
        guard closing.parts.count == 1, let end = closing.tokenIds.first else {
            throw ScoreError.invalidArgument(
                "the custom chat template's end of turn \"\(endOfTurn)\" must be exactly one special token of the tokenizer")
        }
        func parse(_ text: String) -> ChatTemplateText { ChatTemplateText(parsing: text, tokenizer: tokenizer) }
        return ChatTemplate(
            family: .custom, tokenizer: tokenizer, conversationStart: parse(conversationStart),
            userPrefix: parse(userPrefix), userSuffix: parse(userSuffix), assistantPrefix: parse(assistantPrefix),
            endOfTurn: end, afterAssistant: parse(afterAssistant), trimsMessages: trimsMessages,
            stopTokenIds: try stopTokens.map { try resolver.id(of: $0, role: "stop token") },
            padID: try resolver.padID(padToken, otherwise: end))
    }

    /// A date as `transformers`' `strftime_now("%d %b %Y")` writes it ("05 Mar 2025"), in the
    /// local time zone: the "Today Date" of Llama-3.2's system block.
    public static func todayString(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "dd MMM yyyy"
        return formatter.string(from: date)
    }
}
