import Testing
@testable import ScoreEngine

/// Keeping the best checkpoint of a run: by validation score or by training reward, every few steps.
struct CheckpointSelectionTests {
    static func model(seed: UInt64) throws -> Transformer { try Transformer(config: CheckpointTests.config(), seed: seed) }

    /// Stats of step `step` whose second attempts earned `reward` on average.
    static func stats(step: Int, reward: Float) -> SCoReStepStats {
        let pairs = [AttemptPair(reward1: 0, reward2: reward, correct1: false, correct2: reward >= 0.5, tokens1: [1],
                                 tokens2: [1], group: 0)]
        return SCoReStepStats(step: step, stage: .stageII, metrics: SelfCorrectionMetrics(pairs: pairs), loss: 0,
                              klTurn1: 0, klTurn2: 0, meanAdvantageTurn1: 0, meanAdvantageTurn2: 0, entropy: 0,
                              gradNorm: 0, learningRate: 0, seconds: 0, rolloutSeconds: 0, tokensPerSecond: 0)
    }

    @Test func bestCheckpointKeepsTheHighestScore() throws {
        let model = try Self.model(seed: 1)
        let weights = try (1...4).map { try Self.model(seed: UInt64($0)).parameters.array }
        let best = BestCheckpoint()
        for (step, score) in [(1, 0.2), (2, 0.5), (3, .nan), (4, 0.5)] as [(Int, Double)] {
            model.parameters.copy(from: FloatBuffer(weights[step - 1]))
            best.observe(score, step: step, model: model)
        }
        #expect(best.bestStep == 2 && best.bestScore == 0.5)
        try best.restore(into: model)
        #expect(model.parameters.array == weights[1])
        #expect(throws: ScoreError.self) {
            try best.restore(into: try Transformer(config: ModelConfig(vocabSize: 40, dim: 8, nLayers: 1, nHeads: 2,
                                                                       nKVHeads: 1, hiddenDim: 8, maxSeqLen: 8), seed: 1))
        }
    }

    @Test func trainingRewardAveragesTheStepsSinceTheLastCheck() throws {
        let model = try Self.model(seed: 1)
        var selector = try CheckpointSelector(selection: .trainingReward, every: 2)
        let rewards: [Float] = [0.9, 0.1, 0.4, 0.4, 1.0]  // means per check: 0.5 (step 2), 0.4 (4), 1.0 (5, last)
        for (i, reward) in rewards.enumerated() {
            model.parameters.pointer[0] = Float(i + 1)
            try selector.record(Self.stats(step: i + 1, reward: reward), model: model, isLast: i == rewards.count - 1)
        }
        #expect(selector.best.bestStep == 5)
        model.parameters.pointer[0] = -1
        let kept = try selector.finish(model)
        #expect(kept == 5 && model.parameters.pointer[0] == 5)
    }

    @Test func validationScoresTheModelAndLastKeepsIt() throws {
        let model = try Self.model(seed: 1)
        var calls = 0
        var selector = try CheckpointSelector(selection: .validation, every: 1) { candidate in
            calls += 1
            return candidate.parameters.pointer[0] == 2 ? 1 : 0
        }
        for step in 1...3 {
            model.parameters.pointer[0] = Float(step)
            try selector.record(Self.stats(step: step, reward: 0), model: model, isLast: step == 3)
        }
        let kept = try selector.finish(model)
        #expect(calls == 3 && kept == 2 && model.parameters.pointer[0] == 2)
        #expect(throws: ScoreError.self) { try CheckpointSelector(selection: .validation, every: 5) }
        #expect(throws: ScoreError.self) { try CheckpointSelector(selection: .trainingReward, every: 0) }
        var last = try CheckpointSelector(selection: .last, every: 1)
        try last.record(Self.stats(step: 1, reward: 1), model: model, isLast: true)
        model.parameters.pointer[0] = 7
        let none = try last.finish(model)
        #expect(none == nil && model.parameters.pointer[0] == 7)
    }
}
