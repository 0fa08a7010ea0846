/// A problem in a tokenizer.json, located by the path of the field at fault
/// (for example `model.merges[3]` or `pre_tokenizer.pretokenizers[0].pattern`).
struct TokenizerFileError: Error {
    /// Where in the file, as dotted keys and `[index]`.
    let field: String
    /// What is wrong there.
    let reason: String

    /// A one-line message naming the field (or "top level").
    var message: String { "\(field.isEmpty ? "top level" : field): \(reason)" }
}

/// Any JSON value, for the small, variable sections of a tokenizer.json (normalizer,
/// pre-tokenizer, decoder, post-processor) that are checked field by field.
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// A short name of the value's JSON type, for messages.
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The members of an object; throws naming `field` if this is not an object or has a key
    /// outside `allowed`.
    func object(at field: String, allowing allowed: Set<String>) throws -> [String: JSONValue] {
        guard case .object(let members) = self else {
            throw TokenizerFileError(field: field, reason: "expected an object, found \(kind)")
        }
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw TokenizerFileError(field: fieldPath(field, unknown), reason: "unknown field (not supported)")
        }
        return members
    }
}

/// Reading typed members out of an object's members, with errors naming the field.
extension Dictionary where Key == String, Value == JSONValue {
    /// A string member; `nil` if absent or null and not `required`.
    func string(_ key: String, at field: String, required: Bool = false) throws -> String? {
        switch self[key] {
        case .string(let value): return value
        case nil, .null?:
            if required { throw TokenizerFileError(field: fieldPath(field, key), reason: "missing") }
            return nil
        case let other?:
            throw TokenizerFileError(field: fieldPath(field, key), reason: "expected a string, found \(other.kind)")
        }
    }

    /// A boolean member; `defaultValue` if absent (or throws if there is no default).
    func bool(_ key: String, at field: String, default defaultValue: Bool?) throws -> Bool {
        switch self[key] {
        case .bool(let value): return value
        case nil:
            if let defaultValue { return defaultValue }
            throw TokenizerFileError(field: fieldPath(field, key), reason: "missing")
        case let other?:
            throw TokenizerFileError(field: fieldPath(field, key), reason: "expected a boolean, found \(other.kind)")
        }
    }
}

/// `parent.key`, or `key` at the top level.
func fieldPath(_ parent: String, _ key: String) -> String {
    parent.isEmpty ? key : "\(parent).\(key)"
}

/// A coding key for any object member, used to list and check an object's keys.
struct TokenizerJSONKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// The top level of a tokenizer.json. The large `model` and `added_tokens` sections are decoded
/// into typed values (fast for vocabularies of 100 000+ entries); the rest stay as `JSONValue`.
struct TokenizerFileJSON: Decodable {
    /// The top-level keys `tokenizers` writes.
    static let knownKeys: Set<String> = [
        "version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
        "post_processor", "decoder", "model",
    ]

    var addedTokens: [AddedTokenJSON]
    var normalizer: JSONValue
    var preTokenizer: JSONValue
    var postProcessor: JSONValue
    var decoder: JSONValue
    var model: BPEModelJSON

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: TokenizerJSONKey.self)
        try rejectUnknownKeys(container, allowed: Self.knownKeys)
        addedTokens = try container.decodeIfPresent([AddedTokenJSON].self, forKey: TokenizerJSONKey("added_tokens")) ?? []
        normalizer = try container.decodeIfPresent(JSONValue.self, forKey: TokenizerJSONKey("normalizer")) ?? .null
        preTokenizer = try container.decodeIfPresent(JSONValue.self, forKey: TokenizerJSONKey("pre_tokenizer")) ?? .null
        postProcessor = try container.decodeIfPresent(JSONValue.self, forKey: TokenizerJSONKey("post_processor")) ?? .null
        self.decoder = try container.decodeIfPresent(JSONValue.self, forKey: TokenizerJSONKey("decoder")) ?? .null
        model = try container.decode(BPEModelJSON.self, forKey: TokenizerJSONKey("model"))
    }
}

