import Foundation

/// Name, shape, type and location of one tensor in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// Name in the file (llama.cpp's: `blk.0.attn_q.weight`, ...).
    public let name: String
    /// Dimensions as the file stores them, innermost first (`[in, out]` for a linear weight).
    public let dimensions: [Int]
    /// Element type.
    public let type: GGMLType
    /// Number of values.
    public let count: Int
    /// Byte range inside the whole file.
    let byteRange: Range<Int>

    /// The row-major shape (`dimensions` reversed: `[out, in]` for a linear weight).
    public var shape: [Int] { dimensions.reversed() }
}

/// A GGUF file (llama.cpp's format) opened for reading: a little-endian header (magic `GGUF`,
/// version 2 or 3, tensor count, metadata count), typed metadata key/values, tensor infos (name,
/// dimensions innermost first, type, offset), then the tensor data, aligned to
/// `general.alignment` (default 32) from the start of the data section.
///
/// Everything is validated on open, before any tensor is read: every count and length against the
/// bytes that remain, every string as UTF-8, dimensions, offsets (aligned, inside the file, not
/// overlapping), types (a type the engine cannot dequantize is an error naming it and the tensor).
/// A truncated or corrupt file throws `ScoreError.invalidFile` naming the file and the field. The
/// file is memory-mapped; `copyFloats` dequantizes one tensor at a time.
public struct GGUFFile: Sendable {
    /// Alignment of the data section when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// Deepest nesting of metadata arrays accepted.
    static let maximumArrayDepth = 8

    /// Path of the file, for errors.
    public let path: String
    /// Format version (2 or 3).
    public let version: Int
    /// Metadata by key.
    public let metadata: [String: GGUFValue]
    /// Tensors in the order the file lists them.
    public let tensors: [GGUFTensorInfo]
    private let index: [String: Int]
    private let data: Data

    /// Opens and validates the GGUF file at `url`.
    public init(contentsOf url: URL) throws {
        path = url.path
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ScoreError.invalidFile(path: url.path, reason: "file not found")
        }
        do {
            data = try MappedFile.map(url)
        } catch {
            throw ScoreError.io(path: url.path, reason: "cannot read: \(error)")
        }
        var reader = GGUFReader(data: data, path: url.path)
        let header = try reader.readHeader()
        version = header.version
        metadata = header.metadata
        tensors = header.tensors
        var index = [String: Int]()
        for (i, tensor) in tensors.enumerated() { index[tensor.name] = i }
        self.index = index
    }

    /// The tensor called `name`, if present.
    public func tensor(_ name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The metadata value of `key`, if present.
    public subscript(key: String) -> GGUFValue? { metadata[key] }

    /// Writes the values of tensor `name`, dequantized to float32, to `destination`, in the
    /// file's order (innermost dimension fastest, i.e. row-major for `shape`); `count` must equal
    /// the tensor's value count.
    package func copyFloats(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        guard let tensor = tensor(name) else {
            throw ScoreError.invalidFile(path: path, reason: "no tensor named '\(name)'")
        }
        guard tensor.count == count else {
            throw ScoreError.invalidFile(path: path, reason: "tensor '\(name)' holds \(tensor.count) values, expected \(count)")
        }
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress else { return }
            GGMLDequantizer.dequantize(tensor.type, from: base + tensor.byteRange.lowerBound, count: count, into: destination)
            MappedFile.releasePages(raw, tensor.byteRange)
        }
    }

    /// The values of tensor `name` as float32 (see `copyFloats`).
    public func floats(_ name: String) throws -> [Float] {
        guard let tensor = tensor(name) else {
            throw ScoreError.invalidFile(path: path, reason: "no tensor named '\(name)'")
        }
        var values = [Float](repeating: 0, count: tensor.count)
        try values.withUnsafeMutableBufferPointer { buffer in
            if let base = buffer.baseAddress { try copyFloats(name, into: base, count: tensor.count) }
        }
        return values
    }
}

