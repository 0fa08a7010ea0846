import Testing
@testable import ScoreEngine

/// The SCoRe training step end to end on a small model: it updates the policy and not the
/// reference, follows the stage plan, and a failing verifier or a NaN reward stops the step with
/// nothing changed and the trainer still usable.
struct SCoReTrainerTests {
    static let config = ModelConfig(vocabSize: 262, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 48,
                                    maxSeqLen: 64)
    static let problems = [SelfCorrectionProblem(prompt: "1+2=", reference: "3"),
                           SelfCorrectionProblem(prompt: "4+4=", reference: "8"),
                           SelfCorrectionProblem(prompt: "9+0=", reference: "9")]

    static func trainer(plan: StagePlan, verifier: any Verifier = ArithmeticVerifier(),
                        secondAttempts: Int = 1) throws -> SCoReTrainer {
        let model = try Transformer(config: config, seed: 3)
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        var options = SCoReOptions()
        options.promptsPerStep = 2
        options.samplesPerPrompt = 2
        options.maxNewTokens = 3
        options.learningRate = 1e-3
        options.plan = plan
        options.secondAttemptsPerFirst = secondAttempts
        return try SCoReTrainer(policy: model, problems: problems, format: format, verifier: verifier, options: options)
    }

    @Test func stepsFollowThePlanAndMoveOnlyThePolicy() throws {
        // Rewards alternate inside every group of two samples, so every stage has non-zero advantages.
        let verifier = ClosureVerifier { items in items.indices.map { Float($0 % 2) } }
        let trainer = try Self.trainer(plan: .score(stageI: 2, stageII: 1, rounds: 2), verifier: verifier)
        let referenceBefore = trainer.reference.parameters.array
        var stages = [TrainingStage]()
        while !trainer.isFinished {
            let before = trainer.policy.parameters.array
            let stats = try trainer.step()
            stages.append(stats.stage)
            #expect(stats.metrics.count == 4 && stats.gradNorm.isFinite && stats.gradNorm > 0)
            let changed = trainer.policy.parameters.array != before
            #expect(changed, "step \(stats.step) changed nothing")
        }
        #expect(stages == [.stageI, .stageI, .stageII, .stageI, .stageI, .stageII])
        let referenceUnchanged = trainer.reference.parameters.array == referenceBefore
        #expect(referenceUnchanged)
        #expect(trainer.completedSteps == 6)
    }

    @Test func failingVerifierOrNaNRewardChangesNothing() throws {
        struct Refusal: Error {}
        var fail = true
        let verifier = ClosureVerifier { items in
            if fail { throw Refusal() }
            return items.map { _ in 1 }
        }
        let trainer = try Self.trainer(plan: .score(stageI: 1, stageII: 1, rounds: 1), verifier: verifier)
        let before = trainer.policy.parameters.array
        #expect(throws: ScoreError.self) { try trainer.step() }
        let unchanged = trainer.policy.parameters.array == before
        #expect(unchanged && trainer.completedSteps == 0)
        #expect(trainer.optimizer.step == 0)
        fail = false
        _ = try trainer.step()
        #expect(trainer.completedSteps == 1)

        let nan = try Self.trainer(plan: .singleTurn(steps: 1), verifier: ClosureVerifier { $0.map { _ in .nan } })
        let weights = nan.policy.parameters.array
        #expect(throws: ScoreError.nonFinite("verifier reward of item 0 is nan")) { try nan.step() }
        let nanUnchanged = nan.policy.parameters.array == weights
        #expect(nanUnchanged && nan.completedSteps == 0)
    }

