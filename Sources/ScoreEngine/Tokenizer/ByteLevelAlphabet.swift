/// GPT-2's byte-level alphabet: one printable Unicode character standing for each of the 256
/// byte values, so that byte strings can be written as text in a tokenizer's vocabulary.
///
/// The bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` stand for themselves (as code points 33–126, 161–172,
/// 174–255); the other 68 bytes (0–32, 127–160, 173), in increasing order, take the code points
/// from U+0100 upward. A space (byte 32) is therefore `Ġ` (U+0120) and a newline `Ċ` (U+010A).
enum ByteLevelAlphabet {
    /// The stand-in character of each byte, indexed by byte value.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var nextExtra: UInt32 = 256
        for byte in 0..<256 {
            if standsForItself(UInt8(byte)) {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(nextExtra)!
                nextExtra += 1
            }
        }
        return table
    }()

    /// The byte each stand-in character means, indexed by code point (−1 where none); the
    /// largest stand-in is U+0143.
    private static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarForByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    /// Whether a byte is printable and so is its own stand-in.
    private static func standsForItself(_ byte: UInt8) -> Bool {
        (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
    }

    /// The byte a character stands for, or nil if it is not in the alphabet.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < byteForScalar.count, byteForScalar[value] >= 0 else { return nil }
        return UInt8(byteForScalar[value])
    }

    /// The bytes a vocabulary entry stands for, or nil if it has a character outside the alphabet.
    static func bytes(of token: String) -> [UInt8]? {
        var bytes = [UInt8]()
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
