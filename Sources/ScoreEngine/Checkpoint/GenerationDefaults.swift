import Foundation

/// The decoding settings a Hugging Face model folder ships in `generation_config.json`: the
/// subset that matters for sampling with this engine. A field absent from the file is nil (its
/// `transformers` default then applies: no sampling, temperature 1, top_k 50, top_p 1).
public struct GenerationDefaults: Sendable, Equatable {
    /// Name of the file inside a model folder.
    public static let fileName = "generation_config.json"

    /// Beginning-of-sequence id (`bos_token_id`).
    public var bosTokenId: Int?
    /// End-of-sequence ids (`eos_token_id`, a number or a list); empty when the file has none.
    public var eosTokenIds: [Int]
    /// Padding id (`pad_token_id`).
    public var padTokenId: Int?
    /// Whether to sample (`do_sample`); false means greedy decoding.
    public var doSample: Bool?
    /// Sampling temperature (`temperature`).
    public var temperature: Float?
    /// Nucleus mass (`top_p`).
    public var topP: Float?
    /// Number of most likely tokens kept (`top_k`).
    public var topK: Int?

    /// Defaults with the given values.
    public init(bosTokenId: Int? = nil, eosTokenIds: [Int] = [], padTokenId: Int? = nil, doSample: Bool? = nil,
                temperature: Float? = nil, topP: Float? = nil, topK: Int? = nil) {
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        self.padTokenId = padTokenId
        self.doSample = doSample
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
    }

    /// Reads `generation_config.json` from `directory`; nil when the folder has none. Throws
    /// `ScoreError.invalidFile` naming the file and the field when a field has the wrong type
    /// or an impossible value (a negative id, a non-finite or negative number).
    public static func load(from directory: URL) throws -> GenerationDefaults? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data = try FileContents.read(url)
        do {
            return try parse(data)
        } catch ScoreError.invalidArgument(let message) {
            throw ScoreError.invalidFile(path: url.path, reason: message)
        } catch let error as DecodingError {
            throw ScoreError.invalidFile(path: url.path, reason: "malformed generation config: \(SafeTensorsFile.describe(error))")
        } catch {
            throw ScoreError.invalidFile(path: url.path, reason: "malformed generation config: \(error.localizedDescription)")
        }
    }

    /// Decodes the JSON text of a `generation_config.json`.
    public static func parse(_ json: Data) throws -> GenerationDefaults {
        let file = try JSONDecoder().decode(ConfigFields.self, from: json)
        let defaults = GenerationDefaults(
            bosTokenId: file.bosTokenId, eosTokenIds: file.eosTokenId?.ids ?? [], padTokenId: file.padTokenId,
            doSample: file.doSample, temperature: file.temperature, topP: file.topP, topK: file.topK)
        try defaults.validate()
        return defaults
    }

    /// Throws `ScoreError.invalidArgument` naming the first impossible value.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw ScoreError.invalidArgument("generation config: " + message) }
        }
        for (field, id) in [("bos_token_id", bosTokenId), ("pad_token_id", padTokenId)] {
            if let id { try check(id >= 0, "\(field) must be ≥ 0 (got \(id))") }
        }
        if let id = eosTokenIds.first(where: { $0 < 0 }) { try check(false, "eos_token_id must be ≥ 0 (got \(id))") }
        if let temperature { try check(temperature.isFinite && temperature >= 0, "temperature must be finite and ≥ 0 (got \(temperature))") }
        if let topP { try check(topP.isFinite && topP >= 0 && topP <= 1, "top_p must be in [0, 1] (got \(topP))") }
        if let topK { try check(topK >= 0, "top_k must be ≥ 0 (got \(topK))") }
    }

    /// The fields as the file spells them.
    private struct ConfigFields: Decodable {
        var bosTokenId: Int?
        var eosTokenId: TokenIds?
        var padTokenId: Int?
        var doSample: Bool?
        var temperature: Float?
        var topP: Float?
        var topK: Int?

        enum CodingKeys: String, CodingKey {
            case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", padTokenId = "pad_token_id"
            case doSample = "do_sample", temperature, topP = "top_p", topK = "top_k"
        }
    }

    /// One id or a list of ids.
    private struct TokenIds: Decodable {
        var ids: [Int]

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(Int.self) {
                ids = [one]
            } else {
                ids = try container.decode([Int].self)
            }
        }
    }
}
