/// A byte-level tokenizer for models trained from scratch.
///
/// Ids 0–255 are the bytes of the UTF-8 text; then come six special tokens, in this order:
/// 256 `<|bos|>`, 257 `<|eos|>`, 258 `<|pad|>`, 259 `<|user|>`, 260 `<|assistant|>`,
/// 261 `<|end_turn|>`. Any text round-trips exactly. Ids from 262 upward (a model may have a
/// larger vocabulary, for example 320) are unknown to this tokenizer.
public struct ByteTokenizer: Tokenizer {
    /// The special-token names, in id order starting at `firstSpecialId`.
    public static let specialTokenNames: [String] = [
        "<|bos|>", "<|eos|>", "<|pad|>", "<|user|>", "<|assistant|>", "<|end_turn|>",
    ]

    /// The id of the first special token (the one after the 256 bytes).
    public static let firstSpecialId = 256

    /// 256 bytes plus the special tokens: 262.
    public static let vocabularySize = firstSpecialId + specialTokenNames.count

    /// The UTF-8 bytes of each special name, in id order.
    private static let specialNameBytes: [[UInt8]] = specialTokenNames.map { Array($0.utf8) }

    /// Special-token indices (into `specialTokenNames`) sorted longest name first, so the first
    /// match found at a position is the longest one.
    private static let longestFirst: [Int] = specialNameBytes.indices.sorted {
        specialNameBytes[$0].count > specialNameBytes[$1].count
    }

    /// Creates the tokenizer (it has no configuration).
    public init() {}

    /// 262.
    public var vocabularySize: Int { Self.vocabularySize }

    /// bos 256, eos 257, pad 258, user 259, assistant 260, endTurn 261.
    public var specialTokens: SpecialTokens {
        let first = Self.firstSpecialId
        return SpecialTokens(
            bos: first, eos: first + 1, pad: first + 2,
            user: first + 3, assistant: first + 4, endTurn: first + 5)
    }

    /// One id per UTF-8 byte; with `parseSpecialTokens`, exact special names (longest match,
    /// scanning left to right) become their ids instead.
    public func encode(_ text: String, parseSpecialTokens: Bool) -> [Int] {
        let bytes = Array(text.utf8)
        var ids = [Int]()
        ids.reserveCapacity(bytes.count)
        guard parseSpecialTokens else {
            for byte in bytes { ids.append(Int(byte)) }
            return ids
        }
        var position = 0
        while position < bytes.count {
            if let special = Self.specialToken(in: bytes, at: position) {
                ids.append(Self.firstSpecialId + special)
                position += Self.specialNameBytes[special].count
            } else {
                ids.append(Int(bytes[position]))
                position += 1
            }
        }
        return ids
    }

    /// The bytes of each id; special tokens render as their names.
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(ids.count)
        for id in ids {
            if id >= 0 && id < Self.firstSpecialId {
                bytes.append(UInt8(id))
            } else if id >= Self.firstSpecialId && id < Self.vocabularySize {
                bytes.append(contentsOf: Self.specialNameBytes[id - Self.firstSpecialId])
            } else {
                throw ScoreError.invalidArgument(
                    "token id \(id) is outside the byte tokenizer's vocabulary 0..<\(Self.vocabularySize)")
            }
        }
        return bytes
    }

    /// The id of a special name such as `<|eos|>`, or nil.
    public func id(forSpecialToken name: String) -> Int? {
        Self.specialTokenNames.firstIndex(of: name).map { Self.firstSpecialId + $0 }
    }

    /// The index of the longest special name that starts at `position`, if any.
    private static func specialToken(in bytes: [UInt8], at position: Int) -> Int? {
        for special in longestFirst {
            let name = specialNameBytes[special]
            guard position + name.count <= bytes.count, bytes[position] == name[0] else { continue }
            var matches = true
            for offset in 0..<name.count where bytes[position + offset] != name[offset] {
                matches = false
                break
            }
            if matches { return special }
        }
        return nil
    }
}
