import Foundation

/// Choosing the layout from a model's `tokenizer_config.json`, without a Jinja engine: the
/// family is recognised by the markers the template writes, and the parts that vary between
/// models of a family (a default system message, a BOS, the Llama system block) are read from
/// the template's string literals.
extension ChatTemplate {
    /// The layout of `config.chatTemplate`, rendered as `transformers` renders it for a
    /// conversation of user and assistant messages with no system message and no tools.
    ///
    /// Recognised:
    /// - ChatML (`<|im_start|>`, `<|im_end|>`): Qwen2, Qwen2.5, SmolLM2 and templates like them.
    ///   A string literal `<|im_start|>system\n…<|im_end|>\n` with fixed text is the default
    ///   system message the template writes when the conversation has none.
    /// - The Llama-3 header format (`<|start_header_id|>`, `<|end_header_id|>`, `<|eot_id|>`):
    ///   Llama-3, 3.1, 3.2, 3.3. A "Cutting Knowledge Date: …" literal means the template always
    ///   writes the system block; its "Today Date" is `date`, else the template's fixed
    ///   `date_string` (Llama-3.1, 3.3), else today's date where the template calls
    ///   `strftime_now("%d %b %Y")` (Llama-3.2, as `transformers` renders it).
    ///
    /// In both, `bos_token` written by the template becomes the config's BOS; the config's EOS
    /// also stops answers, and its PAD pads.
    ///
    /// - Throws: `ScoreError.invalidFile` (naming the config) when there is no chat template,
    ///   when it is neither family, or when it uses something this reading cannot reproduce
    ///   (reasoning blocks, trimming in ChatML, several default system messages, another date
    ///   format); `ScoreError.invalidArgument` when a token the template needs is not a special
    ///   token of the tokenizer. For a template the engine does not recognise, build the layout
    ///   with `ChatTemplate.custom`.
    public init(tokenizer: any Tokenizer, config: TokenizerConfig, date: String? = nil) throws {
        guard let template = config.chatTemplate else {
            let named = config.chatTemplateNames.isEmpty ? ""
                : " (its templates are named \(config.chatTemplateNames.joined(separator: ", ")); none is \"default\")"
            throw ScoreError.invalidFile(path: config.path, reason:
                "no chat template\(named); give the layout with ChatTemplate.custom")
        }
        let source = ChatTemplateSource(template)
        let written = source.writtenText
        func fail(_ reason: String) -> ScoreError {
            ScoreError.invalidFile(path: config.path, reason: "chat template not supported: \(reason); "
                                   + "give the layout with ChatTemplate.custom")
        }
        let writesBOS = source.code.range(of: #"\bbos_token\b"#, options: .regularExpression) != nil
        let bosToken = writesBOS ? config.bosToken : nil
        if written.contains("<|im_start|>") && written.contains("<|im_end|>") {
            self = try Self.recognizeChatML(source, tokenizer: tokenizer, config: config, bosToken: bosToken, fail: fail)
        } else if ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"].allSatisfy(written.contains) {
            self = try Self.recognizeLlama3(source, tokenizer: tokenizer, config: config, bosToken: bosToken,
                                            date: date, fail: fail)
        } else {
            throw fail("it is neither ChatML (no <|im_start|> and <|im_end|>) nor the Llama-3 header format "
                       + "(no <|start_header_id|>, <|end_header_id|> and <|eot_id|>)")
        }
    }