    @Test func optionsRefuseSizesWhoseProductsOverflow() throws {
        var cases = [SCoReOptions]()
        var o = SCoReOptions()
        o.samplesPerPrompt = 1 << 31; o.secondAttemptsPerFirst = 1 << 33; cases.append(o)
        o = SCoReOptions(); o.promptsPerStep = Int.max; cases.append(o)
        o = SCoReOptions(); o.maxNewTokens = Int.max; cases.append(o)
        o = SCoReOptions(); o.plan = .score(stageI: Int.max, stageII: 1, rounds: 1); cases.append(o)
        o = SCoReOptions(); o.plan = .score(stageI: 1 << 62, stageII: 0, rounds: 2); cases.append(o)
        o = SCoReOptions(); o.plan = .singleTurn(steps: Int.max); cases.append(o)
        for options in cases { #expect(throws: ScoreError.self) { try options.validate() } }
    }

    @Test func stepsRefuseMoreEpisodesThanTheLimitBeforeSampling() throws {
        var sampled = 0
        let verifier = ClosureVerifier { items in sampled += items.count; return items.map { _ in 1 } }
        let trainer = try Self.trainer(plan: .score(stageI: 1, stageII: 1, rounds: 1), verifier: verifier)
        let limit = SCoReTrainer.maximumEpisodesPerStep / 2  // two samples per prompt
        let tooMany = Array(repeating: Self.problems[0], count: limit + 1)
        #expect(throws: ScoreError.self) { try trainer.step(on: tooMany) }
        #expect(throws: ScoreError.self) { try trainer.computeGradients(on: []) }
        #expect(sampled == 0 && trainer.completedSteps == 0 && !trainer.hasPendingGradients)
        _ = try trainer.step(on: Array(Self.problems.prefix(2)))
        #expect(sampled == 8)  // 2 prompts × 2 samples × 2 attempts scored
    }

    @Test func singleTurnStepsSampleOneAttempt() throws {
        var items = [[VerifierItem]]()
        let verifier = ClosureVerifier { batch in
            items.append(batch)
            return batch.map { _ in 0 }
        }
        let trainer = try Self.trainer(plan: .singleTurn(steps: 1), verifier: verifier)
        let stats = try trainer.step()
        #expect(stats.stage == .singleTurn && items.count == 1 && items[0].allSatisfy { $0.turn == 1 })
        #expect(items[0].count == 4)
    }

    @Test func evaluationScoresEveryProblemOnce() throws {
        let model = try Transformer(config: Self.config, seed: 3)
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        for evaluation in [EvaluationProtocol.greedy, .mixed] {
            let result = try model.evaluateSelfCorrection(problems: Self.problems, format: format,
                                                          verifier: ArithmeticVerifier(), protocol: evaluation,
                                                          maxNewTokens: 3, batchSize: 2)
            #expect(result.metrics.count == 3 && result.episodes.map(\.group) == [0, 1, 2])
            #expect(result.episodes.allSatisfy { $0.attempt2 != nil })
        }
    }

    @Test func planStages() throws {
        let plan = StagePlan.score(stageI: 0, stageII: 3, rounds: 1)
        #expect((0..<3).map { plan.stage(at: $0) } == [.stageII, .stageII, .stageII] && plan.totalSteps == 3)
        #expect(throws: ScoreError.self) { try StagePlan.score(stageI: 0, stageII: 0, rounds: 1).validate() }
        #expect(throws: ScoreError.self) { try StagePlan.singleTurn(steps: 0).validate() }
    }

    /// Prompt, instruction and padding positions carry no loss: their log-prob gradient is exactly 0,
    /// while attempt tokens of both turns get gradient in Stage II.
    @Test func onlyAttemptTokensCarryGradient() throws {
        let model = try Transformer(config: Self.config, seed: 3)
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        var generator = RandomGenerator(seed: 4)
        let sampling = format.attemptSampling(temperature: 1, maxNewTokens: 4)
        let episodes = try model.rollout(prompts: Self.problems.map { format.promptTokens($0.prompt) },
                                         samplesPerPrompt: 2, format: format, turn1: sampling, turn2: sampling,
                                         generator: &generator)
        let batch = try SequenceBatch(sequences: episodes.map(\.segments), padID: format.padID, maxSeqLen: 64)
        let logProbs = try model.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch,
                                         seqLen: batch.seqLen)
        let turns = try SCoReObjective.turnLabels(targetSegments: batch.targetSegments)
        let rewards1 = episodes.indices.map { Float($0 % 2) }, rewards2 = episodes.indices.map { Float(($0 / 2) % 2) }
        let result = try SCoReObjective.assemble(
            policy: logProbs, reference: logProbs.map { $0 - 0.1 }, turns: turns, seqLen: batch.seqLen,
            rewards1: rewards1, rewards2: rewards2, groups: episodes.map(\.group), stage: .stageII,
            options: ObjectiveOptions())
        for i in turns.indices where batch.targetSegments[i] != 1 && batch.targetSegments[i] != 3 {
            #expect(turns[i] == 0 && result.dLogProbs[i] == 0, "position \(i) is not an attempt token")
        }
        #expect(turns.indices.contains { turns[$0] == 1 && result.dLogProbs[$0] != 0 })
        #expect(turns.indices.contains { turns[$0] == 2 && result.dLogProbs[$0] != 0 })
        // Attempt tokens are exactly the sampled ones, in order.
        for (e, episode) in episodes.enumerated() {
            let row = (e * batch.seqLen)..<((e + 1) * batch.seqLen)
            let turn1 = row.filter { turns[$0] == 1 }.map { batch.targets[$0] }
            let turn2 = row.filter { turns[$0] == 2 }.map { batch.targets[$0] }
            #expect(turn1 == episode.attempt1.tokens && turn2 == episode.attempt2?.tokens)
        }
    }

    /// A first-attempt temperature of 0 makes attempt 1 greedy (the k samples of a prompt agree)
    /// while attempt 2 is still sampled; a non-finite one is rejected.
    @Test func firstAttemptTemperature() throws {
        var batches = [[VerifierItem]]()
        let verifier = ClosureVerifier { items in
            batches.append(items)
            return items.indices.map { Float($0 % 2) }
        }
        let model = try Transformer(config: Self.config, seed: 3)
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        var options = SCoReOptions()
        options.promptsPerStep = 2
        options.samplesPerPrompt = 4
        options.maxNewTokens = 3
        options.firstAttemptTemperature = 0
        options.plan = .score(stageI: 1, stageII: 0, rounds: 1)
        let trainer = try SCoReTrainer(policy: model, problems: Self.problems, format: format, verifier: verifier,
                                       options: options)
        _ = try trainer.step()
        let first = batches[0].filter { $0.turn == 1 }, second = batches[0].filter { $0.turn == 2 }
        #expect(Set(first.prefix(4).map(\.response)).count == 1 && Set(first.suffix(4).map(\.response)).count == 1)
        #expect(Set(second.map(\.response)).count > 2)
        options.firstAttemptTemperature = .nan
        #expect(throws: ScoreError.self) { try options.validate() }
    }

