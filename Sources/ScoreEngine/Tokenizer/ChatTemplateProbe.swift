/// Finds the pieces of a chat template's layout by rendering it: probe conversations whose
/// messages are sentinel strings are rendered with the template, the renderings are cut at the
/// sentinels, and the stretches between them (parsed into control tokens and text with the
/// tokenizer) give the conversation start, the user and assistant prefixes and suffixes, the
/// end-of-turn token (the special token right after an assistant message), what follows it, and
/// what closes a conversation rendered without a generation prompt. The pieces must then
/// reproduce every probe exactly; a template whose layout depends on a message's position
/// (a generation prompt that differs from the assistant prefix, a reasoning block only on the
/// last answer) is refused.
struct ChatTemplateProbe {
    /// A control token, or one code point of text.
    enum Atom: Equatable {
        case token(Int)
        case scalar(Unicode.Scalar)
    }

    /// The derived pieces.
    struct Layout {
        var start: [Atom]
        var userPrefix: [Atom]
        var userSuffix: [Atom]
        var assistantPrefix: [Atom]
        var endOfTurn: Int
        var afterAssistant: [Atom]
        var conversationEnd: [Atom]

        /// What the pieces give between the messages of a conversation with these roles.
        func segments(_ roles: [ChatMessage.Role], generation: Bool) -> [[Atom]] {
            var segments = [[Atom]]()
            var current = start
            for role in roles {
                current += role == .user ? userPrefix : assistantPrefix
                segments.append(current)
                current = role == .user ? userSuffix : [.token(endOfTurn)] + afterAssistant
            }
            segments.append(current + (generation ? assistantPrefix : conversationEnd))
            return segments
        }
    }

    /// The template.
    let template: JinjaTemplate
    /// The tokenizer that tells control tokens from text.
    let tokenizer: any Tokenizer
    /// The variables besides `messages` and `add_generation_prompt` (special tokens, `tools`…).
    let variables: [String: JinjaValue]
    /// Rendering settings (the time `strftime_now` reads).
    let options: JinjaRenderer.Options

    /// The probe conversations: alternating roles from a user message, with and without the
    /// generation prompt.
    static let probes: [(roles: [ChatMessage.Role], generation: Bool)] = [
        ([.user], true), ([.user], false), ([.user, .assistant], false), ([.user, .assistant, .user], true),
        ([.user, .assistant, .user], false), ([.user, .assistant, .user, .assistant], false),
    ]

    /// The content of message `index` in a probe: private-use characters no template writes.
    static func sentinel(_ index: Int) -> String {
        "\u{E000}\(index)\u{E001}"
    }

    /// A probe conversation as errors describe it.
    static func describe(_ roles: [ChatMessage.Role], generation: Bool) -> String {
        "[" + roles.map(\.rawValue).joined(separator: ", ") + "]" + (generation ? " with the generation prompt" : "")
    }

    /// The pieces and whether the template trims message text.
    func derive() throws -> (layout: Layout, trimsMessages: Bool) {
        let renders = try Self.probes.map { try segments($0.roles, generation: $0.generation) }
        let oneUser = renders[0], oneUserEnd = renders[1], exchange = renders[2], second = renders[3]
        guard case .token(let endOfTurn)? = exchange[2].first else {
            throw fail("the text after an assistant message, \(quoted(exchange[2])), does not start with a special token "
                       + "of the tokenizer (the end-of-turn token)")
        }
        guard second[2].first == .token(endOfTurn) else {
            throw varies(Self.probes[3], actual: second, note: "the second assistant message is not closed by \(quoted([.token(endOfTurn)]))")
        }
        let tail = Array(exchange[2].dropFirst())
        let between = Array(second[2].dropFirst())
        let after = Array(zip(tail, between).prefix { $0 == $1 }.map(\.0))
        var layout = Layout(start: [], userPrefix: Array(between.dropFirst(after.count)), userSuffix: [], assistantPrefix: [],
                            endOfTurn: endOfTurn, afterAssistant: after, conversationEnd: Array(tail.dropFirst(after.count)))
        guard oneUser[0].count >= layout.userPrefix.count, oneUser[0].suffix(layout.userPrefix.count).elementsEqual(layout.userPrefix) else {
            throw varies(Self.probes[0], actual: oneUser, note: "the first user message's prefix differs from the second's, "
                         + quoted(layout.userPrefix))
        }
        layout.start = Array(oneUser[0].dropLast(layout.userPrefix.count))
        guard oneUserEnd[1].count >= layout.conversationEnd.count,
              oneUserEnd[1].suffix(layout.conversationEnd.count).elementsEqual(layout.conversationEnd) else {
            throw varies(Self.probes[1], actual: oneUserEnd, note: "a conversation that ends with a user message does not "
                         + "end as one that ends with an assistant message, with \(quoted(layout.conversationEnd))")
        }
        layout.userSuffix = Array(oneUserEnd[1].dropLast(layout.conversationEnd.count))
        guard exchange[1].starts(with: layout.userSuffix), oneUser[1].starts(with: layout.userSuffix) else {
            throw varies(Self.probes[2], actual: exchange, note: "the text after a user message is not always \(quoted(layout.userSuffix))")
        }
        layout.assistantPrefix = Array(exchange[1].dropFirst(layout.userSuffix.count))
        let generationPrompt = Array(oneUser[1].dropFirst(layout.userSuffix.count))
        guard generationPrompt == layout.assistantPrefix else {
            throw fail("its generation prompt \(quoted(generationPrompt)) differs from the text before an assistant "
                       + "message \(quoted(layout.assistantPrefix)), so a generated answer would not read as the same "
                       + "conversation rendered again")
        }
        for (probe, actual) in zip(Self.probes, renders) where actual != layout.segments(probe.roles, generation: probe.generation) {
            throw varies(probe, actual: actual, expected: layout.segments(probe.roles, generation: probe.generation))
        }
        return (layout, try trimming())
    }

