import Foundation

extension Fuzz {
    /// A chat template's Jinja text (`chat_template.jinja`, or the string in tokenizer_config.json
    /// or GGUF metadata): parsed and rendered with a fixed conversation (as `transformers`'
    /// `apply_chat_template` would), then a `ChatTemplate` layout derived from it against the
    /// built-in chat tokenizer and used to write the conversation.
    static let chatTemplateTarget = FuzzTarget(
        name: "chat_template", summary: "Jinja chat-template text: parse, render a fixed conversation, derive a ChatTemplate"
    ) { data in
        guard let text = String(data: data, encoding: .utf8) else { return }  // as TokenizerConfig.load reads it
        guard let template = attempt("JinjaTemplate", { try JinjaTemplate(text, source: "chat_template.jinja") }) else { return }
        for generation in [true, false] {
            let variables: [String: JinjaValue] = [
                "messages": messageValues, "add_generation_prompt": .bool(generation), "bos_token": .string("<s>"),
                "eos_token": .string("</s>"), "tools": .none, "documents": .none,
            ]
            _ = attempt("render") { try template.render(variables, options: renderOptions) }
        }
        consume(deriveLayout(chatTokenizer, template: text, bos: "<s>", eos: "</s>", pad: nil, unk: "<unk>",
                             source: "chat_template.jinja"))
    }
}
