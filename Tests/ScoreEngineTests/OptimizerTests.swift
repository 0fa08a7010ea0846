import Foundation
import Testing
@testable import ScoreEngine

/// AdamW, gradient clipping and the learning-rate schedule against hand computations.
struct OptimizerTests {
    /// torch.optim.AdamW's update, in Double, for comparison.
    private func referenceAdamW(parameters: [Double], gradients: [[Double]], learningRates: [Double],
                                decayed: Set<Int>, beta1: Double, beta2: Double, epsilon: Double,
                                weightDecay: Double) -> [Double] {
        var p = parameters
        var m = [Double](repeating: 0, count: p.count), v = m
        for (index, g) in gradients.enumerated() {
            let t = Double(index + 1), lr = learningRates[index]
            for i in p.indices {
                if decayed.contains(i) { p[i] *= 1 - lr * weightDecay }
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                let mHat = m[i] / (1 - pow(beta1, t))
                let denominator = (v[i] / (1 - pow(beta2, t))).squareRoot() + epsilon
                p[i] -= lr * mHat / denominator
            }
        }
        return p
    }

    @Test func adamWMatchesHandComputationWithDecayAndBiasCorrection() throws {
        let initial: [Float] = [1.0, -2.0, 0.5, 3.0, -0.25]
        let steps: [[Float]] = [[0.1, -0.2, 0.3, 0.0, 2.0], [-0.05, 0.4, 0.1, 1e-3, -1.0], [0.2, 0.0, -0.3, -0.5, 0.5]]
        let rates: [Float] = [0.1, 0.05, 0.02]
        let options = AdamWOptions(learningRate: 0.1, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        let parameters = FloatBuffer(initial), gradients = FloatBuffer(count: initial.count)
        let optimizer = try AdamW(parameters: parameters, gradients: gradients, decayedRanges: [0..<2, 4..<5],
                                  options: options)
        #expect(optimizer.decayedCount == 3)
        for (index, g) in steps.enumerated() {
            for i in g.indices { gradients.pointer[i] = g[i] }
            try optimizer.step(learningRate: rates[index])
            let expected = referenceAdamW(
                parameters: initial.map(Double.init), gradients: steps[...index].map { $0.map(Double.init) },
                learningRates: rates[...index].map(Double.init), decayed: [0, 1, 4], beta1: 0.9, beta2: 0.95,
                epsilon: 1e-8, weightDecay: 0.1)
            for i in initial.indices {
                #expect(abs(Double(parameters.pointer[i]) - expected[i]) < 1e-6, "step \(index + 1) element \(i)")
            }
        }
        #expect(optimizer.step == 3)
        // First step is ±lr per element (bias correction makes m̂/√v̂ = sign(g)), plus decay.
        let first = referenceAdamW(parameters: [1], gradients: [[0.1]], learningRates: [0.1], decayed: [0],
                                   beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        #expect(abs(first[0] - (1 * (1 - 0.01) - 0.1)) < 1e-6)
    }

    @Test func adamWThreadedUpdateMatchesSerial() throws {
        let count = 70_001
        var generator = RandomGenerator(seed: 3)
        let initial = (0..<count).map { _ in generator.nextNormal() }
        let grads = (0..<count).map { _ in generator.nextNormal() }
        func run(threads: Int) throws -> [Float] {
            let p = FloatBuffer(initial), g = FloatBuffer(grads)
            let optimizer = try AdamW(parameters: p, gradients: g, decayedRanges: [10..<30_000, 40_000..<70_000],
                                      options: AdamWOptions(weightDecay: 0.1), threads: threads)
            try optimizer.step(learningRate: 0.01)
            try optimizer.step(learningRate: 0.02)
            return p.array
        }
        #expect(try run(threads: 2) == run(threads: 1))
    }

    @Test func adamWRestoreContinuesExactly() throws {
        let g: [Float] = [0.3, -0.1, 0.7]
        func run(_ split: Bool) throws -> [Float] {
            let p = FloatBuffer([1, 2, 3]), grads = FloatBuffer(g)
            var optimizer = try AdamW(parameters: p, gradients: grads, decayedRanges: [0..<3],
                                      options: AdamWOptions(weightDecay: 0.01))
            try optimizer.step(learningRate: 0.01)
            if split {
                let saved = (optimizer.step, optimizer.firstMoment.array, optimizer.secondMoment.array)
                optimizer = try AdamW(parameters: p, gradients: grads, decayedRanges: [0..<3],
                                      options: AdamWOptions(weightDecay: 0.01))
                try optimizer.restore(step: saved.0, firstMoment: saved.1, secondMoment: saved.2)
            }
            try optimizer.step(learningRate: 0.01)
            return p.array
        }
        #expect(try run(true) == run(false))
        let optimizer = try AdamW(parameters: FloatBuffer(count: 3), gradients: FloatBuffer(count: 3), decayedRanges: [])
        #expect(throws: ScoreError.self) { try optimizer.restore(step: 1, firstMoment: [0, 0], secondMoment: [0, 0, 0]) }
        #expect(throws: ScoreError.self) { try optimizer.restore(step: 1, firstMoment: [0, 0, 0], secondMoment: [0, -1, 0]) }
        #expect(throws: ScoreError.self) { try optimizer.restore(step: -1, firstMoment: [0, 0, 0], secondMoment: [0, 0, 0]) }
        #expect(throws: ScoreError.self) {
            try AdamW(parameters: FloatBuffer(count: 3), gradients: FloatBuffer(count: 3), decayedRanges: [0..<2, 1..<3])
        }
        #expect(throws: ScoreError.self) { try optimizer.step(learningRate: .nan) }
        #expect(throws: ScoreError.self) { try AdamWOptions(beta2: 1).validate() }
    }

    @Test func weightDecaySkipsNormsAndBiases() throws {
        let config = ModelConfig(vocabSize: 40, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 64,
                                 maxSeqLen: 32, qkvBias: true)
        let model = try Transformer(config: config, seed: 7)
        let before = model.parameters.array
        let optimizer = try AdamW(model: model, options: AdamWOptions(weightDecay: 0.5))
        try optimizer.step(learningRate: 0.1)  // zero gradients: only the decay acts
        let after = model.parameters.array
        var decayed = 0
        for tensor in model.layout.tensors {
            let factor: Float = tensor.shape.count >= 2 ? 0.95 : 1
            if tensor.shape.count >= 2 { decayed += tensor.count }
            for i in tensor.offset..<(tensor.offset + tensor.count) {
                #expect(abs(after[i] - before[i] * factor) <= 1e-7, "\(tensor.name)")
            }
        }
        #expect(optimizer.decayedCount == decayed)
        #expect(model.layout.tensors.contains { $0.name.hasSuffix(".bias") })
    }

    @Test func scheduleValuesAtKeySteps() throws {
        let cosine = LearningRateSchedule(kind: .cosine, peakLearningRate: 1e-3, warmupSteps: 10, totalSteps: 110)
        try cosine.validate()
        #expect(abs(cosine.minLearningRate - 1e-4) < 1e-10)
        let expectations: [(Int, Float)] = [(0, 1e-4), (4, 5e-4), (9, 1e-3), (10, 1e-3), (60, 5.5e-4),
                                            (110, 1e-4), (500, 1e-4)]
        for (step, value) in expectations {
            #expect(abs(cosine.learningRate(at: step) - value) < 1e-9, "step \(step)")
        }
        #expect(cosine.learningRate(at: 35) > cosine.learningRate(at: 36))
        let constant = LearningRateSchedule(kind: .constant, peakLearningRate: 2e-3, warmupSteps: 4, totalSteps: 100)
        #expect(constant.learningRate(at: 0) == 5e-4)
        #expect(constant.learningRate(at: 3) == 2e-3)
        #expect(constant.learningRate(at: 99) == 2e-3)
        #expect(LearningRateSchedule.constant(3e-4).learningRate(at: 0) == 3e-4)
        let noWarmup = LearningRateSchedule(peakLearningRate: 1, totalSteps: 2, minLearningRate: 0)
        #expect(noWarmup.learningRate(at: 0) == 1 && abs(noWarmup.learningRate(at: 1) - 0.5) < 1e-7)

        #expect(throws: ScoreError.self) { try LearningRateSchedule(peakLearningRate: 1, warmupSteps: 5, totalSteps: 4).validate() }
        #expect(throws: ScoreError.self) { try LearningRateSchedule(peakLearningRate: 1, totalSteps: 4, minLearningRate: 2).validate() }
        #expect(throws: ScoreError.self) { try LearningRateSchedule(peakLearningRate: .nan, totalSteps: 4).validate() }
        let decoded = try JSONDecoder().decode(
            LearningRateSchedule.self, from: Data(#"{"peakLearningRate": 0.01, "totalSteps": 50}"#.utf8))
        #expect(decoded == LearningRateSchedule(kind: .cosine, peakLearningRate: 0.01, totalSteps: 50))
        let roundTrip = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(constant))
        #expect(roundTrip == constant)
    }

    @Test func clippingScalesToMaxNormAndReportsPreClipNorm() throws {
        let gradients = FloatBuffer([3, 0, -4])
        let norm = try GradientClipping.clip(gradients, maxNorm: 1)
        #expect(norm == 5)
        #expect(abs(gradients.pointer[0] - 0.6) < 1e-6 && gradients.pointer[1] == 0 && abs(gradients.pointer[2] + 0.8) < 1e-6)
        #expect(abs(GradientClipping.globalNorm(gradients) - 1) < 1e-6)

        let small = FloatBuffer([0.3, 0.4])
        #expect(try GradientClipping.clip(small, maxNorm: 1) == 0.5)
        #expect(small.array == [0.3, 0.4])
        #expect(try GradientClipping.clip(small, maxNorm: .infinity) == 0.5)

        // A buffer big enough to split across threads gives the serial Double sum.
        let count = 100_003
        let big = FloatBuffer((0..<count).map { Float(($0 % 17) - 8) * 0.01 })
        var expected: Double = 0
        for i in 0..<count { expected += Double(big.pointer[i]) * Double(big.pointer[i]) }
        #expect(abs(GradientClipping.globalNorm(big, threads: 2) - expected.squareRoot()) < 1e-9)
        #expect(throws: ScoreError.self) { try GradientClipping.clip(small, maxNorm: 0) }
    }

    @Test func nonFiniteGradientThrowsAndChangesNothing() throws {
        for bad in [Float.nan, .infinity, -.infinity] {
            let gradients = FloatBuffer([1e3, bad, 2])
            let error = #expect(throws: ScoreError.self) { try GradientClipping.clip(gradients, maxNorm: 1) }
            guard case .nonFinite? = error else {
                Issue.record("expected a non-finite error for \(bad), got \(String(describing: error))")
                continue
            }
            #expect(gradients.pointer[0] == 1e3 && gradients.pointer[2] == 2)
        }
        let huge = FloatBuffer([3e38, 3e38])  // finite values whose norm overflows Float
        #expect(throws: ScoreError.self) { try GradientClipping.clip(huge, maxNorm: 1) }
    }
}