/// The `model` section of a BPE tokenizer.json, before validation.
struct BPEModelJSON: Decodable {
    var type: String?
    var vocab: [String: Int]
    /// The merges as pairs, in rank order.
    var merges: [(String, String)]
    var dropout: Double?
    var unkToken: String?
    var continuingSubwordPrefix: String?
    var endOfWordSuffix: String?
    var fuseUnk: Bool
    var byteFallback: Bool
    var ignoreMerges: Bool

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: TokenizerJSONKey.self)
        type = try container.decodeIfPresent(String.self, forKey: TokenizerJSONKey("type"))
        if let type, type != "BPE" {
            throw DecodingError.dataCorrupted(.init(
                codingPath: container.codingPath + [TokenizerJSONKey("type")],
                debugDescription: "model type \"\(type)\" is not supported (only BPE)"))
        }
        try rejectUnknownKeys(container, allowed: [
            "type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
            "fuse_unk", "byte_fallback", "ignore_merges", "vocab", "merges",
        ])
        vocab = try container.decode([String: Int].self, forKey: TokenizerJSONKey("vocab"))
        let mergesKey = TokenizerJSONKey("merges")
        // Both spellings exist: "a b" strings (older files) and ["a", "b"] pairs (tokens may
        // then contain spaces). Try the whole list one way, then the other.
        if let lines = try? container.decode([String].self, forKey: mergesKey) {
            merges = try lines.enumerated().map { index, line in
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw DecodingError.dataCorrupted(.init(
                        codingPath: container.codingPath + [mergesKey, TokenizerJSONKey(intValue: index)!],
                        debugDescription: "a merge string must be two tokens separated by one space, got \"\(line)\""))
                }
                return (String(parts[0]), String(parts[1]))
            }
        } else {
            let pairs = try container.decode([[String]].self, forKey: mergesKey)
            merges = try pairs.enumerated().map { index, pair in
                guard pair.count == 2 else {
                    throw DecodingError.dataCorrupted(.init(
                        codingPath: container.codingPath + [mergesKey, TokenizerJSONKey(intValue: index)!],
                        debugDescription: "a merge pair must have two tokens, got \(pair.count)"))
                }
                return (pair[0], pair[1])
            }
        }
        dropout = try container.decodeIfPresent(Double.self, forKey: TokenizerJSONKey("dropout"))
        unkToken = try container.decodeIfPresent(String.self, forKey: TokenizerJSONKey("unk_token"))
        continuingSubwordPrefix = try container.decodeIfPresent(String.self, forKey: TokenizerJSONKey("continuing_subword_prefix"))
        endOfWordSuffix = try container.decodeIfPresent(String.self, forKey: TokenizerJSONKey("end_of_word_suffix"))
        fuseUnk = try container.decodeIfPresent(Bool.self, forKey: TokenizerJSONKey("fuse_unk")) ?? false
        byteFallback = try container.decodeIfPresent(Bool.self, forKey: TokenizerJSONKey("byte_fallback")) ?? false
        ignoreMerges = try container.decodeIfPresent(Bool.self, forKey: TokenizerJSONKey("ignore_merges")) ?? false
    }
}

/// One entry of `added_tokens`, before validation.
struct AddedTokenJSON: Decodable {
    var id: Int
    var content: String
    var singleWord: Bool
    var lstrip: Bool
    var rstrip: Bool
    var normalized: Bool
    var special: Bool

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: TokenizerJSONKey.self)
        try rejectUnknownKeys(container, allowed: [
            "id", "content", "single_word", "lstrip", "rstrip", "normalized", "special",
        ])
        id = try container.decode(Int.self, forKey: TokenizerJSONKey("id"))
        content = try container.decode(String.self, forKey: TokenizerJSONKey("content"))
        singleWord = try container.decodeIfPresent(Bool.self, forKey: TokenizerJSONKey("single_word")) ?? false
        lstrip = try container.decodeIfPresent(Bool.self, forKey: TokenizerJSONKey("lstrip")) ?? false
        rstrip = try container.decodeIfPresent(Bool.self, forKey: TokenizerJSONKey("rstrip")) ?? false
        special = try container.decodeIfPresent(Bool.self, forKey: TokenizerJSONKey("special")) ?? false
        normalized = try container.decodeIfPresent(Bool.self, forKey: TokenizerJSONKey("normalized")) ?? !special
    }
}

/// Throws naming the first key of `container` (alphabetically) that is not in `allowed`.
private func rejectUnknownKeys(_ container: KeyedDecodingContainer<TokenizerJSONKey>, allowed: Set<String>) throws {
    let unknown = container.allKeys.map(\.stringValue).filter { !allowed.contains($0) }.sorted()
    if let first = unknown.first {
        throw DecodingError.dataCorrupted(.init(
            codingPath: container.codingPath + [TokenizerJSONKey(first)],
            debugDescription: "unknown field (not supported)"))
    }
}

extension TokenizerFileError {
    /// The located message of a JSON decoding failure.
    init(_ error: DecodingError) {
        func path(_ keys: [CodingKey]) -> String {
            keys.reduce("") { path, key in
                if let index = key.intValue { return "\(path)[\(index)]" }
                return fieldPath(path, key.stringValue)
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(field: path(context.codingPath + [key]), reason: "missing")
        case .typeMismatch(let type, let context):
            self.init(field: path(context.codingPath), reason: "expected \(Self.jsonName(of: type))")
        case .valueNotFound(let type, let context):
            self.init(field: path(context.codingPath), reason: "null where \(Self.jsonName(of: type)) is required")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let detail = context.underlyingError.map { " (\($0))" } ?? ""
                self.init(field: "", reason: "not valid JSON\(detail)")
            } else {
                self.init(field: path(context.codingPath), reason: context.debugDescription)
            }
        @unknown default:
            self.init(field: "", reason: "invalid JSON: \(error)")
        }
    }

    /// "a string", "an integer", … for a Swift type named in a decoding error.
    private static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "an integer"
        case is Bool.Type: return "a boolean"
        case is Double.Type: return "a number"
        default:
            return String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
