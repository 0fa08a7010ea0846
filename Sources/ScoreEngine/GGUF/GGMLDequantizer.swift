/// Conversion of ggml's block formats to float32, value for value as the `gguf` Python package's
/// `dequantize` computes them (same products in the same float32 order, so the results are equal
/// bit for bit). Layouts, per block:
///
/// - Q8_0: f16 scale d, 32 int8 q; x = q·d.
/// - Q4_0: d, 16 bytes; value j < 16 is the low nibble of byte j, value 16 + j its high nibble;
///   x = d·(q − 8). Q4_1 adds an f16 minimum m after d: x = d·q + m.
/// - Q5_0: d, a 32-bit mask of fifth bits (bit j for value j), 16 bytes of nibbles as Q4_0;
///   x = d·(q − 16). Q5_1: d, m, mask, nibbles; x = d·q + m.
/// - Q4_K (256 values): d, dmin, 12 bytes of eight 6-bit scales and mins, 128 bytes; chunk c of
///   32 bytes holds sub-block 2c in its low nibbles and 2c + 1 in its high ones;
///   x = (d·scale)·q − dmin·min. Q5_K adds 32 bytes of fifth bits (bit s of byte l for value l of
///   sub-block s) before the nibbles.
/// - Q6_K (256 values): 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 int8 scales (one per
///   16 values), then d; x = (d·scale)·(q − 32).
enum GGMLDequantizer {
    /// Writes the `count` values of `type` starting at `source` to `destination`. `count` must be
    /// a multiple of the type's block size and the source must hold `count / blockSize` blocks;
    /// `type` must be supported (the GGUF reader checks all three).
    static func dequantize(_ type: GGMLType, from source: UnsafeRawPointer, count: Int,
                           into destination: UnsafeMutablePointer<Float>) {
        let blockSize = type.blockSize
        guard blockSize > 0 else { return }
        let blocks = count / blockSize
        let size = type.typeSize
        for b in 0..<blocks {
            let block = source + b * size
            let out = destination + b * blockSize
            switch type {
            case .f32: out.pointee = Float(bitPattern: u32(block, 0))
            case .f16: out.pointee = half(block, 0)
            case .bf16: out.pointee = Float(bitPattern: UInt32(u16(block, 0)) << 16)
            case .q8_0: q8_0(block, out)
            case .q4_0, .q4_1: q4(block, out, hasMin: type == .q4_1)
            case .q5_0, .q5_1: q5(block, out, hasMin: type == .q5_1)
            case .q4_K, .q5_K: k4or5(block, out, fifthBits: type == .q5_K)
            case .q6_K: q6_K(block, out)
            default: return
            }
        }
    }

    // MARK: Blocks of 32

    private static func q8_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0..<32 { out[j] = Float(Int8(bitPattern: byte(block, 2 + j))) * d }
    }

    private static func q4(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, hasMin: Bool) {
        let d = half(block, 0)
        let qs = hasMin ? 4 : 2
        if hasMin {
            let m = half(block, 2)
            for j in 0..<16 {
                let q = byte(block, qs + j)
                out[j] = d * Float(q & 0x0F) + m
                out[j + 16] = d * Float(q >> 4) + m
            }
        } else {
            for j in 0..<16 {
                let q = byte(block, qs + j)
                out[j] = d * Float(Int(q & 0x0F) - 8)
                out[j + 16] = d * Float(Int(q >> 4) - 8)
            }
        }
    }

    private static func q5(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, hasMin: Bool) {
        let d = half(block, 0)
        let m = hasMin ? half(block, 2) : 0
        let maskAt = hasMin ? 4 : 2
        let mask = u32(block, maskAt)
        for j in 0..<16 {
            let q = byte(block, maskAt + 4 + j)
            let low = Int(q & 0x0F) | Int((mask >> UInt32(j)) & 1) << 4
            let high = Int(q >> 4) | Int((mask >> UInt32(j + 16)) & 1) << 4
            if hasMin {
                out[j] = d * Float(low) + m
                out[j + 16] = d * Float(high) + m
            } else {
                out[j] = d * Float(low - 16)
                out[j + 16] = d * Float(high - 16)
            }
        }
    }

    // MARK: K-quants (super-blocks of 256)

    /// Scale and minimum (6 bits each) of sub-block `s` of a Q4_K/Q5_K `scales` field.
    private static func scaleAndMin(_ scales: UnsafeRawPointer, _ s: Int) -> (UInt8, UInt8) {
        if s < 4 {
            return (byte(scales, s) & 0x3F, byte(scales, s + 4) & 0x3F)
        }
        let packed = byte(scales, s + 4)
        return ((packed & 0x0F) | ((byte(scales, s - 4) >> 2) & 0x30),
                (packed >> 4) | ((byte(scales, s) >> 2) & 0x30))
    }

    private static func k4or5(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, fifthBits: Bool) {
        let d = half(block, 0)
        let dmin = half(block, 2)
        let scales = block + 4
        let high = block + 16
        let qs = block + (fifthBits ? 48 : 16)
        for s in 0..<8 {
            let (scale, minimum) = scaleAndMin(scales, s)
            let ds = d * Float(scale)
            let dm = dmin * Float(minimum)
            let chunk = (s / 2) * 32
            let shift = UInt8((s % 2) * 4)
            for l in 0..<32 {
                var q = (byte(qs, chunk + l) >> shift) & 0x0F
                if fifthBits { q |= ((byte(high, l) >> UInt8(s)) & 1) << 4 }
                out[s * 32 + l] = ds * Float(q) - dm
            }
        }
    }

    private static func q6_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let ql = block
        let qh = block + 128
        let scales = block + 192
        let d = half(block, 208)
        for c in 0..<8 {
            let (h, k) = (c / 4, c % 4)
            for l in 0..<32 {
                let low = (byte(ql, h * 64 + (k % 2) * 32 + l) >> UInt8((k / 2) * 4)) & 0x0F
                let top = (byte(qh, h * 32 + l) >> UInt8(2 * k)) & 0x03
                let q = Int(low | top << 4) - 32
                let i = c * 32 + l
                out[i] = (d * Float(Int8(bitPattern: byte(scales, i / 16)))) * Float(q)
            }
        }
    }

    // MARK: Little-endian reads

    @inline(__always) private static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always) private static func u16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) private static func u32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always) private static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        SafeTensorsFile.floatFromHalf(u16(p, offset))
    }
}
