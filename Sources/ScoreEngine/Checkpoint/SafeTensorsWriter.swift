import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes Float32 tensors in the safetensors format.
public enum SafeTensorsWriter {
    /// Writes `tensors` as F32, in the given order, with an optional `__metadata__` map, to `url`.
    /// The header is padded with spaces to a multiple of 8 bytes, as the reference implementation
    /// does. The file appears atomically: it is written beside the target and renamed over it.
    /// Throws `ScoreError.invalidArgument` for an empty or repeated name, a negative dimension or a
    /// shape that disagrees with its value count, and `ScoreError.io` when writing fails.
    /// `replacement(i)`, when given and non-nil, supplies the values written for tensor i instead of
    /// its buffer (same count), computed just before it is written (a merged adapter, say).
    public static func write(
        tensors: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)],
        metadata: [String: String], to url: URL, replacement: ((Int) -> [Float]?)? = nil
    ) throws {
        var seen = Set<String>()
        for tensor in tensors {
            guard !tensor.name.isEmpty, tensor.name != "__metadata__" else {
                throw ScoreError.invalidArgument("safetensors: tensor name '\(tensor.name)' is reserved or empty")
            }
            guard seen.insert(tensor.name).inserted else {
                throw ScoreError.invalidArgument("safetensors: tensor '\(tensor.name)' appears twice")
            }
            guard tensor.shape.allSatisfy({ $0 >= 0 }) else {
                throw ScoreError.invalidArgument("safetensors: tensor '\(tensor.name)' has negative shape \(tensor.shape)")
            }
            let (count, overflow) = ModelConfig.multiplyChecked(tensor.shape)
            guard !overflow, count == tensor.values.count else {
                throw ScoreError.invalidArgument(
                    "safetensors: tensor '\(tensor.name)' has shape \(tensor.shape) but \(tensor.values.count) values")
            }
        }
        let header = headerBytes(tensors: tensors.map { ($0.name, $0.shape, $0.values.count) }, metadata: metadata)
        try AtomicFileWriter.write(to: url) { sink in
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try sink.write($0) }
            try header.withUnsafeBytes { try sink.write($0) }
            for (index, tensor) in tensors.enumerated() {
                if let values = replacement?(index) {
                    guard values.count == tensor.values.count else {
                        throw ScoreError.invalidArgument("safetensors: replacement of '\(tensor.name)' has \(values.count) values")
                    }
                    try values.withUnsafeBufferPointer { try writeLittleEndian($0, to: sink) }
                } else {
                    try writeLittleEndian(tensor.values, to: sink)
                }
            }
        }
    }

    /// The JSON header, space-padded to a multiple of 8 bytes. Keys follow the tensor order, with
    /// `__metadata__` first when present.
    static func headerBytes(tensors: [(name: String, shape: [Int], count: Int)], metadata: [String: String]) -> [UInt8] {
        var entries = [String]()
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(JSONText.quoted($0)):\(JSONText.quoted(metadata[$0] ?? ""))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in tensors {
            let end = offset + 4 * tensor.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(JSONText.quoted(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var bytes = Array("{\(entries.joined(separator: ","))}".utf8)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        return bytes
    }

    private static func writeLittleEndian(_ values: UnsafeBufferPointer<Float>, to sink: AtomicFileWriter.Sink) throws {
        #if _endian(little)
        try sink.write(UnsafeRawBufferPointer(values))
        #else
        let chunk = 1 << 16
        var start = 0
        while start < values.count {
            let end = min(start + chunk, values.count)
            let swapped = values[start..<end].map { $0.bitPattern.littleEndian }
            try swapped.withUnsafeBytes { try sink.write($0) }
            start = end
        }
        #endif
    }
}

/// Writes a file so that readers see either the old content or the complete new one: the bytes
/// go to a hidden temporary file in the same directory, which is flushed to disk and renamed over
/// the target. On any failure the temporary file is removed.
enum AtomicFileWriter {
    /// Destination of the bytes while the temporary file is open.
    final class Sink {
        let descriptor: Int32
        let path: String

        init(descriptor: Int32, path: String) {
            self.descriptor = descriptor
            self.path = path
        }

        /// Writes all of `bytes`, retrying short writes and interrupted calls.
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard var cursor = bytes.baseAddress else { return }
            var remaining = bytes.count
            while remaining > 0 {
                let written = systemWrite(descriptor, cursor, min(remaining, 1 << 30))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ScoreError.io(path: path, reason: "write failed: \(AtomicFileWriter.lastError())")
                }
                cursor += written
                remaining -= written
            }
        }
    }

    /// Writes `data` to `url` atomically.
    static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { sink in try data.withUnsafeBytes { try sink.write($0) } }
    }

    /// Runs `body` against a temporary file beside `url`, then renames it over `url`.
    static func write(to url: URL, body: (Sink) throws -> Void) throws {
        let target = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            .path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ScoreError.io(path: target, reason: "cannot create a temporary file in \(directory): \(lastError())")
        }
        var closed = false
        var renamed = false
        defer {
            if !closed { _ = close(descriptor) }
            if !renamed { _ = unlink(temporary) }
        }
        try body(Sink(descriptor: descriptor, path: target))
        guard fsync(descriptor) == 0 else {
            throw ScoreError.io(path: target, reason: "cannot flush to disk: \(lastError())")
        }
        closed = true
        guard close(descriptor) == 0 else {
            throw ScoreError.io(path: target, reason: "cannot close: \(lastError())")
        }
        guard rename(temporary, target) == 0 else {
            throw ScoreError.io(path: target, reason: "cannot replace the file: \(lastError())")
        }
        renamed = true
        // Make the rename itself durable; a failure here does not undo the completed write.
        let directoryDescriptor = open(directory, O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            _ = close(directoryDescriptor)
        }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}

/// The C library's `write`, under a name that does not collide with `Sink.write`.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(descriptor, bytes, count)
    #elseif canImport(Musl)
    return Musl.write(descriptor, bytes, count)
    #else
    return Darwin.write(descriptor, bytes, count)
    #endif
}
