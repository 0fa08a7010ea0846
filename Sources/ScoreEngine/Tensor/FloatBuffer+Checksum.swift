/// A checksum of a buffer's exact contents, for checking that replicas hold the same values.
extension FloatBuffer {
    /// FNV-1a (64-bit) over the bit pattern of every element in order: equal buffers give equal
    /// checksums on every machine; any changed bit (including −0 against +0, or another NaN)
    /// almost surely changes it.
    public var checksum: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<count {
            hash = (hash ^ UInt64(pointer[i].bitPattern)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
