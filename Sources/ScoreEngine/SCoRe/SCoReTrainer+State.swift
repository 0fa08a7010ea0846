import Foundation

/// Saving and resuming the whole state of a SCoRe run, so that a run stopped and resumed continues
/// exactly as an uninterrupted run would (bit for bit with the same thread count).
///
/// A state folder holds:
///
///     policy/                   the policy as a checkpoint folder (`Transformer.save`; with LoRA the
///                               frozen base, adapters not merged)
///     reference/                the frozen reference policy, likewise (not with LoRA: it is the base)
///     adapter/                  with LoRA, the adapters as a PEFT folder
///     optimizer.safetensors     AdamW moments: F32 tensors `adam.m` and `adam.v`, one value per trained value
///     trainer.json              format version, completed steps, optimizer step, generator state,
///                               the `SCoReOptions` and a fingerprint of the training problems
///
/// The folder appears whole (`AtomicFolder`): a save writes a staging folder beside it and swaps
/// it in with one rename, so a save interrupted at any point leaves the previous state (or, for a
/// first save, no folder), never a mix of two states.
extension SCoReTrainer {
    /// Version of the state folder layout that `saveState(to:)` writes and `resume` accepts.
    public static let stateFormatVersion = 1
    /// Name of the trainer state file, written last, inside a state folder.
    public static let stateFileName = "trainer.json"
    /// Name of the optimizer moments file inside a state folder.
    public static let optimizerFileName = "optimizer.safetensors"
    /// Name of the policy checkpoint folder inside a state folder.
    public static let policyFolderName = "policy"
    /// Name of the reference checkpoint folder inside a state folder.
    public static let referenceFolderName = "reference"
    /// Name of the LoRA adapter folder inside a state folder.
    public static let adapterFolderName = "adapter"

    /// Saves everything a resumed run needs to `directory` (created if needed): policy and
    /// reference weights, AdamW moments and step, the generator, the completed steps and the
    /// options. See the extension's documentation for the layout and the crash guarantees.
    /// Throws `ScoreError.io` when a file cannot be written.
    public func saveState(to directory: URL) throws {
        try AtomicFolder.write(directory) { try writeState(into: $0) }
    }

    private func writeState(into directory: URL) throws {
        let stateURL = directory.appendingPathComponent(Self.stateFileName)
        try policy.save(to: directory.appendingPathComponent(Self.policyFolderName), mergingAdapters: false)
        if let adapters = policy.adapters {
            try adapters.save(to: directory.appendingPathComponent(Self.adapterFolderName))
        } else {
            try reference.save(to: directory.appendingPathComponent(Self.referenceFolderName))
        }

        let first = optimizer.firstMoment, second = optimizer.secondMoment
        try withExtendedLifetime((first, second)) {
            try SafeTensorsWriter.write(
                tensors: [(name: SCoReSavedState.firstMomentName, shape: [first.count],
                           values: UnsafeBufferPointer(first.buffer)),
                          (name: SCoReSavedState.secondMomentName, shape: [second.count],
                           values: UnsafeBufferPointer(second.buffer))],
                metadata: [:], to: directory.appendingPathComponent(Self.optimizerFileName))
        }

        let state = SCoReSavedState(
            formatVersion: Self.stateFormatVersion, libraryVersion: LibraryVersion.string,
            completedSteps: completedSteps, optimizerStep: optimizer.step, generator: generator, options: options,
            problemCount: problems.count, problemsFingerprint: SCoReSavedState.fingerprint(problems))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json: Data
        do {
            json = try encoder.encode(state)
        } catch {
            throw ScoreError.invalidArgument("cannot encode the trainer state: \(error.localizedDescription)")
        }
        try AtomicFileWriter.write(json + Data("\n".utf8), to: stateURL)
    }

