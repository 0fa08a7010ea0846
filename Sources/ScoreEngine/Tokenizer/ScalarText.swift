/// The text of one pre-tokenizer piece as Unicode scalars, with the character classes the split
/// patterns test and the byte offset of each scalar in the UTF-8 buffer it came from.
///
/// Reused between pieces (`load` keeps the storage) so that splitting allocates nothing per word.
struct ScalarText {
    /// `\p{L}`: general category Lu, Ll, Lt, Lm or Lo.
    static let letter: UInt8 = 1
    /// `\p{N}`: general category Nd, Nl or No.
    static let number: UInt8 = 2
    /// `\s`: the Unicode White_Space property (what the `tokenizers` regex engines use).
    static let whitespace: UInt8 = 4
    /// `[\r\n]`.
    static let newline: UInt8 = 8

    /// Code points.
    private(set) var scalars: [UInt32] = []
    /// The class bits of each scalar.
    private(set) var classes: [UInt8] = []
    /// The byte offset of each scalar in the source buffer, plus the end offset.
    private(set) var offsets: [Int] = []

    /// Number of scalars.
    var count: Int { scalars.count }

    /// Decodes `bytes[range]` (valid UTF-8) into scalars and classes.
    mutating func load(_ bytes: [UInt8], _ range: Range<Int>) {
        scalars.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        bytes.withUnsafeBufferPointer { buffer in
            var position = range.lowerBound
            while position < range.upperBound {
                let lead = UInt32(buffer[position])
                var value: UInt32
                var length: Int
                if lead < 0x80 {
                    value = lead
                    length = 1
                } else if lead < 0xE0 {
                    value = lead & 0x1F
                    length = 2
                } else if lead < 0xF0 {
                    value = lead & 0x0F
                    length = 3
                } else {
                    value = lead & 0x07
                    length = 4
                }
                for offset in 1..<length where position + offset < range.upperBound {
                    value = value << 6 | (UInt32(buffer[position + offset]) & 0x3F)
                }
                scalars.append(value)
                classes.append(Self.classes(of: value))
                offsets.append(position)
                position += length
            }
            offsets.append(min(position, range.upperBound))
        }
    }

    /// The class bits of ASCII code points.
    private static let asciiClasses: [UInt8] = (0..<128).map { value -> UInt8 in
        switch value {
        case 0x41...0x5A, 0x61...0x7A: return letter
        case 0x30...0x39: return number
        case 0x0A, 0x0D: return whitespace | newline
        case 0x09, 0x0B, 0x0C, 0x20: return whitespace
        default: return 0
        }
    }

    /// The class bits of a code point.
    static func classes(of value: UInt32) -> UInt8 {
        if value < 128 { return asciiClasses[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return properties.isWhitespace ? whitespace : 0
        }
    }
}
