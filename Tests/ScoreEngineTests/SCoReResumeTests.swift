import Foundation
import Testing
@testable import ScoreEngine

/// Saving and resuming a SCoRe trainer: a run stopped after two steps and resumed in a new trainer
/// ends bit-identical to an uninterrupted one, and every damaged state folder is rejected with a
/// `ScoreError` naming the file.
struct SCoReResumeTests {
    static let plan = StagePlan.score(stageI: 2, stageII: 2, rounds: 1)

    /// Rewards alternate inside every group of two samples, so both stages have non-zero advantages.
    static func verifier() -> ClosureVerifier { ClosureVerifier { items in items.indices.map { Float($0 % 2) } } }

    static func trainer() throws -> SCoReTrainer { try SCoReTrainerTests.trainer(plan: plan, verifier: verifier()) }

    static func resume(_ folder: URL, problems: [SelfCorrectionProblem] = SCoReTrainerTests.problems) throws -> SCoReTrainer {
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        return try SCoReTrainer.resume(from: folder, format: format, verifier: verifier(), problems: problems)
    }

    static func bits(_ buffer: FloatBuffer) -> [UInt32] { buffer.array.map(\.bitPattern) }

    /// Everything a step reports except wall times, compared exactly.
    static func sameStats(_ a: SCoReStepStats, _ b: SCoReStepStats) -> Bool {
        a.step == b.step && a.stage == b.stage && a.metrics == b.metrics && a.loss == b.loss
            && a.klTurn1 == b.klTurn1 && a.klTurn2 == b.klTurn2 && a.meanAdvantageTurn1 == b.meanAdvantageTurn1
            && a.meanAdvantageTurn2 == b.meanAdvantageTurn2 && a.gradNorm == b.gradNorm
            && a.learningRate == b.learningRate
    }

    /// Every piece of state the two trainers carry is bit-identical.
    static func sameState(_ a: SCoReTrainer, _ b: SCoReTrainer) -> Bool {
        bits(a.policy.parameters) == bits(b.policy.parameters)
            && bits(a.reference.parameters) == bits(b.reference.parameters)
            && bits(a.optimizer.firstMoment) == bits(b.optimizer.firstMoment)
            && bits(a.optimizer.secondMoment) == bits(b.optimizer.secondMoment)
            && a.optimizer.step == b.optimizer.step && a.generator == b.generator
            && a.completedSteps == b.completedSteps && a.options == b.options
    }

    @Test func resumedRunMatchesAnUninterruptedRunBitForBit() throws {
        let straight = try Self.trainer()
        var straightStats = [SCoReStepStats]()
        while !straight.isFinished { straightStats.append(try straight.step()) }
        #expect(straightStats.count == 4)

        let interrupted = try Self.trainer()
        _ = try interrupted.step()
        _ = try interrupted.step()
        let folder = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try interrupted.saveState(to: folder)

        let resumed = try Self.resume(folder)
        #expect(Self.sameState(resumed, interrupted))
        #expect(resumed.completedSteps == 2 && resumed.optimizer.step == 2 && resumed.nextStage == .stageII)
        let referenceMoved = Self.bits(resumed.reference.parameters) != Self.bits(resumed.policy.parameters)
        #expect(referenceMoved, "after two steps the policy must differ from the reference")

        var resumedStats = [SCoReStepStats]()
        while !resumed.isFinished { resumedStats.append(try resumed.step()) }
        #expect(resumedStats.count == 2)
        #expect(Self.sameState(resumed, straight))
        for (resumedStep, straightStep) in zip(resumedStats, straightStats.suffix(2)) {
            #expect(Self.sameStats(resumedStep, straightStep), "step \(straightStep.step) differs after resuming")
        }
    }

    /// The comparison above would notice a resume that lost any one piece of the state.
    @Test(arguments: ["generator", "moments", "reference"])
    func losingAnyPieceChangesTheRun(piece: String) throws {
        let straight = try Self.trainer()
        while !straight.isFinished { _ = try straight.step() }
        let interrupted = try Self.trainer()
        _ = try interrupted.step()
        _ = try interrupted.step()
        let folder = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try interrupted.saveState(to: folder)

        let resumed = try Self.resume(folder)
        switch piece {
        case "generator":
            resumed.generator = RandomGenerator(seed: 99)
        case "moments":
            let zeros = [Float](repeating: 0, count: resumed.policy.parameterCount)
            try resumed.optimizer.restore(step: 2, firstMoment: zeros, secondMoment: zeros)
        default:
            resumed.reference.parameters.copy(from: resumed.policy.parameters)
        }
        while !resumed.isFinished { _ = try resumed.step() }
        let policyDiffers = Self.bits(resumed.policy.parameters) != Self.bits(straight.policy.parameters)
        #expect(policyDiffers, "a resume without the \(piece) still matched")
    }