    /// A trainer continuing the run saved in `directory` by `saveState(to:)`, with the saved options.
    /// `format`, `verifier` and `problems` are not saved and must be those of the original run
    /// (the problems are checked against a fingerprint). Models are loaded with `threads` threads.
    ///
    /// Throws `ScoreError.invalidFile` naming the file for a missing or malformed file, an
    /// unsupported format version, a reference whose config differs from the policy's, or moments
    /// that do not match the model; `ScoreError.invalidArgument` when `problems` differ from the
    /// saved run's. Nothing outside the returned trainer is changed.
    /// With `policy` given, the saved policy weights are loaded into it (its config must equal the
    /// saved one) and the trainer trains it; otherwise a new policy is made.
    public static func resume(from directory: URL, format: SelfCorrectionFormat, verifier: any Verifier,
                              problems: [SelfCorrectionProblem], threads: Int = 1,
                              into policy: Transformer? = nil) throws -> SCoReTrainer {
        let state = try SCoReSavedState.read(from: directory.appendingPathComponent(stateFileName))
        guard problems.count == state.problemCount,
              SCoReSavedState.fingerprint(problems) == state.problemsFingerprint else {
            throw ScoreError.invalidArgument("resume: the training problems (\(problems.count)) differ from those the "
                                             + "state was saved with (\(state.problemCount))")
        }
        let policyFolder = directory.appendingPathComponent(policyFolderName)
        let saved = try Transformer.load(from: policyFolder, threads: threads)
        if let policy, policy.config != saved.config {
            throw ScoreError.invalidArgument("resume: the policy's config differs from the saved one "
                                             + "(\(policy.config) vs \(saved.config))")
        }
        var reference: Transformer?, adapters: LoRAAdapters?
        if let lora = state.options.lora {
            let folder = directory.appendingPathComponent(adapterFolderName)
            let loaded = try LoRAAdapters.load(from: folder, config: saved.config)
            guard loaded.options.rank == lora.rank, loaded.options.targets == lora.targets else {
                throw ScoreError.invalidFile(path: folder.path, reason: "the adapters differ from the saved LoRA options")
            }
            adapters = loaded
        } else {
            let referenceFolder = directory.appendingPathComponent(referenceFolderName)
            let loaded = try Transformer.load(from: referenceFolder, threads: threads)
            guard loaded.config == saved.config else {
                throw ScoreError.invalidFile(
                    path: referenceFolder.appendingPathComponent(Transformer.configFileName).path,
                    reason: "the reference model config differs from the policy's (\(loaded.config) vs \(saved.config))")
            }
            reference = loaded
        }
        let (first, second) = try readMoments(from: directory.appendingPathComponent(optimizerFileName),
                                              parameterCount: adapters?.parameterCount ?? saved.parameterCount)
        if let policy, policy.adapters != nil, state.options.lora == nil {
            throw ScoreError.invalidArgument("resume: the policy carries LoRA adapters; the saved run trained every weight")
        }
        // Everything that can fail happens before the host's policy changes.
        let trainer = try SCoReTrainer(policy: policy ?? saved, problems: problems, format: format,
                                       verifier: verifier, options: state.options)
        if let reference { trainer.reference.parameters.copy(from: reference.parameters) }
        if let adapters, let attached = trainer.policy.adapters { attached.parameters.copy(from: adapters.parameters) }
        do {
            try trainer.optimizer.restore(step: state.optimizerStep, firstMoment: first, secondMoment: second)
        } catch let error as ScoreError {
            throw ScoreError.invalidFile(path: directory.appendingPathComponent(optimizerFileName).path,
                                         reason: "cannot restore the optimizer: \(error)")
        }
        if let policy { policy.parameters.copy(from: saved.parameters) }
        trainer.generator = state.generator
        trainer.completedSteps = state.completedSteps
        return trainer
    }