    /// ChatML: checks the message and generation-prompt pieces and finds the default system message.
    private static func recognizeChatML(
        _ source: ChatTemplateSource, tokenizer: any Tokenizer, config: TokenizerConfig, bosToken: String?,
        fail: (String) -> ScoreError
    ) throws -> ChatTemplate {
        let literals = source.literals
        if source.writtenText.contains("<think>") {
            throw fail("it writes <think> reasoning blocks (a reasoning model's ChatML), which the engine does not reproduce")
        }
        if source.code.range(of: #"\|\s*trim\b|\.strip\("#, options: .regularExpression) != nil {
            throw fail("it trims text (a ChatML variant the engine does not reproduce)")
        }
        guard literals.contains(where: { $0.hasSuffix("<|im_start|>assistant\n") }) else {
            throw fail("ChatML without the generation prompt \"<|im_start|>assistant\\n\"")
        }
        let closesWithLineBreak = literals.indices.contains { i in
            literals[i].contains("<|im_end|>\n")
                || (literals[i].hasSuffix("<|im_end|>") && i + 1 < literals.count && literals[i + 1].hasPrefix("\n"))
        }
        guard closesWithLineBreak else {
            throw fail("ChatML that does not write a line break after <|im_end|>")
        }
        let prefix = "<|im_start|>system\n", suffix = "<|im_end|>\n"
        var systems = [String]()
        for literal in literals where literal.hasPrefix(prefix) && literal.hasSuffix(suffix)
            && literal.count > prefix.count + suffix.count {
            let message = String(literal.dropFirst(prefix.count).dropLast(suffix.count))
            guard !message.contains("<|im_start|>") && !message.contains("<|im_end|>") else { continue }
            if !systems.contains(message) { systems.append(message) }
        }
        guard systems.count <= 1 else {
            throw fail("it holds several default system messages (\(systems.map { "\"\($0)\"" }.joined(separator: ", ")))")
        }
        return try chatML(tokenizer: tokenizer, defaultSystemMessage: systems.first, bosToken: bosToken,
                          eosToken: config.eosToken, padToken: config.padToken)
    }

    /// Llama-3: finds whether the template trims and writes the system block, and its dates.
    private static func recognizeLlama3(
        _ source: ChatTemplateSource, tokenizer: any Tokenizer, config: TokenizerConfig, bosToken: String?,
        date: String?, fail: (String) -> ScoreError
    ) throws -> ChatTemplate {
        let literals = source.literals
        guard literals.contains(where: { $0.hasSuffix("<|end_header_id|>\n\n") }) else {
            throw fail("a Llama-3 header format without \"<|end_header_id|>\\n\\n\" after the role")
        }
        guard source.code.range(of: #"content'?\]?\s*\|\s*trim\b"#, options: .regularExpression) != nil else {
            throw fail("a Llama-3 header format that does not trim message text")
        }
        let marker = "Cutting Knowledge Date: "
        guard let cutoffLiteral = literals.first(where: { $0.contains(marker) }) else {
            return try llama3(tokenizer: tokenizer, bosToken: bosToken, eosToken: config.eosToken, padToken: config.padToken)
        }
        let afterMarker = cutoffLiteral[cutoffLiteral.range(of: marker)!.upperBound...]
        let cutoff = String(afterMarker.prefix { $0 != "\n" })
        guard afterMarker.contains("\n"), literals.contains("Today Date: ") else {
            throw fail("a Llama-3 system block other than \"Cutting Knowledge Date: …\\nToday Date: …\\n\\n\"")
        }
        var today = date
        if today == nil, let call = firstMatch(#"strftime_now\(\s*(["'])(.*?)\1\s*\)"#, in: source.code, group: 2) {
            guard call == "%d %b %Y" else {
                throw fail("its date format \"\(call)\" (only \"%d %b %Y\" is reproduced)")
            }
            today = todayString()
        }
        if today == nil {
            guard let fixed = firstMatch(#"date_string\s*=\s*(["'])(.*?)\1"#, in: source.code, group: 2) else {
                throw fail("a Llama-3 system block without a default date_string")
            }
            today = fixed
        }
        return try llama3(tokenizer: tokenizer, bosToken: bosToken, knowledgeCutoff: cutoff, today: today,
                          eosToken: config.eosToken, padToken: config.padToken)
    }

    /// Capture group `group` of the first match of `pattern` in `text`.
    private static func firstMatch(_ pattern: String, in text: String, group: Int) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range(at: group), in: text) else { return nil }
        return String(text[range])
    }
}
