import Foundation
import Testing
@testable import ScoreEngine

/// A SCoRe step split into micro-batches and rollout chunks is the same step: the same rollouts,
/// loss, statistics and gradients (to float-summation rounding) whatever the micro-batch, thread
/// count or memory budget; and a step that cannot fit the machine is refused before it starts.
struct MicroBatchTests {
    static let config = ModelConfig(vocabSize: 262, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 48,
                                    maxSeqLen: 64)
    static let problems = [SelfCorrectionProblem(prompt: "1+2=", reference: "3"),
                           SelfCorrectionProblem(prompt: "14+4=", reference: "18"),
                           SelfCorrectionProblem(prompt: "9+0=", reference: "9")]

    static func trainer(microBatch: Int?, threads: Int = 1, memoryBudget: Int = 1 << 30,
                        plan: StagePlan = .score(stageI: 1, stageII: 1, rounds: 1)) throws -> SCoReTrainer {
        let model = try Transformer(config: config, seed: 5, threads: threads)
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        var options = SCoReOptions()
        options.promptsPerStep = 3
        options.samplesPerPrompt = 3
        options.maxNewTokens = 6
        options.plan = plan
        options.microBatch = microBatch
        options.memoryBudget = memoryBudget
        options.seed = 11
        // Rewards vary inside each group, so both turns carry advantages.
        let verifier = ClosureVerifier { items in items.indices.map { Float(($0 * 7) % 3) / 2 } }
        return try SCoReTrainer(policy: model, problems: problems, format: format, verifier: verifier, options: options)
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test(arguments: [TrainingStage.stageI, .stageII])
    func microBatchesGiveTheWholeBatchGradient(stage: TrainingStage) throws {
        let plan: StagePlan = stage == .stageI ? .score(stageI: 1, stageII: 0, rounds: 1) : .score(stageI: 0, stageII: 1, rounds: 1)
        let whole = try Self.trainer(microBatch: 9, plan: plan)
        let expected = try whole.computeGradients(on: Self.problems)
        let gradients = whole.policy.gradients.array
        let scale = gradients.reduce(0) { max($0, abs($1)) }
        #expect(scale > 0)
        for (microBatch, threads) in [(1, 1), (2, 1), (4, 2), (9, 2)] {
            let split = try Self.trainer(microBatch: microBatch, threads: threads, plan: plan)
            let stats = try split.computeGradients(on: Self.problems)
            #expect(stats.metrics == expected.metrics, "micro-batch \(microBatch): other rollouts")
            #expect(abs(stats.loss - expected.loss) <= 1e-5 * max(1, abs(expected.loss)))
            #expect(abs(stats.klTurn1 - expected.klTurn1) <= 1e-5 && abs(stats.klTurn2 - expected.klTurn2) <= 1e-5)
            #expect(abs(stats.entropy - expected.entropy) <= 1e-4)
            let difference = Self.maxDifference(split.policy.gradients.array, gradients)
            #expect(difference <= 1e-4 * scale, "micro-batch \(microBatch), \(threads) threads: gradients differ by \(difference)")
        }
    }

    @Test func aTinyBudgetCheckpointsAndStillGivesTheWholeGradient() throws {
        let whole = try Self.trainer(microBatch: 9)
        let expected = try whole.computeGradients(on: Self.problems)
        // A budget that holds the whole rollout (so the same episodes are sampled) but not one
        // episode's plain training pass.
        let prompt = Self.problems.map { whole.format.promptTokens($0.prompt).count }.max() ?? 0
        let episode = whole.longestEpisode(longestPrompt: prompt)
        let budget = 3 * MemoryEstimate.rollout(config: Self.config, slots: 3, capacity: episode, prefillRows: prompt)
        let tiny = try Self.trainer(microBatch: nil, memoryBudget: budget)
        #expect(tiny.rolloutPrompts(longestPrompt: prompt) >= 3)
        #expect(tiny.checkpointsActivations(longestEpisode: episode))
        let stats = try tiny.computeGradients(on: Self.problems)
        #expect(tiny.policy.checkpointsActivations && !whole.policy.checkpointsActivations)
        #expect(stats.metrics == expected.metrics)
        #expect(abs(stats.loss - expected.loss) <= 1e-5 * max(1, abs(expected.loss)))
        let gradients = whole.policy.gradients.array
        let scale = gradients.reduce(0) { max($0, abs($1)) }
        #expect(Self.maxDifference(tiny.policy.gradients.array, gradients) <= 1e-4 * scale)
    }

    @Test(arguments: [false, true])
    func checkpointedPassesAreExactlyThePlainOnes(withAdapters: Bool) throws {
        let plain = try Transformer(config: Self.config, seed: 8, threads: 2)
        if withAdapters {
            let adapters = try LoRAAdapters(config: Self.config, options: LoRAOptions(rank: 2), seed: 1)
            for i in 0..<adapters.parameters.count { adapters.parameters.pointer[i] += 0.01 * Float(i % 7) }
            try plain.attach(adapters)
        }
        let checkpointed = plain.copy()
        if let adapters = plain.adapters {
            let copy = try LoRAAdapters(config: Self.config, options: adapters.options)
            copy.parameters.copy(from: adapters.parameters)
            try checkpointed.attach(copy)
        }
        checkpointed.checkpointsActivations = true
        let tokens = (0..<3 * 20).map { ($0 * 37) % 250 + 3 }, targets = tokens.map { ($0 * 11) % 250 }
        let weights = targets.indices.map { Float($0 % 5) - 2 }
        for model in [plain, checkpointed] {
            model.zeroGradients()
            _ = try model.forward(tokens: tokens, targets: targets, batch: 3, seqLen: 20)
            try model.backward(dLogProbs: weights)
        }
        #expect(plain.trainableGradients.array == checkpointed.trainableGradients.array)
        #expect(plain.trainableGradients.array.contains { $0 != 0 })
        #expect(try plain.forward(tokens: tokens, targets: targets, batch: 3, seqLen: 20)
                == (try checkpointed.forward(tokens: tokens, targets: targets, batch: 3, seqLen: 20)))
    }

