/// The element type of a tensor in a GGUF file (ggml's type codes). Values are stored in blocks:
/// `blockSize` values take `typeSize` bytes. The types the engine dequantizes are listed in
/// `supported`; the others are named so that an error can say which type a file uses.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39

    /// Values per super-block of the K-quants.
    static let superBlock = 256

    /// The types `GGMLDequantizer` converts to float32.
    public static let supported: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// The name ggml and the `gguf` package use (`Q4_K`, `BF16`, ...).
    public var name: String {
        String(describing: self).uppercased()
    }

    /// Whether the engine can dequantize this type.
    public var isSupported: Bool { Self.supported.contains(self) }

    /// Values per block (1 for plain floats), for the supported types.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q4_K, .q5_K, .q6_K: return Self.superBlock
        default: return 0
        }
    }

    /// Bytes per block, for the supported types.
    public var typeSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 2 + 16
        case .q4_1: return 2 + 2 + 16
        case .q5_0: return 2 + 4 + 16
        case .q5_1: return 2 + 2 + 4 + 16
        case .q8_0: return 2 + 32
        case .q4_K: return 2 + 2 + 12 + 128
        case .q5_K: return 2 + 2 + 12 + 32 + 128
        case .q6_K: return 128 + 64 + 16 + 2
        default: return 0
        }
    }
}
