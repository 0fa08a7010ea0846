/// What went wrong while reading or rendering a Jinja template. `JinjaTemplate` turns it into a
/// `ScoreError` that names the template's source.
struct JinjaError: Error, Equatable {
    /// The kinds of failure.
    enum Kind: Equatable {
        /// The source is not a well-formed template (an unclosed tag, a bad expression).
        case syntax
        /// The template uses something this interpreter does not implement (a filter, a tag…).
        case unsupported
        /// The template called `raise_exception(message)`.
        case raised
        /// Rendering failed: a type error, an undefined value used, a limit reached.
        case runtime
    }

    /// The kind of failure.
    let kind: Kind
    /// What happened, naming the construct involved.
    let message: String
    /// The template line it happened on (1-based), when known.
    var line: Int?

    /// A syntax error.
    static func syntax(_ message: String, line: Int?) -> JinjaError {
        JinjaError(kind: .syntax, message: message, line: line)
    }

    /// An unsupported construct.
    static func unsupported(_ message: String, line: Int? = nil) -> JinjaError {
        JinjaError(kind: .unsupported, message: message, line: line)
    }

    /// A rendering error.
    static func runtime(_ message: String, line: Int? = nil) -> JinjaError {
        JinjaError(kind: .runtime, message: message, line: line)
    }

    /// The message with its line, as errors show it.
    var description: String {
        line.map { "\(message) (line \($0))" } ?? message
    }

    /// This error with `line` filled in when it has none.
    func at(line: Int) -> JinjaError {
        var copy = self
        if copy.line == nil { copy.line = line }
        return copy
    }
}