    @Test func stateFolderLayout() throws {
        let trainer = try Self.trainer()
        _ = try trainer.step()
        let folder = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try trainer.saveState(to: folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["optimizer.safetensors", "policy", "reference", "trainer.json"])
        let moments = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("optimizer.safetensors"))
        #expect(moments.names.sorted() == ["adam.m", "adam.v"])
        #expect(moments.info("adam.m")?.shape == [trainer.policy.parameterCount])
        let text = try String(contentsOf: folder.appendingPathComponent("trainer.json"), encoding: .utf8)
        #expect(text.contains("\"completedSteps\" : 1") && text.contains("\"formatVersion\" : 1"))

        // Saving again over the same folder replaces the state.
        _ = try trainer.step()
        try trainer.saveState(to: folder)
        let resumed = try Self.resume(folder)
        #expect(Self.sameState(resumed, trainer))
    }

    @Test func damagedStateIsRejected() throws {
        let trainer = try Self.trainer()
        _ = try trainer.step()
        let saved = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: saved) }
        try trainer.saveState(to: saved)
        let fileManager = FileManager.default

        /// The `invalidFile` error of resuming a copy of the saved state after `damage`.
        func resumeError(_ damage: (URL) throws -> Void) throws -> (path: String, reason: String)? {
            let copy = try SafeTensorsTests.makeTemporaryDirectory().appendingPathComponent("state")
            defer { try? fileManager.removeItem(at: copy.deletingLastPathComponent()) }
            try fileManager.copyItem(at: saved, to: copy)
            try damage(copy)
            return SafeTensorsTests.invalidFileError { try Self.resume(copy) }
        }
        func editState(_ folder: URL, _ edit: (inout [String: Any]) -> Void) throws {
            let url = folder.appendingPathComponent("trainer.json")
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: url)
        }

        let missing = try resumeError { try fileManager.removeItem(at: $0.appendingPathComponent("trainer.json")) }
        #expect(missing?.path.hasSuffix("trainer.json") == true && missing?.reason.contains("missing") == true)

        let truncated = try resumeError { folder in
            let url = folder.appendingPathComponent("optimizer.safetensors")
            let data = try Data(contentsOf: url)
            try data.prefix(data.count / 2).write(to: url)
        }
        #expect(truncated?.path.hasSuffix("optimizer.safetensors") == true)

        let otherShape = try resumeError { folder in
            let reference = folder.appendingPathComponent("reference")
            try fileManager.removeItem(at: reference)
            let config = ModelConfig(vocabSize: 262, dim: 16, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 48,
                                     maxSeqLen: 64)
            try Transformer(config: config, seed: 1).save(to: reference)
        }
        #expect(otherShape?.path.hasSuffix("reference/config.json") == true)

        let garbage = try resumeError { try Data("{ not json".utf8).write(to: $0.appendingPathComponent("trainer.json")) }
        #expect(garbage?.path.hasSuffix("trainer.json") == true && garbage?.reason.contains("malformed") == true)

        let version = try resumeError { try editState($0) { $0["formatVersion"] = 99 } }
        #expect(version?.path.hasSuffix("trainer.json") == true && version?.reason.contains("version 99") == true)

        let zeroGenerator = try resumeError { try editState($0) { $0["generator"] = ["state": [0, 0, 0, 0]] } }
        #expect(zeroGenerator?.path.hasSuffix("trainer.json") == true)

        let badOptions = try resumeError { folder in
            try editState(folder) { json in
                var options = json["options"] as? [String: Any] ?? [:]
                options["promptsPerStep"] = 0
                json["options"] = options
            }
        }
        #expect(badOptions?.path.hasSuffix("trainer.json") == true && badOptions?.reason.contains("options") == true)

        let shortMoments = try resumeError { folder in
            let values = [Float](repeating: 0, count: trainer.policy.parameterCount - 1)
            try values.withUnsafeBufferPointer { buffer in
                try SafeTensorsWriter.write(tensors: [(name: "adam.m", shape: [buffer.count], values: buffer),
                                                      (name: "adam.v", shape: [buffer.count], values: buffer)],
                                            metadata: [:], to: folder.appendingPathComponent("optimizer.safetensors"))
            }
        }
        #expect(shortMoments?.path.hasSuffix("optimizer.safetensors") == true)

        let missingWeights = try resumeError {
            try fileManager.removeItem(at: $0.appendingPathComponent("policy/model.safetensors"))
        }
        #expect(missingWeights?.path.hasSuffix("policy/model.safetensors") == true)

        // Other problems than the run's: an argument error, not a file error.
        let otherProblems = [SelfCorrectionProblem(prompt: "2+2=", reference: "4")] + SCoReTrainerTests.problems.dropFirst()
        #expect(throws: ScoreError.self) { try Self.resume(saved, problems: otherProblems) }
        // The intact state still resumes.
        #expect(Self.sameState(try Self.resume(saved), trainer))
    }
}