    @Test func automaticMicroBatchFollowsTheBudget() throws {
        let trainer = try Self.trainer(microBatch: nil, memoryBudget: 1 << 20)
        let one = MemoryEstimate.trainingPass(config: Self.config, sequences: 1, seqLen: 40)
        #expect(one < 1 << 20 && !trainer.checkpointsActivations(longestEpisode: 40))
        #expect(trainer.microBatchSize(longestEpisode: 40) == max(1, (1 << 20) / one))
        let roomy = try Self.trainer(microBatch: nil)
        #expect(roomy.microBatchSize(longestEpisode: 40) >= 9)
        let fixed = try Self.trainer(microBatch: 2, memoryBudget: 1 << 20)
        #expect(fixed.microBatchSize(longestEpisode: 40) == 2)
    }

    @Test func aTinyBudgetSamplesPromptByPromptAndStillTrains() throws {
        let trainer = try Self.trainer(microBatch: nil, memoryBudget: 1)
        #expect(trainer.rolloutPrompts(longestPrompt: 8) == 1 && trainer.microBatchSize(longestEpisode: 30) == 1)
        var rolloutCalls = 0
        trainer.progress = { phase, _, _ in if phase == .rollout { rolloutCalls += 1 } }
        let before = trainer.policy.parameters.array
        let stats = try trainer.step()
        #expect(rolloutCalls == 3)
        #expect(stats.metrics.count == 9 && stats.metrics.groupCount == 3)
        #expect(trainer.policy.parameters.array != before)
    }

    @Test func aStepThatCannotFitIsRefusedBeforeItStarts() throws {
        let trainer = try Self.trainer(microBatch: 9)
        trainer.availableMemory = trainer.stateBytes + 1000
        let before = trainer.policy.parameters.array
        let generator = trainer.generator
        do {
            _ = try trainer.step()
            Issue.record("the step ran")
        } catch ScoreError.invalidArgument(let message) {
            #expect(message.contains("would need about"), "\(message)")
            #expect(message.contains("max_new_tokens") || message.contains("micro_batch"), "\(message)")
        }
        #expect(trainer.policy.parameters.array == before && trainer.completedSteps == 0)
        #expect(trainer.generator == generator)
        #expect(!trainer.hasPendingGradients)
    }

    @Test func invalidMicroBatchOrBudgetIsRefused() throws {
        #expect(throws: ScoreError.self) { try Self.trainer(microBatch: -1) }
        #expect(throws: ScoreError.self) { try Self.trainer(microBatch: 0) }
        #expect(throws: ScoreError.self) { try Self.trainer(microBatch: 1, memoryBudget: 0) }
    }

    @Test func savedOptionsWithoutTheNewKeysStillDecode() throws {
        var options = SCoReOptions()
        options.microBatch = 3
        let data = try JSONEncoder().encode(options)
        var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        #expect(object["microBatch"] as? Int == 3)
        object.removeValue(forKey: "microBatch")
        object.removeValue(forKey: "memoryBudget")
        let old = try JSONDecoder().decode(SCoReOptions.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.microBatch == nil && old.memoryBudget == 1 << 30)
    }

    @Test func theLearningRateIsTheOptimizersOneAndEarlierStatesKeepTheirs() throws {
        var options = SCoReOptions()
        options.learningRate = 3e-4
        #expect(options.adamW.learningRate == 3e-4)
        options.adamW.learningRate = 5e-5
        #expect(options.learningRate == 5e-5)
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(options)) as? [String: Any] ?? [:]
        #expect(object["learningRate"] == nil)
        // States written before the two were one carried both; the top-level rate was the one used.
        object["learningRate"] = 2e-3
        let earlier = try JSONDecoder().decode(SCoReOptions.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(earlier.learningRate == 2e-3 && earlier.adamW.learningRate == 2e-3)
    }

    @Test func smallerBlocksReuseTheBuffersOfLargerOnes() throws {
        let model = try Transformer(config: Self.config, seed: 2)
        let fresh = model.copy()
        let long = [Int](repeating: 5, count: 2 * 20), longTargets = [Int](repeating: 7, count: 2 * 20)
        _ = try model.forward(tokens: long, targets: longTargets, batch: 2, seqLen: 20)
        let tokens = (0..<12).map { 10 + $0 }, targets = (0..<12).map { 20 + $0 }
        let reused = try model.forward(tokens: tokens, targets: targets, batch: 1, seqLen: 12)
        let expected = try fresh.forward(tokens: tokens, targets: targets, batch: 1, seqLen: 12)
        #expect(reused == expected)
        #expect(model.lastLogits?.count == 12 * Self.config.vocabSize)
        try model.backward(dLogProbs: [Float](repeating: -0.1, count: 12))
        try fresh.backward(dLogProbs: [Float](repeating: -0.1, count: 12))
        #expect(model.gradients.array == fresh.gradients.array)
    }
}