    /// Whether the template trims message text (as Jinja's `trim` does): found by rendering
    /// messages with whitespace around the sentinels. Throws when it trims only one role's
    /// messages or changes the whitespace otherwise.
    private func trimming() throws -> Bool {
        let roles: [ChatMessage.Role] = [.user, .assistant, .user, .assistant]
        let plain = try render(roles, generation: false)
        let padded = try render(roles, generation: false, padded: true)
        func expected(trimsUser: Bool, trimsAssistant: Bool) -> Bool {
            var text = plain
            for (index, role) in roles.enumerated() where !(role == .user ? trimsUser : trimsAssistant) {
                text = PythonText.replace(text, Self.sentinel(index), " \n" + Self.sentinel(index) + "\n ")
            }
            return text.unicodeScalars.elementsEqual(padded.unicodeScalars)
        }
        if expected(trimsUser: false, trimsAssistant: false) { return false }
        if expected(trimsUser: true, trimsAssistant: true) { return true }
        if expected(trimsUser: false, trimsAssistant: true) {
            throw fail("it trims the whitespace around assistant messages but not around user messages")
        }
        if expected(trimsUser: true, trimsAssistant: false) {
            throw fail("it trims the whitespace around user messages but not around assistant messages")
        }
        throw fail("it changes the whitespace around message text other than by trimming it")
    }

    /// The template's rendering of a probe conversation.
    private func render(_ roles: [ChatMessage.Role], generation: Bool, padded: Bool = false) throws -> String {
        var all = variables
        all["messages"] = .list(roles.enumerated().map { index, role in
            let content = padded ? " \n" + Self.sentinel(index) + "\n " : Self.sentinel(index)
            return .dict(JinjaDict([("role", .string(role.rawValue)), ("content", .string(content))]))
        })
        all["add_generation_prompt"] = .bool(generation)
        do {
            return try template.render(all, options: options)
        } catch ScoreError.invalidArgument(let message) {
            throw fail("rendering \(Self.describe(roles, generation: generation)) failed: \(message)")
        } catch ScoreError.invalidFile(let path, let reason) {
            throw ScoreError.invalidFile(path: path, reason: "\(reason), rendering \(Self.describe(roles, generation: generation))")
        }
    }

    /// A probe's rendering cut at its messages, each stretch parsed into atoms. Throws when a
    /// message's content is not written exactly once.
    private func segments(_ roles: [ChatMessage.Role], generation: Bool) throws -> [[Atom]] {
        let text = Array(try render(roles, generation: generation).unicodeScalars)
        var segments = [[Atom]]()
        var start = 0
        for index in roles.indices {
            let needle = Array(Self.sentinel(index).unicodeScalars)
            guard let found = PythonText.find(needle, in: text), found >= start,
                  PythonText.find(needle, in: text, from: found + needle.count) == nil else {
                throw fail("rendering \(Self.describe(roles, generation: generation)) does not write message \(index + 1)'s "
                           + "text exactly once, after the message before it")
            }
            segments.append(atoms(text[start..<found]))
            start = found + needle.count
        }
        segments.append(atoms(text[start...]))
        return segments
    }

    /// Text parsed into control tokens and code points, as `ChatTemplateText` resolves it.
    private func atoms(_ text: ArraySlice<Unicode.Scalar>) -> [Atom] {
        ChatTemplateText(parsing: PythonText.string(text), tokenizer: tokenizer).parts.flatMap { part -> [Atom] in
            switch part {
            case .token(let id): return [.token(id)]
            case .text(let string): return string.unicodeScalars.map { .scalar($0) }
            }
        }
    }

    /// Atoms as template text.
    static func text(_ atoms: [Atom]) -> ChatTemplateText {
        var parts = [ChatTemplateText.Part]()
        var pending = String.UnicodeScalarView()
        for atom in atoms {
            switch atom {
            case .scalar(let scalar): pending.append(scalar)
            case .token(let id):
                if !pending.isEmpty { parts.append(.text(String(pending))) }
                pending = String.UnicodeScalarView()
                parts.append(.token(id))
            }
        }
        if !pending.isEmpty { parts.append(.text(String(pending))) }
        return ChatTemplateText(parts: parts)
    }

    /// Atoms quoted for an error, control tokens by name.
    private func quoted(_ atoms: [Atom]) -> String {
        String(reflecting: (try? Self.text(atoms).text(tokenizer: tokenizer)) ?? "?")
    }

    /// A probe's rendering for an error, messages shown as ⟨message N⟩.
    private func shown(_ segments: [[Atom]]) -> String {
        segments.enumerated().map { index, segment in
            (index > 0 ? "⟨message \(index)⟩" : "") + String(quoted(segment).dropFirst().dropLast())
        }.joined()
    }

    /// The error for a template whose layout varies by position.
    private func varies(_ probe: (roles: [ChatMessage.Role], generation: Bool), actual: [[Atom]],
                        expected: [[Atom]]? = nil, note: String? = nil) -> ScoreError {
        var reason = "its layout varies by position: rendering \(Self.describe(probe.roles, generation: probe.generation)) "
            + "gives \"\(shown(actual))\""
        if let expected { reason += " where the pieces found in the other renderings give \"\(shown(expected))\"" }
        if let note { reason += " (\(note))" }
        return fail(reason)
    }

    /// An error about the template.
    private func fail(_ reason: String) -> ScoreError {
        .invalidFile(path: template.source, reason: "chat template not supported: \(reason); give the layout with "
                     + "ChatTemplate.custom")
    }
}
