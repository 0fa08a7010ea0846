import Testing
@testable import ScoreEngine

/// The step as two halves (the host's scale-out hook), steps on given problems, the supervised
/// step, resetting the reference, and aborting from the progress callback.
struct SCoReTrainerSplitTests {
    static let alternating = ClosureVerifier { items in items.indices.map { Float($0 % 2) } }

    static func trainer() throws -> SCoReTrainer {
        try SCoReTrainerTests.trainer(plan: .score(stageI: 1, stageII: 1, rounds: 2), verifier: alternating)
    }

    @Test func computeThenApplyEqualsOneStep() throws {
        let whole = try Self.trainer(), split = try Self.trainer()
        let problems = Array(SCoReTrainerTests.problems.prefix(2))
        let stats = try whole.step(on: problems)
        let pending = try split.computeGradients(on: problems)
        #expect(pending.gradNorm == 0 && split.hasPendingGradients && split.completedSteps == 0)
        let norm = try split.applyGradients()
        #expect(norm == stats.gradNorm && split.completedSteps == 1 && !split.hasPendingGradients)
        let same = whole.policy.parameters.array == split.policy.parameters.array
        #expect(same)
        #expect(throws: ScoreError.self) { try split.applyGradients() }
    }

    @Test func replicasThatAverageGradientsStayEqual() throws {
        let a = try Self.trainer(), b = try Self.trainer()
        try a.computeGradients(on: [SCoReTrainerTests.problems[0]])
        try b.computeGradients(on: [SCoReTrainerTests.problems[1], SCoReTrainerTests.problems[2]])
        let ga = a.policy.gradients, gb = b.policy.gradients
        let differ = ga.array != gb.array
        #expect(differ)
        for i in 0..<ga.count {
            let mean = (ga.pointer[i] + gb.pointer[i]) / 2
            ga.pointer[i] = mean
            gb.pointer[i] = mean
        }
        try a.applyGradients()
        try b.applyGradients()
        let equal = a.policy.parameters.array == b.policy.parameters.array
        #expect(equal)
    }

    @Test func nonFiniteGradientsAreNotApplied() throws {
        let trainer = try Self.trainer()
        try trainer.computeGradients(on: [SCoReTrainerTests.problems[0]])
        let before = trainer.policy.parameters.array
        trainer.policy.gradients.pointer[0] = .nan
        #expect(throws: ScoreError.self) { try trainer.applyGradients() }
        let unchanged = trainer.policy.parameters.array == before
        #expect(unchanged && trainer.hasPendingGradients && trainer.completedSteps == 0)
    }

    @Test func progressCallbackCanAbortAStep() throws {
        let trainer = try Self.trainer()
        var phases = [TrainingPhase]()
        trainer.progress = { phase, _, _ in
            phases.append(phase)
            if phase == .verify { throw ScoreError.aborted("stop") }
        }
        let before = trainer.policy.parameters.array
        #expect(throws: ScoreError.aborted("stop")) { try trainer.step(on: [SCoReTrainerTests.problems[0]]) }
        let unchanged = trainer.policy.parameters.array == before
        #expect(unchanged && phases == [.rollout, .verify] && !trainer.hasPendingGradients)
    }

    @Test func supervisedStepsLowerTheLossAndResetMovesTheReference() throws {
        let trainer = try Self.trainer()
        let format = trainer.format
        let example = SFTExample(prompt: format.promptTokens("2+2="), completion: format.attemptTokens("4"))
        let first = try trainer.supervisedStep([example], learningRate: 1e-2)
        var last = first
        for _ in 0..<5 { last = try trainer.supervisedStep([example], learningRate: 1e-2) }
        #expect(last < first)
        #expect(trainer.completedSteps == 0)
        let stale = trainer.reference.parameters.array != trainer.policy.parameters.array
        #expect(stale)
        trainer.resetReference()
        let same = trainer.reference.parameters.array == trainer.policy.parameters.array
        #expect(same && trainer.optimizer.step == 0)
        #expect(throws: ScoreError.self) { try trainer.supervisedStep([], learningRate: 1e-2) }
        #expect(throws: ScoreError.self) { try trainer.supervisedStep([example], learningRate: .nan) }
    }

    @Test func stepWithoutProblemsNeedsThemGiven() throws {
        let model = try Transformer(config: SCoReTrainerTests.config, seed: 3)
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        var options = SCoReOptions()
        options.maxNewTokens = 3
        let trainer = try SCoReTrainer(policy: model, format: format, verifier: Self.alternating, options: options)
        #expect(throws: ScoreError.self) { try trainer.step() }
        #expect(throws: ScoreError.self) { try trainer.step(on: []) }
        #expect(try trainer.step(on: [SCoReTrainerTests.problems[0]]).metrics.count == options.samplesPerPrompt)
    }
}