/// Reads the header of a GGUF file with every read checked against the bytes that remain.
private struct GGUFReader {
    let data: Data
    let path: String
    var position = 0

    struct Header {
        var version: Int
        var metadata: [String: GGUFValue]
        var tensors: [GGUFTensorInfo]
    }

    init(data: Data, path: String) {
        self.data = data
        self.path = path
    }

    func invalid(_ reason: String) -> ScoreError { .invalidFile(path: path, reason: reason) }

    mutating func readHeader() throws -> Header {
        guard data.count >= 4, try bytes(4, "magic") == Array("GGUF".utf8) else {
            throw invalid("not a GGUF file (the first four bytes are not \"GGUF\")")
        }
        let rawVersion = try u32("version")
        guard rawVersion == 2 || rawVersion == 3 else {
            if rawVersion == 1 { throw invalid("GGUF version 1 is not supported (only 2 and 3)") }
            if rawVersion.byteSwapped == 2 || rawVersion.byteSwapped == 3 {
                throw invalid("big-endian GGUF files are not supported")
            }
            throw invalid("unknown GGUF version \(rawVersion) (supported: 2 and 3)")
        }
        let tensorCount = try count("tensor_count", minimumBytesEach: 8 + 4 + 8 + 4 + 8)
        let metadataCount = try count("metadata_kv_count", minimumBytesEach: 8 + 4)
        var metadata = [String: GGUFValue]()
        for i in 0..<metadataCount {
            let key = try string("metadata[\(i)].key")
            guard metadata[key] == nil else { throw invalid("metadata key '\(key)' appears twice") }
            let type = try u32("metadata '\(key)' type")
            metadata[key] = try value(type: type, field: "metadata '\(key)'", depth: 0)
        }
        var alignment = GGUFFile.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard case .uint32(let a) = value, a > 0, a.nonzeroBitCount == 1, a <= 1 << 20 else {
                throw invalid("general.alignment must be a UINT32 power of two, found \(value)")
            }
            alignment = Int(a)
        }
        var infos = [(name: String, dimensions: [Int], type: GGMLType, count: Int, offset: Int)]()
        var names = Set<String>()
        for i in 0..<tensorCount {
            let name = try string("tensor_infos[\(i)].name")
            let field = "tensor '\(name)'"
            guard names.insert(name).inserted else { throw invalid("\(field) appears twice") }
            let rank = try u32("\(field) n_dimensions")
            guard (1...4).contains(rank) else { throw invalid("\(field) has \(rank) dimensions (1 to 4 allowed)") }
            var dimensions = [Int]()
            var elements = 1
            for d in 0..<Int(rank) {
                let size = try u64("\(field) dimension \(d)")
                guard size > 0, let value = Int(exactly: size) else { throw invalid("\(field) has dimension \(d) = \(size)") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: value)
                guard !overflow, product <= Int(Int32.max) * 64 else { throw invalid("\(field) has too many values") }
                elements = product
                dimensions.append(value)
            }
            let code = try u32("\(field) type")
            guard let type = GGMLType(rawValue: code) else { throw invalid("\(field) has unknown tensor type \(code)") }
            guard type.isSupported else {
                throw invalid("\(field) has type \(type.name), which is not supported (supported: "
                              + GGMLType.supported.map(\.name).joined(separator: ", ") + ")")
            }
            guard dimensions[0] % type.blockSize == 0 else {
                throw invalid("\(field): its first dimension \(dimensions[0]) is not a multiple of the \(type.name) "
                              + "block size \(type.blockSize)")
            }
            let offset = try u64("\(field) offset")
            guard let start = Int(exactly: offset), start % alignment == 0 else {
                throw invalid("\(field) offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            infos.append((name, dimensions, type, elements, start))
        }
        let dataStart = (position + alignment - 1) / alignment * alignment
        var tensors = [GGUFTensorInfo]()
        for info in infos {
            let bytes = info.count / info.type.blockSize * info.type.typeSize
            let (start, overflow) = dataStart.addingReportingOverflow(info.offset)
            guard !overflow, start <= data.count, bytes <= data.count - start else {
                throw invalid("tensor '\(info.name)' data (\(bytes) bytes at offset \(info.offset)) lies beyond the end "
                              + "of the file (\(data.count) bytes): the file is truncated or corrupt")
            }
            tensors.append(GGUFTensorInfo(name: info.name, dimensions: info.dimensions, type: info.type,
                                          count: info.count, byteRange: start..<(start + bytes)))
        }
        let sorted = tensors.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.byteRange.upperBound > b.byteRange.lowerBound {
            throw invalid("tensors '\(a.name)' and '\(b.name)' overlap")
        }
        return Header(version: Int(rawVersion), metadata: metadata, tensors: tensors)
    }

    // MARK: Values

    mutating func value(type: UInt32, field: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try bytes(1, field)[0])
        case 1: return .int8(Int8(bitPattern: try bytes(1, field)[0]))
        case 2: return .uint16(UInt16(truncatingIfNeeded: try little(2, field)))
        case 3: return .int16(Int16(bitPattern: UInt16(truncatingIfNeeded: try little(2, field))))
        case 4: return .uint32(try u32(field))
        case 5: return .int32(Int32(bitPattern: try u32(field)))
        case 6: return .float32(Float(bitPattern: try u32(field)))
        case 7:
            let b = try bytes(1, field)[0]
            guard b <= 1 else { throw invalid("\(field): boolean byte \(b) is neither 0 nor 1") }
            return .bool(b == 1)
        case 8: return .string(try string(field))
        case 9:
            guard depth < GGUFFile.maximumArrayDepth else { throw invalid("\(field): arrays nested too deeply") }
            let elementType = try u32("\(field) array type")
            let size = Self.minimumSize(of: elementType)
            guard size > 0 else { throw invalid("\(field): unknown array element type \(elementType)") }
            let n = try count("\(field) array length", minimumBytesEach: size)
            var values = [GGUFValue]()
            values.reserveCapacity(n)
            for i in 0..<n { values.append(try value(type: elementType, field: "\(field)[\(i)]", depth: depth + 1)) }
            return .array(values)
        case 10: return .uint64(try u64(field))
        case 11: return .int64(Int64(bitPattern: try u64(field)))
        case 12: return .float64(Double(bitPattern: try u64(field)))
        default: throw invalid("\(field) has unknown value type \(type)")
        }
    }

    /// Fewest bytes a value of `type` takes (0 for an unknown type).
    static func minimumSize(of type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8: return 8
        case 9: return 12
        case 10, 11, 12: return 8
        default: return 0
        }
    }

    /// A u64 count whose items take at least `minimumBytesEach` bytes, checked against the rest.
    mutating func count(_ field: String, minimumBytesEach: Int) throws -> Int {
        let n = try u64(field)
        guard let value = Int(exactly: n), value <= (data.count - position) / max(minimumBytesEach, 1) else {
            throw invalid("\(field) \(n) is more than the file can hold: the file is truncated or corrupt")
        }
        return value
    }

    mutating func string(_ field: String) throws -> String {
        let length = try count("\(field) length", minimumBytesEach: 1)
        let raw = try bytes(length, field)
        guard let text = String(validating: raw, as: UTF8.self) else { throw invalid("\(field) is not valid UTF-8") }
        return text
    }

    mutating func u32(_ field: String) throws -> UInt32 { UInt32(truncatingIfNeeded: try little(4, field)) }
    mutating func u64(_ field: String) throws -> UInt64 { try little(8, field) }

    /// `n` bytes (at most 8) as a little-endian integer.
    mutating func little(_ n: Int, _ field: String) throws -> UInt64 {
        let raw = try bytes(n, field)
        return raw.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func bytes(_ n: Int, _ field: String) throws -> [UInt8] {
        guard n >= 0, n <= data.count - position else {
            throw invalid("\(field): the file ends early (truncated or corrupt)")
        }
        let start = data.startIndex + position
        position += n
        return [UInt8](data[start..<(start + n)])
    }
}
