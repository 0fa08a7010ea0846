import Foundation
import Testing
@testable import ScoreEngine

/// Saves appear whole: a save over a folder leaves none of the old files libscore wrote (the user's
/// own files are kept), a failed save leaves the old folder as it was, a folder holding the user's
/// own subfolders is refused, and staging folders of killed saves are cleaned up by the next save.
struct AtomicFolderTests {
    static func entries(_ url: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    static func write(_ text: String, _ url: URL) throws {
        try Data(text.utf8).write(to: url)
    }

    @Test func savingOverAFolderLeavesNoStaleFiles() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("model")
        // A folder of another model, with its own tokenizer and a leftover temporary file.
        try Transformer(config: CheckpointTests.config(), seed: 1).save(to: folder)
        try Self.write("{}", folder.appendingPathComponent("tokenizer.json"))
        try Self.write("{}", folder.appendingPathComponent("tokenizer_config.json"))
        try Self.write("x", folder.appendingPathComponent(".model.safetensors.tmp-1-2"))
        let second = try Transformer(config: CheckpointTests.config(), seed: 2)
        try second.save(to: folder)
        #expect(try Self.entries(folder) == ["config.json", "model.safetensors"])
        #expect(CheckpointTests.bits(try Transformer.load(from: folder)) == CheckpointTests.bits(second))
        // No staging folder is left beside it.
        #expect(try Self.entries(parent) == ["model"])
    }

    @Test func theUsersFilesAreKeptAndTheirFoldersRefused() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        // A training run's output folder: its metrics log is written before the model is saved.
        let folder = parent.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Self.write("{\"step\": 1}\n", folder.appendingPathComponent("metrics.jsonl"))
        let model = try Transformer(config: CheckpointTests.config(), seed: 1)
        try model.save(to: folder)
        try model.save(to: folder)
        #expect(try Self.entries(folder) == ["config.json", "metrics.jsonl", "model.safetensors"])
        #expect(try String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8) == "{\"step\": 1}\n")
        // A folder with the user's own subfolder is refused, untouched.
        let mine = parent.appendingPathComponent("mine")
        try FileManager.default.createDirectory(at: mine.appendingPathComponent("photos"), withIntermediateDirectories: true)
        try Self.write("my notes", mine.appendingPathComponent("notes.txt"))
        #expect(throws: ScoreError.self) { try model.save(to: mine) }
        #expect(try Self.entries(mine) == ["notes.txt", "photos"])
        #expect(try Self.entries(parent) == ["mine", "run"])
        let file = parent.appendingPathComponent("file")
        try Self.write("x", file)
        #expect(throws: ScoreError.self) { try model.save(to: file) }
    }

    @Test func aFailedSaveKeepsTheOldFolder() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("model")
        let first = try Transformer(config: CheckpointTests.config(), seed: 1)
        try first.save(to: folder)
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try AtomicFolder.write(folder) { staging in
                try Transformer(config: CheckpointTests.config(), seed: 2).writeFiles(into: staging, mergingAdapters: true)
                throw Stop()
            }
        }
        #expect(CheckpointTests.bits(try Transformer.load(from: folder)) == CheckpointTests.bits(first))
        #expect(try Self.entries(parent) == ["model"])
    }

    @Test func stagingOfKilledSavesIsRemovedByTheNextSave() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        // A process id no process has (above the kernel's limit), and this process's own.
        let dead = parent.appendingPathComponent(".model.tmp-2147483646-1")
        let alive = parent.appendingPathComponent(".model.tmp-\(getpid())-7")
        let other = parent.appendingPathComponent(".other.tmp-2147483646-1")
        for url in [dead, alive, other] {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Self.write("partial", url.appendingPathComponent("model.safetensors"))
        }
        try Transformer(config: CheckpointTests.config(), seed: 1).save(to: parent.appendingPathComponent("model"))
        #expect(try Self.entries(parent) == [".model.tmp-\(getpid())-7", ".other.tmp-2147483646-1", "model"])
    }

    @Test func trainerStateAndAdaptersAppearWhole() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let state = parent.appendingPathComponent("state")
        let trainer = try SCoReTrainerTests.trainer(plan: .score(stageI: 1, stageII: 1, rounds: 1))
        try trainer.saveState(to: state)
        // A stale file of an older layout inside the state folder does not survive the next save.
        try Self.write("{}", state.appendingPathComponent("adapter_config.json"))
        try trainer.saveState(to: state)
        #expect(try Self.entries(state) == ["optimizer.safetensors", "policy", "reference", "trainer.json"])
        let adapters = try LoRAAdapters(config: CheckpointTests.config(), options: LoRAOptions(rank: 2), seed: 1)
        let adapterFolder = parent.appendingPathComponent("adapter")
        try adapters.save(to: adapterFolder)
        try Self.write("x", adapterFolder.appendingPathComponent("README.md"))
        try adapters.save(to: adapterFolder)
        #expect(try Self.entries(adapterFolder) == ["README.md", "adapter_config.json", "adapter_model.safetensors"])
    }
}
