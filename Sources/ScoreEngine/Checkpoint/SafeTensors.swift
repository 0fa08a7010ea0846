import Foundation

/// Element type of a tensor in a safetensors file (the subset the engine reads).
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// IEEE 754 binary32.
    case f32 = "F32"
    /// IEEE 754 binary16.
    case f16 = "F16"
    /// bfloat16: the upper half of a binary32.
    case bf16 = "BF16"
    /// Signed 64-bit integer.
    case i64 = "I64"
    /// Signed 32-bit integer.
    case i32 = "I32"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        }
    }

    /// Whether values decode to `Float` (otherwise to `Int`).
    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16: return true
        case .i64, .i32: return false
        }
    }
}

/// Type, shape and location of one tensor in a safetensors file.
public struct SafeTensorInfo: Sendable, Equatable {
    /// Name in the header.
    public let name: String
    /// Element type.
    public let dtype: SafeTensorsDType
    /// Row-major shape; empty for a scalar.
    public let shape: [Int]
    /// Number of elements (product of `shape`).
    public let count: Int
    /// Byte range inside the whole file (header included).
    let byteRange: Range<Int>
}

/// A safetensors file opened for reading: an 8-byte little-endian header length N, N bytes of
/// JSON header, then the raw little-endian tensor data.
///
/// The whole header is validated on open: every malformed header, shape or offset throws
/// `ScoreError.invalidFile` naming the file. Overlapping tensors are rejected; gaps between
/// tensors and trailing bytes after the last one are accepted. The file is memory-mapped.
public struct SafeTensorsFile: Sendable {
    /// Largest header accepted, as in the reference implementation.
    public static let maximumHeaderSize = 100_000_000

    /// Path of the file, as used in error messages.
    public let path: String
    /// Tensor names in the order of their data in the file.
    public let names: [String]
    /// The free-form `__metadata__` string map (empty if absent).
    public let metadata: [String: String]
    private let tensors: [String: SafeTensorInfo]
    private let data: Data