    /// Tempered first attempts are not the policy's own samples: their policy-gradient term is
    /// masked. Rewards on attempt 1 only (no shaping) then move nothing in the first step (the
    /// policy equals its reference, so the KL slope is zero), while untempered ones do; single-turn
    /// steps keep sampling attempt 1 at the training temperature.
    @Test func temperedFirstAttemptsCarryNoPolicyGradient() throws {
        var batches = [[VerifierItem]]()
        let verifier = ClosureVerifier { items in
            batches.append(items)
            return items.map { $0.turn == 1 ? Float($0.response.utf8.count % 2) : 0 }
        }
        func gradientNorm(firstTemperature: Float?, plan: StagePlan) throws -> Float {
            var options = SCoReOptions()
            options.promptsPerStep = 2
            options.samplesPerPrompt = 4
            options.maxNewTokens = 3
            options.firstAttemptTemperature = firstTemperature
            options.objective.shaping = .none
            options.plan = plan
            let trainer = try SCoReTrainer(
                policy: try Transformer(config: Self.config, seed: 3), problems: Self.problems,
                format: try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?"), verifier: verifier,
                options: options)
            return try trainer.step().gradNorm
        }
        let stageII = StagePlan.score(stageI: 0, stageII: 1, rounds: 1)
        #expect(try gradientNorm(firstTemperature: nil, plan: stageII) > 1e-3)
        #expect(try gradientNorm(firstTemperature: 1, plan: stageII) > 1e-3)
        #expect(try gradientNorm(firstTemperature: 0.5, plan: stageII) < 1e-6)
        // Single-turn: attempt 1 is sampled (not greedy at 0) and trained.
        batches.removeAll()
        #expect(try gradientNorm(firstTemperature: 0, plan: .singleTurn(steps: 1)) > 1e-3)
        let first = batches[0].map(\.response)
        #expect(Set(first.prefix(4)).count > 1 || Set(first.suffix(4)).count > 1)
    }

    /// The trainer's policy at temperature T is softmax(z / T): training at T is training at 1 a
    /// model whose output projection is divided by T. Both sample the same episodes and, away from
    /// the reference (so the KL terms count), get the same gradients (the output projection's
    /// scaled by 1/T, the chain rule through the division).
    @Test func trainingAtATemperatureTrainsTheTemperedPolicy() throws {
        var config = Self.config
        config.tieEmbeddings = false
        let temperature: Float = 0.6
        let tempered = try Transformer(config: config, seed: 3)
        let scaled = tempered.copy()
        let output = try #require(scaled.layout.tensors.first { $0.offset == scaled.layout.output })
        let outputRange = output.offset..<(output.offset + output.count)
        for i in outputRange { scaled.parameters.pointer[i] /= temperature }
        let verifier = ClosureVerifier { items in items.indices.map { Float($0 % 3 == 0 ? 1 : 0) } }
        func trainer(_ policy: Transformer, temperature: Float) throws -> SCoReTrainer {
            var options = SCoReOptions()
            options.promptsPerStep = 3
            options.samplesPerPrompt = 2
            options.maxNewTokens = 3
            options.temperature = temperature
            options.plan = .score(stageI: 0, stageII: 1, rounds: 1)
            return try SCoReTrainer(policy: policy, problems: Self.problems,
                                    format: try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?"),
                                    verifier: verifier, options: options)
        }
        let a = try trainer(tempered, temperature: temperature), b = try trainer(scaled, temperature: 1)
        var rng = RandomGenerator(seed: 8)
        for i in 0..<tempered.parameters.count {
            let step = 0.05 * rng.nextNormal()
            tempered.parameters.pointer[i] += step
            scaled.parameters.pointer[i] += outputRange.contains(i) ? step / temperature : step
        }
        let statsA = try a.computeGradients(on: Self.problems), statsB = try b.computeGradients(on: Self.problems)
        #expect(statsA.metrics == statsB.metrics, "the two trainers sampled different episodes")
        #expect(abs(statsA.klTurn2) > 1e-4 && abs(statsA.klTurn2 - statsB.klTurn2) <= 1e-4 * abs(statsB.klTurn2))
        let gradientsA = tempered.gradients.array, gradientsB = scaled.gradients.array
        let largest = gradientsB.map { abs($0) }.max() ?? 0
        #expect(largest > 1e-3)
        var worst: Float = 0
        for i in gradientsA.indices {
            let expected = outputRange.contains(i) ? gradientsB[i] / temperature : gradientsB[i]
            worst = max(worst, abs(gradientsA[i] - expected))
        }
        #expect(worst <= 1e-4 * largest, "gradients differ by \(worst) (largest \(largest))")
    }
}