    /// The two moment vectors of `url`, checked to be F32 vectors of `parameterCount` values.
    private static func readMoments(from url: URL, parameterCount: Int) throws -> ([Float], [Float]) {
        let file = try SafeTensorsFile(contentsOf: url)
        let expected = [SCoReSavedState.firstMomentName, SCoReSavedState.secondMomentName]
        if let extra = file.names.first(where: { !expected.contains($0) }) {
            throw ScoreError.invalidFile(path: url.path, reason: "unexpected tensor '\(extra)' in the optimizer state")
        }
        return try (moment(expected[0], in: file, count: parameterCount),
                    moment(expected[1], in: file, count: parameterCount))
    }

    private static func moment(_ name: String, in file: SafeTensorsFile, count: Int) throws -> [Float] {
        guard let info = file.info(name) else {
            throw ScoreError.invalidFile(path: file.path, reason: "missing tensor '\(name)'")
        }
        guard info.dtype == .f32, info.shape == [count] else {
            throw ScoreError.invalidFile(
                path: file.path,
                reason: "tensor '\(name)' is \(info.dtype.rawValue) of shape \(info.shape), expected F32 of shape [\(count)] "
                    + "(one value per model parameter)")
        }
        return try file.floats(name)
    }
}

/// The contents of `trainer.json` in a SCoRe state folder.
struct SCoReSavedState: Codable {
    static let firstMomentName = "adam.m"
    static let secondMomentName = "adam.v"

    var formatVersion: Int
    /// The library that wrote the state (informational).
    var libraryVersion: String
    var completedSteps: Int
    var optimizerStep: Int
    var generator: RandomGenerator
    var options: SCoReOptions
    var problemCount: Int
    /// FNV-1a of the problems' prompts and references, as 16 hex digits.
    var problemsFingerprint: String

    /// Only the version, read first so that a newer layout reports its version, not a missing field.
    private struct VersionProbe: Decodable {
        var formatVersion: Int
    }

    /// Reads and validates the state file at `url`; every problem throws `ScoreError.invalidFile`.
    static func read(from url: URL) throws -> SCoReSavedState {
        func invalid(_ reason: String) -> ScoreError { .invalidFile(path: url.path, reason: reason) }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw invalid("missing \(url.lastPathComponent): not a complete trainer state (it is written last; "
                          + "a save may have been interrupted)")
        }
        let data = try FileContents.read(url)
        let state: SCoReSavedState
        do {
            let version = try JSONDecoder().decode(VersionProbe.self, from: data).formatVersion
            guard version == SCoReTrainer.stateFormatVersion else {
                throw invalid("unsupported trainer state version \(version) (this library reads version "
                              + "\(SCoReTrainer.stateFormatVersion))")
            }
            state = try JSONDecoder().decode(SCoReSavedState.self, from: data)
        } catch let error as DecodingError {
            throw invalid("malformed trainer state: \(SafeTensorsFile.describe(error))")
        } catch let error as ScoreError {
            throw error
        } catch {
            throw invalid("malformed trainer state: \(error.localizedDescription)")
        }
        try state.validate(invalid)
        return state
    }

    /// Checks every value against what a trainer could have saved.
    private func validate(_ invalid: (String) -> ScoreError) throws {
        do {
            try options.validate()
        } catch let ScoreError.invalidArgument(message) {
            throw invalid("invalid options: \(message)")
        }
        // The synthesized decoder does not check the generator's state: rebuild it through the checked initializer.
        do {
            _ = try RandomGenerator(state: generator.state)
        } catch let ScoreError.invalidArgument(message) {
            throw invalid(message)
        }
        guard completedSteps >= 0 else { throw invalid("completedSteps must be >= 0 (got \(completedSteps))") }
        guard optimizerStep >= 0 else { throw invalid("optimizerStep must be >= 0 (got \(optimizerStep))") }
        guard problemCount >= 0 else { throw invalid("problemCount must be >= 0 (got \(problemCount))") }
    }

    /// FNV-1a (64-bit) over every prompt and reference, each followed by a 0 byte; stable across
    /// processes, unlike `Hasher`.
    static func fingerprint(_ problems: [SelfCorrectionProblem]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 + [0] {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
        }
        for problem in problems {
            mix(problem.prompt)
            mix(problem.reference)
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