    /// Opens and validates the file at `url`.
    public init(contentsOf url: URL) throws {
        path = url.path
        do {
            data = try MappedFile.map(url)
        } catch {
            if !FileManager.default.fileExists(atPath: url.path) {
                throw ScoreError.invalidFile(path: url.path, reason: "file not found")
            }
            throw ScoreError.io(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let header = try SafeTensorsFile.parseHeader(data, path: path)
        metadata = header.metadata
        tensors = header.tensors
        names = header.tensors.values
            .sorted { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
            .map(\.name)
    }

    /// Type, shape and location of the tensor called `name`, if present.
    public func info(_ name: String) -> SafeTensorInfo? { tensors[name] }

    /// The values of a floating-point tensor, converted to Float32.
    public func floats(_ name: String) throws -> [Float] {
        let tensor = try floatTensor(name)
        return [Float](unsafeUninitializedCapacity: tensor.count) { buffer, initialized in
            if let base = buffer.baseAddress { decodeFloats(tensor, into: base) }
            initialized = tensor.count
        }
    }

    /// Writes the values of a floating-point tensor, converted to Float32, to `destination`;
    /// `count` must equal the tensor's element count.
    package func copyFloats(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        let tensor = try floatTensor(name)
        guard tensor.count == count else {
            throw ScoreError.invalidFile(
                path: path, reason: "tensor '\(name)' holds \(tensor.count) values, expected \(count)")
        }
        decodeFloats(tensor, into: destination)
    }

    /// The values of an integer tensor (I64 or I32).
    public func ints(_ name: String) throws -> [Int] {
        let tensor = try existingTensor(name)
        guard !tensor.dtype.isFloatingPoint else {
            throw ScoreError.invalidFile(
                path: path, reason: "tensor '\(name)' has dtype \(tensor.dtype.rawValue), expected an integer type")
        }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Int] in
            let start = tensor.byteRange.lowerBound
            switch tensor.dtype {
            case .i64:
                return (0..<tensor.count).map {
                    Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8 * $0, as: Int64.self)))
                }
            default:
                return (0..<tensor.count).map {
                    Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * $0, as: Int32.self)))
                }
            }
        }
    }

    // MARK: Decoding

    private func existingTensor(_ name: String) throws -> SafeTensorInfo {
        guard let tensor = tensors[name] else {
            throw ScoreError.invalidFile(path: path, reason: "no tensor named '\(name)'")
        }
        return tensor
    }

    private func floatTensor(_ name: String) throws -> SafeTensorInfo {
        let tensor = try existingTensor(name)
        guard tensor.dtype.isFloatingPoint else {
            throw ScoreError.invalidFile(
                path: path, reason: "tensor '\(name)' has dtype \(tensor.dtype.rawValue), expected F32, F16 or BF16")
        }
        return tensor
    }

    /// Converts a validated floating-point tensor; its byte range lies inside `data`.
    private func decodeFloats(_ tensor: SafeTensorInfo, into destination: UnsafeMutablePointer<Float>) {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let start = tensor.byteRange.lowerBound
            switch tensor.dtype {
            case .f32:
                #if _endian(little)
                if let base = raw.baseAddress, tensor.count > 0 {
                    UnsafeMutableRawPointer(destination).copyMemory(from: base + start, byteCount: 4 * tensor.count)
                }
                #else
                for i in 0..<tensor.count {
                    let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self))
                    destination[i] = Float(bitPattern: bits)
                }
                #endif
            case .f16:
                for i in 0..<tensor.count {
                    let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * i, as: UInt16.self))
                    destination[i] = SafeTensorsFile.floatFromHalf(bits)
                }
            case .bf16:
                for i in 0..<tensor.count {
                    let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * i, as: UInt16.self))
                    destination[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            case .i64, .i32:
                break
            }
            MappedFile.releasePages(raw, tensor.byteRange)
        }
    }

    /// Exact conversion of an IEEE binary16 bit pattern (subnormals, infinities and NaN payloads
    /// included); written out because `Float16` is not available on every platform.
    static func floatFromHalf(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    // MARK: Header

    private struct ParsedHeader {
        var tensors: [String: SafeTensorInfo] = [:]
        var metadata: [String: String] = [:]
    }

    /// The JSON shape of one header entry, before validation.
    private struct RawEntry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    /// The JSON header: tensor entries plus the optional `__metadata__` map.
    private struct RawHeader: Decodable {
        var entries: [String: RawEntry] = [:]
        var metadata: [String: String] = [:]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { return nil }
        }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try container.decode([String: String].self, forKey: key)
                } else {
                    entries[key.stringValue] = try container.decode(RawEntry.self, forKey: key)
                }
            }
        }
    }

    private static func parseHeader(_ data: Data, path: String) throws -> ParsedHeader {
        func invalid(_ reason: String) -> ScoreError { .invalidFile(path: path, reason: reason) }
        let fileSize = data.count
        guard fileSize >= 8 else {
            throw invalid("truncated safetensors file: \(fileSize) bytes, the header length alone takes 8")
        }
        let declared = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declared <= UInt64(maximumHeaderSize) else {
            throw invalid("safetensors header length \(declared) exceeds the limit of \(maximumHeaderSize) bytes")
        }
        let headerSize = Int(declared)
        guard headerSize <= fileSize - 8 else {
            throw invalid("safetensors header length \(headerSize) runs past the end of the \(fileSize)-byte file")
        }
        let dataStart = 8 + headerSize
        let dataLength = fileSize - dataStart
        let headerBytes = data.subdata(in: data.startIndex + 8 ..< data.startIndex + dataStart)

        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: headerBytes)
        } catch let error as DecodingError {
            throw invalid("malformed safetensors header: \(describe(error))")
        } catch {
            throw invalid("malformed safetensors header: \(error.localizedDescription)")
        }

        var header = ParsedHeader(metadata: raw.metadata)
        for (name, entry) in raw.entries {
            func bad(_ problem: String) -> ScoreError { invalid("tensor '\(name)': \(problem)") }
            guard let dtype = SafeTensorsDType(rawValue: entry.dtype) else {
                let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
                throw bad("unsupported dtype '\(entry.dtype)' (supported: \(known))")
            }
            guard entry.shape.allSatisfy({ $0 >= 0 }) else { throw bad("negative dimension in shape \(entry.shape)") }
            var count = 1
            for dimension in entry.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw bad("element count of shape \(entry.shape) overflows") }
                count = product
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow else { throw bad("byte size of shape \(entry.shape) overflows") }
            guard entry.data_offsets.count == 2 else {
                throw bad("data_offsets must hold [begin, end], found \(entry.data_offsets)")
            }
            let begin = entry.data_offsets[0], end = entry.data_offsets[1]
            guard begin >= 0, end >= begin else { throw bad("invalid data_offsets [\(begin), \(end)]") }
            guard end <= dataLength else {
                throw bad("data_offsets [\(begin), \(end)] run past the \(dataLength)-byte data section")
            }
            guard end - begin == byteCount else {
                throw bad("shape \(entry.shape) of \(dtype.rawValue) needs \(byteCount) bytes, "
                          + "data_offsets [\(begin), \(end)] span \(end - begin)")
            }
            header.tensors[name] = SafeTensorInfo(
                name: name, dtype: dtype, shape: entry.shape, count: count,
                byteRange: dataStart + begin ..< dataStart + end)
        }

        let ordered = header.tensors.values.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound)
        }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where next.byteRange.lowerBound < previous.byteRange.upperBound {
            throw invalid("tensors '\(previous.name)' and '\(next.name)' overlap in the data section")
        }
        return header
    }

    /// A one-line account of a JSON decoding failure.
    static func describe(_ error: DecodingError) -> String {
        func location(_ path: [CodingKey]) -> String {
            path.isEmpty ? "" : " at " + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context):
            let detail = context.underlyingError.map { " (\(String(describing: $0)))" } ?? ""
            return "invalid JSON\(location(context.codingPath)): \(context.debugDescription)\(detail)"
        case .keyNotFound(let key, let context):
            return "missing field '\(key.stringValue)'\(location(context.codingPath))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "unexpected value\(location(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
