import Foundation
import Testing
@testable import ScoreEngine

/// Batch packing, the cross-entropy helpers and the SFT trainer on a tiny model.
struct SFTTests {
    static let config = ModelConfig(vocabSize: 40, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 64,
                                    maxSeqLen: 32)

    @Test func packsPromptAndCompletionWithNextTokenTargets() throws {
        let examples = [SFTExample(prompt: [1, 2], completion: [3, 4]),
                        SFTExample(prompt: [5], completion: [6, 7, 8, 9])]
        let batch = try SequenceBatch(examples: examples, padID: 0, maxSeqLen: 32)
        #expect(batch.batch == 2 && batch.seqLen == 5)
        #expect(batch.tokens == [1, 2, 3, 4, 0,
                                 5, 6, 7, 8, 9])
        #expect(batch.targets == [-1, 3, 4, -1, -1,
                                  6, 7, 8, 9, -1])
        #expect(batch.lengths == [4, 5])
        #expect(batch.trainedCount == 6 && batch.tokenCount == 9)
        #expect(batch.trainedCount == examples.reduce(0) { $0 + $1.trainedCount })

        // Fixed width; an empty prompt cannot train the first token.
        let fixed = try SequenceBatch(examples: [SFTExample(prompt: [], completion: [7, 8, 9])], padID: 2,
                                      maxSeqLen: 32, seqLen: 6)
        #expect(fixed.tokens == [7, 8, 9, 2, 2, 2])
        #expect(fixed.targets == [8, 9, -1, -1, -1, -1])
        #expect(SFTExample(prompt: [], completion: [7, 8, 9]).trainedCount == 2)
    }

    @Test func packsMultiSegmentEpisodes() throws {
        typealias Segment = SequenceBatch.Segment
        // prompt | attempt 1 | instruction | attempt 2, as a SCoRe episode.
        let episode = [Segment(tokens: [1, 2], trained: false), Segment(tokens: [10, 11], trained: true),
                       Segment(tokens: [3], trained: false), Segment(tokens: [20, 21, 22], trained: true)]
        let batch = try SequenceBatch(sequences: [episode, [Segment(tokens: [1], trained: false)]], padID: 0,
                                      maxSeqLen: 8)
        #expect(batch.seqLen == 8)
        #expect(batch.tokens == [1, 2, 10, 11, 3, 20, 21, 22, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(batch.targets == [-1, 10, 11, -1, 20, 21, 22, -1, -1, -1, -1, -1, -1, -1, -1, -1])
        #expect(batch.targetSegments == [-1, 1, 1, -1, 3, 3, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1])
    }

    @Test func packingRejectsBadInput() throws {
        let long = SFTExample(prompt: Array(repeating: 1, count: 30), completion: [2, 3, 4])
        #expect(throws: ScoreError.self) { try SequenceBatch(examples: [long], padID: 0, maxSeqLen: 32) }
        #expect(throws: ScoreError.self) { try SequenceBatch(examples: [], padID: 0, maxSeqLen: 32) }
        #expect(throws: ScoreError.self) {
            try SequenceBatch(examples: [SFTExample(prompt: [], completion: [])], padID: 0, maxSeqLen: 32)
        }
        #expect(throws: ScoreError.self) {
            try SequenceBatch(examples: [SFTExample(prompt: [1], completion: [2])], padID: 0, maxSeqLen: 32, seqLen: 1)
        }
        #expect(throws: ScoreError.self) {
            try SequenceBatch(examples: [SFTExample(prompt: [1], completion: [-2])], padID: 0, maxSeqLen: 32)
        }
        let model = try Transformer(config: Self.config, seed: 1)
        #expect(throws: ScoreError.self) {
            try SFTTrainer(model: model, examples: [SFTExample(prompt: [1], completion: [40])], options: SFTOptions())
        }
        #expect(throws: ScoreError.self) {
            try SFTTrainer(model: model, examples: [SFTExample(prompt: [1], completion: [])], options: SFTOptions())
        }
        #expect(throws: ScoreError.self) {
            try SFTTrainer(model: model, examples: [SFTExample(prompt: [1], completion: [2])],
                           options: SFTOptions(gradientAccumulation: 0))
        }
    }

    @Test func crossEntropyMeanAndGradient() throws {
        let logProbs: [Float] = [0, -1, -2, 0, -0.5]
        let targets = [-1, 3, 4, -1, 7]
        let (loss, count) = try CrossEntropy.meanLoss(logProbs: logProbs, targets: targets)
        #expect(count == 3 && abs(loss - 3.5 / 3) < 1e-6)
        let (same, gradient) = try CrossEntropy.lossAndGradient(logProbs: logProbs, targets: targets)
        #expect(same == loss)
        let third: Float = -1 / 3
        #expect(gradient == [0, third, third, 0, third])
        #expect(try CrossEntropy.gradient(targets: targets, normalizer: 6) == [0, -1 / 6, -1 / 6, 0, -1 / 6])
        #expect(throws: ScoreError.self) { try CrossEntropy.sum(logProbs: [.nan, 0], targets: [1, -1]) }
        #expect(throws: ScoreError.self) { try CrossEntropy.sum(logProbs: [0], targets: [1, -1]) }
    }

    static let memorise = [
        SFTExample(prompt: [1, 10, 11], completion: [20, 21, 22, 2]),
        SFTExample(prompt: [1, 12, 13], completion: [23, 24, 25, 26, 2]),
        SFTExample(prompt: [1, 14], completion: [27, 28, 2]),
        SFTExample(prompt: [1, 15, 16, 17], completion: [29, 30, 31, 32, 33, 2]),
    ]

    @Test func lossDecreasesWhileMemorising() throws {
        let model = try Transformer(config: Self.config, seed: 3)
        let options = SFTOptions(batchSize: 4, steps: 50, schedule: LearningRateSchedule(
            kind: .cosine, peakLearningRate: 1e-2, warmupSteps: 5, totalSteps: 50), seed: 11, logEvery: 25)
        let trainer = try SFTTrainer(model: model, examples: Self.memorise, options: options)
        var reported = [Int]()
        let history = try trainer.train { reported.append($0.step) }
        #expect(history.count == 50 && trainer.completedSteps == 50)
        #expect(reported == [1, 25, 50])
        let first = history[0], last = history[49]
        #expect(abs(first.loss - log(40)) < 0.5)  // near uniform at initialisation
        #expect(last.loss < 0.1 * first.loss, "loss \(first.loss) → \(last.loss)")
        #expect(first.trainedTokens == 18 && first.tokens == 30)
        #expect(abs(first.learningRate - 2e-3) < 1e-9 && history.allSatisfy { $0.gradNorm.isFinite && $0.gradNorm > 0 })
        #expect(trainer.optimizer.step == 50)
    }

    @Test func accumulationMatchesOneLargeBatch() throws {
        let examples = Self.memorise + [SFTExample(prompt: [1], completion: [34, 2]),
                                        SFTExample(prompt: [1, 18, 19, 9], completion: [35, 36, 37, 38, 39, 3, 2])]
        func trainer(batch: Int, accumulation: Int) throws -> SFTTrainer {
            let model = try Transformer(config: Self.config, seed: 5)
            let options = SFTOptions(batchSize: batch, steps: 3, schedule: .constant(3e-3, totalSteps: 3),
                                     gradientClipNorm: 0.5, gradientAccumulation: accumulation, seed: 2)
            return try SFTTrainer(model: model, examples: examples, options: options)
        }
        let whole = try trainer(batch: 4, accumulation: 1), split = try trainer(batch: 2, accumulation: 2)
        for step in 0..<3 {
            let a = try whole.step(), b = try split.step()
            #expect(abs(a.loss - b.loss) < 1e-5 && abs(a.gradNorm - b.gradNorm) < 1e-4 * a.gradNorm)
            #expect(a.trainedTokens == b.trainedTokens && a.tokens == b.tokens)
            let ga = whole.model.gradients.array, gb = split.model.gradients.array
            let gradientError = zip(ga, gb).map { abs($0 - $1) }.max() ?? 0
            let gradientScale = ga.map { abs($0) }.max() ?? 0
            #expect(gradientError < 1e-4 * gradientScale, "step \(step)")
            let parameterError = zip(whole.model.parameters.array, split.model.parameters.array)
                .map { abs($0 - $1) }.max() ?? 0
            #expect(parameterError < 1e-2 * 3e-3, "step \(step)")  // 1% of one Adam step
        }
        #expect(whole.state == split.state)
    }

    @Test func samplerStateResumesTheSameOrder() throws {
        let options = SFTOptions(batchSize: 3, steps: 4, seed: 9)
        let a = try SFTTrainer(model: try Transformer(config: Self.config, seed: 1), examples: Self.memorise,
                               options: options)
        _ = try a.step()
        let saved = a.state
        _ = try a.step()
        let b = try SFTTrainer(model: try Transformer(config: Self.config, seed: 1), examples: Self.memorise,
                               options: options)
        try b.restore(state: saved)
        #expect(b.completedSteps == 1)
        _ = try b.step()
        #expect(a.state == b.state)
        var broken = saved
        broken.order = [0, 0, 1, 2]
        #expect(throws: ScoreError.self) { try b.restore(state: broken) }
    }
}
