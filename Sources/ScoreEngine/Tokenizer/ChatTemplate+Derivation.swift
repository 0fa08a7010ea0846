import Foundation

/// A model's layout from its own chat template, for any template family: the Jinja template is
/// rendered (as `transformers` renders it) with probe conversations and the pieces are read off
/// the renderings (see `ChatTemplateProbe`).
extension ChatTemplate {
    /// The layout of `config.chatTemplate` (from `tokenizer_config.json` or
    /// `chat_template.jinja`), rendered as `transformers` renders it for conversations of user
    /// and assistant messages with no system message and no tools; the config's BOS, EOS, PAD and
    /// UNK names are the template's `bos_token`… See
    /// `init(tokenizer:template:bosToken:eosToken:padToken:unkToken:source:date:now:)`.
    ///
    /// - Throws: `ScoreError.invalidFile` (naming the config) when there is no chat template, or
    ///   for the reasons that initializer gives.
    public init(tokenizer: any Tokenizer, config: TokenizerConfig, date: String? = nil) throws {
        guard let template = config.chatTemplate else {
            let named = config.chatTemplateNames.isEmpty ? ""
                : " (its templates are named \(config.chatTemplateNames.joined(separator: ", ")); none is \"default\")"
            throw ScoreError.invalidFile(path: config.path, reason:
                "no chat template\(named); give the layout with ChatTemplate.custom")
        }
        try self.init(tokenizer: tokenizer, template: template, bosToken: config.bosToken, eosToken: config.eosToken,
                      padToken: config.padToken, unkToken: config.unkToken, source: config.path, date: date)
    }

    /// The layout of a Jinja chat template given as text (from `tokenizer_config.json`, a
    /// `chat_template.jinja`, or GGUF metadata `tokenizer.chat_template`).
    ///
    /// The template is rendered with probe conversations of user and assistant messages (no
    /// system message; `tools` and `documents` are none) and the pieces are read off the
    /// renderings: the conversation start (a BOS, a default system message such as Qwen2.5's
    /// "You are Qwen…", Llama-3.1's dated system block), the text around user and assistant
    /// messages, the end-of-turn token (the special token the template writes right after an
    /// assistant message: `<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`, `<|end|>`, `</s>`…), what
    /// follows it, and what ends a conversation rendered without a generation prompt. Whether
    /// the template trims message text is found the same way. Control tokens in the pieces
    /// become special-token ids of `tokenizer`.
    ///
    /// Answers stop at the end-of-turn token, at `eosToken` and at the tokenizer's EOS (and, for
    /// the Llama-3 layout, at `<|end_of_text|>`); `padToken` pads (else the tokenizer's PAD, else
    /// the end-of-turn token).
    ///
    /// - Parameters:
    ///   - template: the Jinja source.
    ///   - bosToken, eosToken, padToken, unkToken: the special-token names the template sees as
    ///     `bos_token`, `eos_token`, `pad_token`, `unk_token` (nil: undefined, as `transformers`
    ///     leaves a token the tokenizer lacks).
    ///   - source: where the template came from, named in errors.
    ///   - date: the template's `date_string` ("26 Jul 2024"), the "Today Date" Llama-3.x
    ///     templates write; nil leaves it undefined, so a template uses its own default
    ///     (Llama-3.1: "26 Jul 2024"; Llama-3.2: today, from `strftime_now`).
    ///   - now: the time `strftime_now` reads (in the local time zone).
    /// - Throws: `ScoreError.invalidFile` (at `source`) when the template is not valid Jinja,
    ///   uses a construct the engine's Jinja interpreter does not support (the message names
    ///   it), fails or raises an exception rendering a user/assistant conversation, writes no
    ///   special token after an assistant message, trims only one role's messages, or lays
    ///   messages out differently by position (for example a generation prompt that differs from
    ///   the text before an answer, as in reasoning templates); `ScoreError.invalidArgument` when
    ///   `eosToken` or `padToken` is not a special token of the tokenizer. For such templates,
    ///   give the layout with `ChatTemplate.custom`.
    public init(tokenizer: any Tokenizer, template: String, bosToken: String? = nil, eosToken: String? = nil,
                padToken: String? = nil, unkToken: String? = nil, source: String = "chat template",
                date: String? = nil, now: Date = Date()) throws {
        let jinja = try JinjaTemplate(template, source: source)
        var variables: [String: JinjaValue] = ["tools": .none, "documents": .none]
        let tokens = [("bos_token", bosToken), ("eos_token", eosToken), ("pad_token", padToken), ("unk_token", unkToken)]
        for case let (name, value?) in tokens { variables[name] = .string(value) }
        if let date { variables["date_string"] = .string(date) }
        var options = JinjaRenderer.Options()
        options.now = now
        let probe = ChatTemplateProbe(template: jinja, tokenizer: tokenizer, variables: variables, options: options)
        let (layout, trims) = try probe.derive()
        let text = ChatTemplateProbe.text
        let userPrefix = text(layout.userPrefix)
        let family = Self.family(endOfTurn: layout.endOfTurn, userPrefix: userPrefix, tokenizer: tokenizer)
        let resolver = SpecialTokenResolver(tokenizer: tokenizer, source: "the chat template of \(source)")
        var stops = try resolver.stopTokens(eos: eosToken)
        if family == .llama3, let endOfText = tokenizer.id(forSpecialToken: "<|end_of_text|>") { stops.insert(endOfText, at: 0) }
        self.init(
            family: family, tokenizer: tokenizer, conversationStart: text(layout.start), userPrefix: userPrefix,
            userSuffix: text(layout.userSuffix), assistantPrefix: text(layout.assistantPrefix), endOfTurn: layout.endOfTurn,
            afterAssistant: text(layout.afterAssistant), conversationEnd: text(layout.conversationEnd), trimsMessages: trims,
            stopTokenIds: stops, padID: try resolver.padID(padToken, otherwise: layout.endOfTurn))
    }

    /// The family a derived layout belongs to: ChatML when `<|im_end|>` closes turns opened by
    /// `<|im_start|>`, Llama-3 when `<|eot_id|>` closes `<|start_header_id|>` headers, else other.
    private static func family(endOfTurn: Int, userPrefix: ChatTemplateText, tokenizer: any Tokenizer) -> Family {
        let opens = Set(userPrefix.tokenIds)
        func id(_ name: String) -> Int? { tokenizer.id(forSpecialToken: name) }
        if endOfTurn == id("<|im_end|>"), let start = id("<|im_start|>"), opens.contains(start) { return .chatML }
        if endOfTurn == id("<|eot_id|>"), let header = id("<|start_header_id|>"), opens.contains(header) { return .llama3 }
        return .other
    }
}
