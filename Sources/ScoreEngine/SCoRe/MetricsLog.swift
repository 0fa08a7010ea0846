import Foundation

/// A JSON-lines file of training records: one compact JSON object per line with sorted keys, so
/// a run can be followed with `tail -f` and loaded line by line. Each `write` hands its line to
/// the operating system before returning (no buffering in the process), so a crash loses no
/// written record. Not thread-safe: write from one thread at a time.
///
///     let log = try MetricsLog(url: runDirectory.appendingPathComponent("metrics.jsonl"))
///     try log.write(stats)
///     log.close()
public final class MetricsLog {
    /// The file being written.
    public let url: URL
    private var handle: FileHandle?
    private let encoder: JSONEncoder

    /// Creates (or truncates) the file at `url`, creating missing parent directories. Throws
    /// `ScoreError.io` when the directory or file cannot be created or opened.
    public init(url: URL) throws {
        self.url = url
        let fileManager = FileManager.default
        do {
            try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw ScoreError.io(path: url.path, reason: "cannot create the parent directory: \(error.localizedDescription)")
        }
        guard fileManager.createFile(atPath: url.path, contents: Data()) else {
            throw ScoreError.io(path: url.path, reason: "cannot create the file")
        }
        do {
            handle = try FileHandle(forWritingTo: url)
        } catch {
            throw ScoreError.io(path: url.path, reason: "cannot open for writing: \(error.localizedDescription)")
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    deinit {
        close()
    }

    /// Appends `record` as one line. Throws `ScoreError.invalidArgument` when the record cannot be
    /// encoded (e.g. a NaN float; nothing is written then) and `ScoreError.io` when the write fails
    /// or the log is closed.
    public func write<T: Encodable>(_ record: T) throws {
        guard let handle else { throw ScoreError.io(path: url.path, reason: "metrics log is closed") }
        var line: Data
        do {
            line = try encoder.encode(record)
        } catch {
            throw ScoreError.invalidArgument("metrics log: cannot encode \(T.self): \(error)")
        }
        line.append(UInt8(ascii: "\n"))
        do {
            try handle.write(contentsOf: line)
        } catch {
            throw ScoreError.io(path: url.path, reason: "write failed: \(error.localizedDescription)")
        }
    }

    /// Closes the file; later writes throw. Calling it again does nothing.
    public func close() {
        try? handle?.close()
        handle = nil
    }
}
