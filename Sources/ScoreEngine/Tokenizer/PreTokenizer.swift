/// Cuts text into the words BPE encodes one at a time: zero or more `Split` steps with a known
/// pattern, then `ByteLevel` (which may add a leading space and may split with GPT-2's pattern).
///
/// The two shapes tokenizer.json files use are supported:
/// - `{"type": "ByteLevel", "add_prefix_space": …, "use_regex": …}` (GPT-2, SmolLM);
/// - `{"type": "Sequence", "pretokenizers": [Split(pattern, "Isolated", invert false), …,
///   ByteLevel(use_regex false)]}` (Llama-3, Qwen2), where a step may also be
///   `Digits(individual_digits true)` (SmolLM, StarCoder: then ByteLevel keeps `use_regex`).
///
/// `trim_offsets` only affects offsets, which this engine does not report, so any value is accepted.
struct PreTokenizer: Sendable, Equatable {
    /// The `Split` steps, in order.
    var splits: [SplitPattern]
    /// `ByteLevel.add_prefix_space`: prepend a space to each piece that does not start with one.
    var addPrefixSpace: Bool
    /// `ByteLevel.use_regex`: split each piece with GPT-2's pattern.
    var useRegex: Bool

    /// Reusable buffers for `forEachWord`.
    struct Scratch {
        var text = ScalarText()
        var pieces: [Range<Int>] = []
        var nextPieces: [Range<Int>] = []
        var words: [Range<Int>] = []
    }

    /// Reads the `pre_tokenizer` section.
    init(json: JSONValue) throws {
        let field = "pre_tokenizer"
        guard json != .null else {
            throw TokenizerFileError(field: field, reason: "missing; a byte-level BPE needs a ByteLevel pre-tokenizer")
        }
        guard case .object(let members) = json else {
            throw TokenizerFileError(field: field, reason: "expected an object, found \(json.kind)")
        }
        switch try members.string("type", at: field, required: true) {
        case "ByteLevel":
            splits = []
            (addPrefixSpace, useRegex) = try Self.byteLevel(json, at: field)
        case "Sequence":
            let sequence = try json.object(at: field, allowing: ["type", "pretokenizers"])
            guard case .array(let steps)? = sequence["pretokenizers"], let last = steps.last else {
                throw TokenizerFileError(field: fieldPath(field, "pretokenizers"), reason: "expected a non-empty array")
            }
            splits = try steps.dropLast().enumerated().map { index, step in
                try Self.split(step, at: "\(field).pretokenizers[\(index)]")
            }
            let lastField = "\(field).pretokenizers[\(steps.count - 1)]"
            guard case .object(let lastMembers) = last,
                  try lastMembers.string("type", at: lastField) == "ByteLevel" else {
                throw TokenizerFileError(field: lastField, reason: "the last step must be ByteLevel")
            }
            (addPrefixSpace, useRegex) = try Self.byteLevel(last, at: lastField)
        case let other?:
            throw TokenizerFileError(
                field: fieldPath(field, "type"),
                reason: "\"\(other)\" is not supported (supported: ByteLevel, or a Sequence of Split steps then ByteLevel)")
        case nil:
            throw TokenizerFileError(field: fieldPath(field, "type"), reason: "missing")
        }
    }

    /// Reads a `ByteLevel` step: (add_prefix_space, use_regex).
    private static func byteLevel(_ json: JSONValue, at field: String) throws -> (Bool, Bool) {
        let members = try json.object(at: field, allowing: ["type", "add_prefix_space", "trim_offsets", "use_regex"])
        _ = try members.bool("trim_offsets", at: field, default: true)
        return (try members.bool("add_prefix_space", at: field, default: nil),
                try members.bool("use_regex", at: field, default: true))
    }

    /// Reads a `Split` step (only known regex patterns, `Isolated`, not inverted) or a `Digits`
    /// step with `individual_digits`.
    private static func split(_ json: JSONValue, at field: String) throws -> SplitPattern {
        if case .object(let step) = json, case .string("Digits")? = step["type"] {
            let members = try json.object(at: field, allowing: ["type", "individual_digits"])
            guard try members.bool("individual_digits", at: field, default: false) else {
                throw TokenizerFileError(field: fieldPath(field, "individual_digits"),
                                         reason: "false is not supported (only each digit alone)")
            }
            return .digits
        }
        let members = try json.object(at: field, allowing: ["type", "pattern", "behavior", "invert"])
        let type = try members.string("type", at: field, required: true)
        guard type == "Split" else {
            throw TokenizerFileError(
                field: fieldPath(field, "type"),
                reason: "\"\(type ?? "")\" is not supported before ByteLevel (only Split and Digits)")
        }
        let behavior = try members.string("behavior", at: field, required: true)
        guard behavior == "Isolated" else {
            throw TokenizerFileError(
                field: fieldPath(field, "behavior"), reason: "\"\(behavior ?? "")\" is not supported (only Isolated)")
        }
        guard try !members.bool("invert", at: field, default: false) else {
            throw TokenizerFileError(field: fieldPath(field, "invert"), reason: "true is not supported")
        }
        let patternField = fieldPath(field, "pattern")
        let pattern = try (members["pattern"] ?? .null).object(at: patternField, allowing: ["Regex", "String"])
        guard let regex = try pattern.string("Regex", at: patternField) else {
            throw TokenizerFileError(field: patternField, reason: "only a Regex pattern is supported")
        }
        guard let known = SplitPattern(regex: regex) else {
            throw TokenizerFileError(
                field: fieldPath(patternField, "Regex"),
                reason: "unsupported split pattern \"\(regex)\" (supported: the GPT-2, Llama-3 and Qwen2 patterns)")
        }
        return known
    }

    /// Calls `body` with the bytes of each word of `bytes[range]`, in order. A word is given as
    /// a buffer and a range in it: `bytes` itself, or a copy with the prefix space added.
    func forEachWord(
        in bytes: [UInt8], _ range: Range<Int>, scratch: inout Scratch,
        _ body: ([UInt8], Range<Int>) -> Void
    ) {
        guard !range.isEmpty else { return }
        scratch.pieces.removeAll(keepingCapacity: true)
        scratch.pieces.append(range)
        for pattern in splits {
            scratch.nextPieces.removeAll(keepingCapacity: true)
            for piece in scratch.pieces {
                scratch.text.load(bytes, piece)
                pattern.split(scratch.text, into: &scratch.nextPieces)
            }
            swap(&scratch.pieces, &scratch.nextPieces)
        }
        for piece in scratch.pieces {
            if addPrefixSpace && bytes[piece.lowerBound] != 0x20 {
                let prefixed = [0x20] + bytes[piece]
                emitWords(of: prefixed, 0..<prefixed.count, scratch: &scratch, body)
            } else {
                emitWords(of: bytes, piece, scratch: &scratch, body)
            }
        }
    }

    /// The ByteLevel step on one piece: GPT-2's split if `useRegex`, else the piece whole.
    private func emitWords(
        of bytes: [UInt8], _ piece: Range<Int>, scratch: inout Scratch, _ body: ([UInt8], Range<Int>) -> Void
    ) {
        guard useRegex else {
            body(bytes, piece)
            return
        }
        scratch.text.load(bytes, piece)
        scratch.words.removeAll(keepingCapacity: true)
        SplitPattern.gpt2.split(scratch.text, into: &scratch.words)
        for word in scratch.words { body(bytes, word) }
    }
}
