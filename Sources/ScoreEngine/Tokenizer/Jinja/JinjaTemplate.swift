/// A Jinja template (a chat template from `tokenizer_config.json`, `chat_template.jinja` or
/// GGUF metadata), parsed once and rendered with any variables.
///
/// The interpreter covers what Hugging Face chat templates use, rendered as `transformers`
/// renders them (`trim_blocks` and `lstrip_blocks` on, its `tojson`, `raise_exception` and
/// `strftime_now`); see `JinjaLexer`, `JinjaParser`, `JinjaFilters`, `JinjaPredicates` and
/// `JinjaMethods` for the details. Errors are `ScoreError`s that name the template's source:
/// `invalidFile` for a malformed template, an unsupported construct (naming it) or a failed
/// rendering, and `invalidArgument` for a template's own `raise_exception(message)`.
struct JinjaTemplate {
    /// Where the template came from ("model/tokenizer_config.json"), for errors.
    let source: String
    /// The parsed statements.
    private let nodes: [JinjaNode]

    /// Parses `text`. Throws `ScoreError.invalidFile` (at `source`) when it is not a template
    /// this interpreter reads.
    init(_ text: String, source: String) throws {
        self.source = source
        do {
            nodes = try JinjaParser.parse(try JinjaLexer.segments(of: text))
        } catch let error as JinjaError {
            throw Self.scoreError(error, source: source)
        }
    }

    /// The text the template renders with `variables` (names not given are undefined, as in
    /// Jinja). Throws `ScoreError.invalidFile` when rendering fails or reaches an unsupported
    /// construct, `ScoreError.invalidArgument` carrying the message when the template calls
    /// `raise_exception`.
    func render(_ variables: [String: JinjaValue], options: JinjaRenderer.Options = JinjaRenderer.Options()) throws -> String {
        do {
            return try JinjaRenderer(variables: variables, options: options).render(nodes)
        } catch let error as JinjaError {
            throw Self.scoreError(error, source: source)
        }
    }

    /// A `JinjaError` as the `ScoreError` callers see.
    private static func scoreError(_ error: JinjaError, source: String) -> ScoreError {
        switch error.kind {
        case .syntax:
            return .invalidFile(path: source, reason: "chat template is not valid Jinja: \(error.description)")
        case .unsupported:
            return .invalidFile(path: source, reason: error.description)
        case .raised:
            return .invalidArgument("the chat template of \(source) raised an exception: \(error.message)")
        case .runtime:
            return .invalidFile(path: source, reason: "chat template failed to render: \(error.description)")
        }
    }
}
