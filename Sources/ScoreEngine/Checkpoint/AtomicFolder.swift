import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Folders that appear whole. A save writes every file into a hidden staging folder beside the
/// target, flushes it, then swaps it in with one rename: a reader (or a process killed at any point)
/// sees the old folder or the new one, never a mix, and no file libscore wrote into the old folder
/// survives into the new one. Other files of the old folder (a metrics log, notes) are carried
/// over as hard links; a folder holding other subfolders is refused. Staging folders left by a
/// killed process are removed by the next save beside them.
enum AtomicFolder {
    /// Names libscore writes into its folders (model, adapter and trainer-state folders): a save
    /// replaces these; anything else in the folder is kept.
    static let ownedNames: Set<String> = Set(Transformer.tokenizerFileNames).union([
        Transformer.configFileName, CheckpointWeights.singleFileName, CheckpointWeights.indexFileName,
        LoRAAdapters.configFileName, LoRAAdapters.weightsFileName,
        SCoReTrainer.stateFileName, SCoReTrainer.optimizerFileName, SCoReTrainer.policyFolderName,
        SCoReTrainer.referenceFolderName, SCoReTrainer.adapterFolderName,
    ])

    /// Whether `name` is a file libscore may replace: one of `ownedNames`, a weight shard
    /// (`model-00001-of-00002.safetensors`) or a temporary file of an interrupted write.
    static func isOwned(_ name: String) -> Bool {
        if ownedNames.contains(name) { return true }
        if name.hasPrefix("model-") && name.hasSuffix(".safetensors") { return true }
        return name.hasPrefix(".") && name.contains(temporaryMarker)
    }

    static let temporaryMarker = ".tmp-"

    /// Makes `directory` the folder `body` writes into a staging folder it is given, plus the files
    /// of the old folder libscore does not write. The parent is created if needed. Throws
    /// `ScoreError.invalidArgument` when `directory` exists and holds a subfolder libscore does not
    /// write (nothing is changed), `ScoreError.io` when a file cannot be written or the swap fails
    /// (the old folder is kept), and whatever `body` throws (likewise).
    static func write(_ directory: URL, body: (URL) throws -> Void) throws {
        let target = directory.standardizedFileURL
        let parent = target.deletingLastPathComponent()
        let name = target.lastPathComponent
        let fileManager = FileManager.default
        do {
            try fileManager.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw ScoreError.io(path: parent.path, reason: "cannot create directory: \(error.localizedDescription)")
        }
        removeAbandonedStaging(beside: target)
        var isDirectory: ObjCBool = false
        let exists = fileManager.fileExists(atPath: target.path, isDirectory: &isDirectory)
        var foreign = [String]()
        if exists {
            guard isDirectory.boolValue else {
                throw ScoreError.io(path: target.path, reason: "exists and is not a folder")
            }
            let entries: [String]
            do {
                entries = try fileManager.contentsOfDirectory(atPath: target.path)
            } catch {
                throw ScoreError.io(path: target.path, reason: "cannot list the folder: \(error.localizedDescription)")
            }
            foreign = entries.filter { !isOwned($0) }.sorted()
            let folders = foreign.filter { entry in
                var isFolder: ObjCBool = false
                return fileManager.fileExists(atPath: target.appendingPathComponent(entry).path, isDirectory: &isFolder)
                    && isFolder.boolValue
            }
            guard folders.isEmpty else {
                throw ScoreError.invalidArgument(
                    "\(target.path) holds the folder\(folders.count > 1 ? "s" : "") \(folders.prefix(3).joined(separator: ", ")), "
                    + "which libscore did not write; saving replaces the folder as a whole, so save to a new folder")
            }
        }
        let staging = parent.appendingPathComponent(
            ".\(name)\(temporaryMarker)\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard mkdir(staging.path, 0o755) == 0 else {
            throw ScoreError.io(path: target.path, reason: "cannot create a staging folder in \(parent.path): \(lastError())")
        }
        var swapped = false
        defer { if !swapped { try? fileManager.removeItem(at: staging) } }
        try body(staging)
        for entry in foreign where !fileManager.fileExists(atPath: staging.appendingPathComponent(entry).path) {
            try carryOver(target.appendingPathComponent(entry), to: staging.appendingPathComponent(entry))
        }
        syncDirectory(staging.path)
        if exists {
            if exchange(staging.path, target.path) {
                // The staging path now holds the old folder.
                swapped = true
                try? fileManager.removeItem(at: staging)
            } else {
                // No atomic exchange on this file system: move the old folder aside first. A crash
                // in between leaves no folder at the target (a load is refused), never a mix.
                let aside = parent.appendingPathComponent(
                    ".\(name)\(temporaryMarker)\(getpid())-old-\(UInt32.random(in: 0...UInt32.max))")
                guard rename(target.path, aside.path) == 0 else {
                    throw ScoreError.io(path: target.path, reason: "cannot replace the folder: \(lastError())")
                }
                guard rename(staging.path, target.path) == 0 else {
                    let reason = lastError()
                    _ = rename(aside.path, target.path)
                    throw ScoreError.io(path: target.path, reason: "cannot replace the folder: \(reason)")
                }
                swapped = true
                try? fileManager.removeItem(at: aside)
            }
        } else {
            guard rename(staging.path, target.path) == 0 else {
                throw ScoreError.io(path: target.path, reason: "cannot create the folder: \(lastError())")
            }
            swapped = true
        }
        syncDirectory(parent.path)
    }

    /// Puts the user's file `source` into the staging folder: a hard link (the same file, no copy),
    /// or a copy where links are not possible.
    static func carryOver(_ source: URL, to destination: URL) throws {
        if link(source.path, destination.path) == 0 { return }
        do {
            try FileManager.default.copyItem(at: source, to: destination)
        } catch {
            throw ScoreError.io(path: source.path, reason: "cannot keep this file in the new folder: \(error.localizedDescription)")
        }
    }

    /// Swaps two paths atomically (Linux `renameat2` with `RENAME_EXCHANGE`); false when the
    /// system or file system cannot.
    static func exchange(_ a: String, _ b: String) -> Bool {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = renameAt2Symbol else { return false }
        let renameAt2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let atCurrentDirectory: Int32 = -100, exchangeFlag: UInt32 = 2
        return renameAt2(atCurrentDirectory, a, atCurrentDirectory, b, exchangeFlag) == 0
    }

    /// The C library's `renameat2`, looked up once (glibc 2.28 and later).
    private static let renameAt2Symbol: UnsafeMutableRawPointer? = dlsym(UnsafeMutableRawPointer(bitPattern: 0),
                                                                        "renameat2")

    /// Removes staging folders of `target` whose process no longer runs (a save killed midway).
    static func removeAbandonedStaging(beside target: URL) {
        let parent = target.deletingLastPathComponent()
        let prefix = ".\(target.lastPathComponent)\(temporaryMarker)"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        for entry in entries where entry.hasPrefix(prefix) {
            let rest = entry.dropFirst(prefix.count)
            guard let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }), pid > 0 else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                try? FileManager.default.removeItem(at: parent.appendingPathComponent(entry))
            }
        }
    }

    /// Flushes a directory's entries to disk (best effort: the data files were flushed already).
    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        _ = close(descriptor)
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
