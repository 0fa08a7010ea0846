import Foundation

/// What the engine reads from a Hugging Face `tokenizer_config.json`: the chat template and the
/// names of the BOS, EOS, PAD and UNK tokens (which the template sees as `bos_token`…). Other
/// fields are ignored.
///
/// `chat_template` is a Jinja string, or a list of `{"name", "template"}` entries of which the
/// one named "default" is the chat template (as `transformers` picks it when no tools are
/// given). Token fields are a string, an object with `"content"` (older files), or null.
public struct TokenizerConfig: Sendable, Equatable {
    /// Name of the file inside a model folder.
    public static let fileName = "tokenizer_config.json"
    /// Name of the file that newer `transformers` versions save the chat template in; when a
    /// folder has it, it takes priority over `chat_template` in the config, as in `transformers`.
    public static let chatTemplateFileName = "chat_template.jinja"

    /// The chat template (Jinja source), or nil when there is none.
    public var chatTemplate: String?
    /// Names of all templates when `chat_template` is a list (empty otherwise).
    public var chatTemplateNames: [String]
    /// `bos_token`.
    public var bosToken: String?
    /// `eos_token`.
    public var eosToken: String?
    /// `pad_token`.
    public var padToken: String?
    /// `unk_token`.
    public var unkToken: String?
    /// `add_bos_token`. Informational: `apply_chat_template` never adds special tokens itself
    /// (a template that wants a BOS writes `bos_token`), and `transformers` ignores the field
    /// for tokenizers read from tokenizer.json.
    public var addBOSToken: Bool?
    /// Where the config came from, for errors.
    public var path: String

    /// A config with the given values.
    public init(chatTemplate: String? = nil, chatTemplateNames: [String] = [], bosToken: String? = nil,
                eosToken: String? = nil, padToken: String? = nil, unkToken: String? = nil, addBOSToken: Bool? = nil,
                path: String = TokenizerConfig.fileName) {
        self.chatTemplate = chatTemplate
        self.chatTemplateNames = chatTemplateNames
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.padToken = padToken
        self.unkToken = unkToken
        self.addBOSToken = addBOSToken
        self.path = path
    }

    /// Decodes the JSON text of a `tokenizer_config.json`; `path` names it in errors. Throws
    /// `ScoreError.invalidFile` naming the field when a read field has the wrong type.
    public init(json: Data, path: String = TokenizerConfig.fileName) throws {
        let file: ConfigJSON
        do {
            file = try JSONDecoder().decode(ConfigJSON.self, from: json)
        } catch let error as DecodingError {
            throw ScoreError.invalidFile(path: path, reason: Self.describe(error))
        } catch {
            throw ScoreError.invalidFile(path: path, reason: "not a tokenizer config: \(error.localizedDescription)")
        }
        switch file.chatTemplate {
        case .none:
            self.init(path: path)
        case .single(let template)?:
            self.init(chatTemplate: template, path: path)
        case .named(let entries)?:
            self.init(chatTemplate: entries.first { $0.name == "default" }?.template,
                      chatTemplateNames: entries.map(\.name), path: path)
        }
        bosToken = file.bosToken?.content
        eosToken = file.eosToken?.content
        padToken = file.padToken?.content
        unkToken = file.unkToken?.content
        addBOSToken = file.addBOSToken
    }

    /// Reads `tokenizer_config.json` from a model folder, with the chat template of
    /// `chat_template.jinja` when the folder has that file. Throws `ScoreError.io` when the
    /// config cannot be read and `ScoreError.invalidFile` when it is malformed.
    public static func load(from directory: URL) throws -> TokenizerConfig {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ScoreError.io(path: url.path, reason: "missing: the model folder has no \(fileName)")
        }
        var config = try TokenizerConfig(json: try FileContents.read(url), path: url.path)
        let templateURL = directory.appendingPathComponent(chatTemplateFileName)
        if FileManager.default.fileExists(atPath: templateURL.path) {
            guard let template = String(data: try FileContents.read(templateURL), encoding: .utf8) else {
                throw ScoreError.invalidFile(path: templateURL.path, reason: "not UTF-8 text")
            }
            config.chatTemplate = template
        }
        return config
    }

    /// A decoding error as "field: problem".
    private static func describe(_ error: DecodingError) -> String {
        func field(_ path: [CodingKey]) -> String {
            path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(field(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "\(field(context.codingPath + [key])) is missing"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(field(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "malformed tokenizer config"
        }
    }
}

/// The fields of tokenizer_config.json the engine reads.
private struct ConfigJSON: Decodable {
    var chatTemplate: ChatTemplateField?
    var bosToken: TokenField?
    var eosToken: TokenField?
    var padToken: TokenField?
    var unkToken: TokenField?
    var addBOSToken: Bool?

    enum CodingKeys: String, CodingKey {
        case chatTemplate = "chat_template", bosToken = "bos_token", eosToken = "eos_token", padToken = "pad_token"
        case unkToken = "unk_token"
        case addBOSToken = "add_bos_token"
    }
}

/// `chat_template`: one template, or a list of named ones.
private enum ChatTemplateField: Decodable {
    case single(String)
    case named([Entry])

    struct Entry: Decodable {
        var name: String
        var template: String
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let template = try? container.decode(String.self) {
            self = .single(template)
        } else if let entries = try? container.decode([Entry].self) {
            self = .named(entries)
        } else {
            throw DecodingError.typeMismatch(ChatTemplateField.self, .init(
                codingPath: decoder.codingPath,
                debugDescription: "expected a string or a list of {\"name\", \"template\"} objects"))
        }
    }
}

/// A special-token field: its name, as a string or inside an object's `"content"`.
private struct TokenField: Decodable {
    var content: String

    private enum Keys: String, CodingKey { case content }

    init(from decoder: Decoder) throws {
        if let name = try? decoder.singleValueContainer().decode(String.self) {
            content = name
        } else if let object = try? decoder.container(keyedBy: Keys.self), let name = try? object.decode(String.self, forKey: .content) {
            content = name
        } else {
            throw DecodingError.typeMismatch(TokenField.self, .init(
                codingPath: decoder.codingPath, debugDescription: "expected a string or an object with a string \"content\""))
        }
    }
}
