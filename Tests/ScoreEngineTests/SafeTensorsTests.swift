import Foundation
import Testing
@testable import ScoreEngine

@Suite struct SafeTensorsTests {
    /// A fresh empty folder under the system temporary directory; the caller removes it.
    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("score-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The path and reason of the `ScoreError.invalidFile` that `body` throws, or nil if it throws
    /// something else or nothing.
    static func invalidFileError<T>(_ body: () throws -> T) -> (path: String, reason: String)? {
        do {
            _ = try body()
            return nil
        } catch ScoreError.invalidFile(let path, let reason) {
            return (path, reason)
        } catch {
            return nil
        }
    }

    /// Bytes of a safetensors file: little-endian header length, header, data.
    static func fileBytes(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        var length = (declaredLength ?? UInt64(headerBytes.count)).littleEndian
        return withUnsafeBytes(of: &length) { Array($0) } + headerBytes + data
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    /// Writes `bytes` to a file in `directory` and opens it.
    static func open(_ bytes: [UInt8], in directory: URL, name: String = "test.safetensors") throws -> SafeTensorsFile {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return try SafeTensorsFile(contentsOf: url)
    }

    @Test func decodesHalfPrecision() throws {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let patterns: [UInt16] = [0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x7C00, 0xFC00, 0x8000, 0x7E00, 0x3555]
        let header = #"{"h":{"dtype":"F16","shape":[11],"data_offsets":[0,22]}}"#
        let file = try Self.open(Self.fileBytes(header: header, data: Self.littleEndianBytes(patterns)), in: directory)
        let values = try file.floats("h")
        #expect(values.count == 11)
        #expect(values[0] == 1.0)
        #expect(values[1] == -2.5)
        #expect(values[2] == 65504)
        #expect(values[3] == 0x1p-24)
        #expect(values[4] == 1023 * 0x1p-24)
        #expect(values[5] == 0x1p-14)
        #expect(values[6] == .infinity)
        #expect(values[7] == -.infinity)
        #expect(values[8] == 0 && values[8].sign == .minus)
        #expect(values[9].isNaN)
        #expect(values[10] == 0x1.554p-2)  // nearest half to 1/3
        #if !(os(macOS) && arch(x86_64))
        let mismatches = (UInt16.min...UInt16.max).filter { bits in
            let expected = Float(Float16(bitPattern: bits))
            let decoded = SafeTensorsFile.floatFromHalf(bits)
            return expected.isNaN ? !decoded.isNaN : decoded.bitPattern != expected.bitPattern
        }
        #expect(mismatches.isEmpty)
        #endif
    }

    @Test func decodesBFloat16ByTruncation() throws {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let patterns: [UInt16] = [0x3F80, 0xC020, 0x7F80, 0x4049, 0x0001, 0x8000]
        let header = #"{"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}}"#
        let file = try Self.open(Self.fileBytes(header: header, data: Self.littleEndianBytes(patterns)), in: directory)
        let values = try file.floats("b")
        #expect(values[0] == 1.0)
        #expect(values[1] == -2.5)
        #expect(values[2] == .infinity)
        #expect(values[3] == 3.140625)  // pi with the low 16 bits dropped
        #expect(values[4].bitPattern == 0x0001_0000)
        #expect(values[5].bitPattern == 0x8000_0000)
        #expect(file.info("b")?.shape == [2, 3])
        #expect(file.info("b")?.dtype == .bf16)
    }

    @Test func readsIntegersMetadataAndScalars() throws {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let header = #"{"__metadata__":{"format":"pt","note":"ok"},"#
            + #""long":{"dtype":"I64","shape":[3],"data_offsets":[0,24]},"#
            + #""int":{"dtype":"I32","shape":[2],"data_offsets":[24,32]},"#
            + #""scalar":{"dtype":"F32","shape":[],"data_offsets":[32,36]},"#
            + #""empty":{"dtype":"F32","shape":[0,4],"data_offsets":[36,36]}}  "#
        let data = Self.littleEndianBytes([Int64(-1), Int64.max, 7]) + Self.littleEndianBytes([Int32.min, 42])
            + Self.littleEndianBytes([Float(0.75).bitPattern])
        let file = try Self.open(Self.fileBytes(header: header, data: data), in: directory)
        #expect(try file.ints("long") == [-1, Int(Int64.max), 7])
        #expect(try file.ints("int") == [Int(Int32.min), 42])
        #expect(try file.floats("scalar") == [0.75])
        #expect(try file.floats("empty") == [])
        #expect(file.metadata == ["format": "pt", "note": "ok"])
        #expect(file.names == ["long", "int", "scalar", "empty"])
        #expect(Self.invalidFileError { try file.floats("long") }?.reason.contains("I64") == true)
        #expect(Self.invalidFileError { try file.ints("scalar") }?.reason.contains("F32") == true)
        #expect(Self.invalidFileError { try file.floats("absent") }?.reason.contains("absent") == true)
        var one: Float = 0
        #expect(Self.invalidFileError { try file.copyFloats("empty", into: &one, count: 1) } != nil)
    }

    @Test func emptyHeaderIsValid() throws {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try Self.open(Self.fileBytes(header: "{}"), in: directory)
        #expect(file.names.isEmpty)
        #expect(file.metadata.isEmpty)
    }

    /// Hostile files: each must throw `invalidFile` with the file's path and a reason mentioning
    /// the given fragment.
    static let hostileCases: [(label: String, bytes: [UInt8], fragment: String)] = {
        func entry(_ body: String, data: Int = 8) -> [UInt8] {
            fileBytes(header: "{\(body)}", data: [UInt8](repeating: 0, count: data))
        }
        return [
            ("empty file", [], "truncated"),
            ("five bytes", [1, 0, 0, 0, 0], "truncated"),
            ("header past end", fileBytes(header: "{}", declaredLength: 64), "past the end"),
            ("absurd header", fileBytes(header: "{}", declaredLength: UInt64.max), "exceeds the limit"),
            ("huge header", fileBytes(header: "{}", declaredLength: 1 << 40), "exceeds the limit"),
            ("invalid json", entry(#""a": {"dtype": "F32""#), "malformed"),
            ("not an object", fileBytes(header: "[1,2]"), "malformed"),
            ("not utf8", littleEndianBytes([UInt64(26)]) + Array(#"{"__metadata__":{"k":""#.utf8) + [0xFF]
                + Array(#""}}"#.utf8), "malformed"),
            ("missing offsets", entry(#""a":{"dtype":"F32","shape":[2]}"#), "data_offsets"),
            ("shape is text", entry(#""a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}"#), "malformed"),
            ("fractional dim", entry(#""a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}"#), "malformed"),
            ("offset beyond Int64", entry(#""a":{"dtype":"F32","shape":[2],"data_offsets":[0,1e30]}"#), "malformed"),
            ("metadata not strings", entry(#""__metadata__":{"a":1}"#), "malformed"),
            ("unknown dtype", entry(#""a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}"#), "unsupported dtype"),
            ("f64 unsupported", entry(#""a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}"#), "unsupported dtype"),
            ("negative dims", entry(#""a":{"dtype":"F32","shape":[-2,-1],"data_offsets":[0,8]}"#), "negative"),
            ("count overflow",
             entry(#""a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}"#), "overflows"),
            ("byte size overflow",
             entry(#""a":{"dtype":"I64","shape":[4611686018427387904],"data_offsets":[0,8]}"#), "overflows"),
            ("length disagrees", entry(#""a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}"#), "needs 12 bytes"),
            ("offsets past data", entry(#""a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}"#), "run past"),
            ("end before begin", entry(#""a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}"#), "invalid data_offsets"),
            ("negative begin", entry(#""a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}"#), "invalid data_offsets"),
            ("three offsets", entry(#""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}"#), "data_offsets"),
            ("overlap", entry(#""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
                              + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}"#, data: 12), "overlap"),
        ]
    }()

    @Test func rejectsHostileFiles() throws {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (index, hostile) in Self.hostileCases.enumerated() {
            let url = directory.appendingPathComponent("hostile-\(index).safetensors")
            try Data(hostile.bytes).write(to: url)
            let error = Self.invalidFileError { try SafeTensorsFile(contentsOf: url) }
            #expect(error?.path == url.path, "\(hostile.label)")
            #expect(error?.reason.contains(hostile.fragment) == true, "\(hostile.label): \(error?.reason ?? "no error")")
        }
    }

    @Test func missingFileIsInvalidFile() throws {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("absent.safetensors")
        let error = Self.invalidFileError { try SafeTensorsFile(contentsOf: url) }
        #expect(error?.path == url.path)
        #expect(error?.reason.contains("not found") == true)
    }

    @Test func writerRoundTripsBitsInOrderWithPaddedHeader() throws {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out.safetensors")
        let first: [Float] = [1, -0.0, .infinity, Float(bitPattern: 0x7FC0_1234), .leastNonzeroMagnitude, 3e38]
        let second: [Float] = [42]
        let metadata = ["format": "pt", "quote\"and\\slash": "line\nbreak\u{01}é"]
        try first.withUnsafeBufferPointer { a in
            try second.withUnsafeBufferPointer { b in
                try SafeTensorsWriter.write(
                    tensors: [(name: "z.first", shape: [2, 3], values: a), (name: "a.second", shape: [], values: b)],
                    metadata: metadata, to: url)
            }
        }
        let bytes = [UInt8](try Data(contentsOf: url))
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(headerLength % 8 == 0)
        #expect(bytes.count == 8 + headerLength + 4 * 7)
        let header = bytes[8..<(8 + headerLength)]
        #expect(header.first == UInt8(ascii: "{"))
        #expect(header.reversed().prefix { $0 != UInt8(ascii: "}") }.allSatisfy { $0 == UInt8(ascii: " ") })

        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.names == ["z.first", "a.second"])
        #expect(file.metadata == metadata)
        #expect(try file.floats("z.first").map(\.bitPattern) == first.map(\.bitPattern))
        #expect(try file.floats("a.second") == [42])
        #expect(file.info("a.second")?.shape == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.safetensors"])
    }

    @Test func writerRejectsInconsistentTensors() throws {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out.safetensors")
        let values: [Float] = [1, 2, 3]
        values.withUnsafeBufferPointer { buffer in
            #expect(throws: ScoreError.self) {
                try SafeTensorsWriter.write(tensors: [(name: "a", shape: [2], values: buffer)], metadata: [:], to: url)
            }
            #expect(throws: ScoreError.self) {
                try SafeTensorsWriter.write(
                    tensors: [(name: "a", shape: [3], values: buffer), (name: "a", shape: [3], values: buffer)],
                    metadata: [:], to: url)
            }
            #expect(throws: ScoreError.self) {
                try SafeTensorsWriter.write(tensors: [(name: "a", shape: [-1, -3], values: buffer)], metadata: [:], to: url)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func failedWriteLeavesNoTemporaryFile() throws {
        let directory = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // The target is a non-empty directory, so the final rename fails after the data is written.
        let target = directory.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try Data([1]).write(to: target.appendingPathComponent("inside"))
        let values: [Float] = [1, 2]
        let error = values.withUnsafeBufferPointer { buffer -> ScoreError? in
            do {
                try SafeTensorsWriter.write(tensors: [(name: "a", shape: [2], values: buffer)], metadata: [:], to: target)
                return nil
            } catch {
                return error as? ScoreError
            }
        }
        guard case .io(let path, _) = error else {
            Issue.record("expected an io error, got \(String(describing: error))")
            return
        }
        #expect(path == target.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["occupied"])

        let missingFolder = directory.appendingPathComponent("no/such/folder/out.safetensors")
        #expect(throws: ScoreError.self) {
            try values.withUnsafeBufferPointer { buffer in
                try SafeTensorsWriter.write(tensors: [(name: "a", shape: [2], values: buffer)], metadata: [:], to: missingFolder)
            }
        }
    }
}
