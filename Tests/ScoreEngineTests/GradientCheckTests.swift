import Foundation
import Testing
@testable import ScoreEngine

/// Finite-difference checks of the backward pass: for every parameter tensor, the analytic
/// directional derivative along a random direction must match a central difference.
struct GradientCheckTests {
    static let configs: [(String, ModelConfig)] = [
        ("gqa+bias+untied", ModelConfig(vocabSize: 23, dim: 16, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 24,
                                        maxSeqLen: 16, ropeTheta: 100, tieEmbeddings: false, qkvBias: true)),
        ("mha+tied", ModelConfig(vocabSize: 19, dim: 12, nLayers: 1, nHeads: 2, nKVHeads: 2, hiddenDim: 20,
                                 maxSeqLen: 16, tieEmbeddings: true)),
    ]

    /// L(θ) = Σ cᵢ · log π(targetᵢ), accumulated in Double.
    static func objective(_ model: Transformer, tokens: [Int], targets: [Int], weights: [Float],
                          batch: Int, seqLen: Int, temperature: Float = 1) throws -> Double {
        let logProbs = try model.forward(tokens: tokens, targets: targets, batch: batch, seqLen: seqLen,
                                         temperature: temperature)
        var total = 0.0
        for i in logProbs.indices { total += Double(weights[i]) * Double(logProbs[i]) }
        return total
    }

    /// With two threads the batch of two runs as two parallel shards whose gradients are summed;
    /// sequences of 70 tokens cross the attention's 64-row block boundary. A temperature other than
    /// 1 differentiates log softmax(logits / T).
    @Test(arguments: [(0, 1, 7, 1), (0, 2, 7, 1), (1, 1, 7, 1), (1, 2, 7, 1), (0, 1, 70, 1), (0, 2, 7, 0.5), (1, 1, 7, 1.7)]
          as [(Int, Int, Int, Float)])
    func everyTensorMatchesCentralDifferences(configIndex: Int, threads: Int, seqLen: Int, temperature: Float) throws {
        var (_, config) = Self.configs[configIndex]
        config.maxSeqLen = max(config.maxSeqLen, seqLen)
        let model = try Transformer(config: config, seed: 7, threads: threads)
        var rng = RandomGenerator(seed: 99)
        // Larger weights than the 0.02 init make every path (attention, norms) matter.
        for i in 0..<model.parameters.count { model.parameters.pointer[i] += 0.3 * rng.nextNormal() }
        let batch = 2
        let tokens = (0..<batch * seqLen).map { _ in rng.nextIndex(below: config.vocabSize) }
        var targets = (0..<batch * seqLen).map { _ in rng.nextIndex(below: config.vocabSize) }
        targets[0] = -1
        targets[seqLen + 5] = -1
        targets[seqLen - 1] = -1
        let weights = targets.map { $0 < 0 ? Float(0) : rng.nextNormal() }

        model.zeroGradients()
        _ = try model.forward(tokens: tokens, targets: targets, batch: batch, seqLen: seqLen, temperature: temperature)
        try model.backward(dLogProbs: weights)
        let analytic = model.gradients.array

        for tensor in model.layout.tensors {
            var direction = (0..<tensor.count).map { _ in rng.nextNormal() }
            let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
            direction = direction.map { $0 / norm }
            var expected = 0.0
            for i in 0..<tensor.count { expected += Double(analytic[tensor.offset + i]) * Double(direction[i]) }

            let epsilon: Float = 4e-3
            let base = model.parameters.pointer + tensor.offset
            let saved = Array(UnsafeBufferPointer(start: base, count: tensor.count))
            for i in 0..<tensor.count { base[i] = saved[i] + epsilon * direction[i] }
            let plus = try Self.objective(model, tokens: tokens, targets: targets, weights: weights, batch: batch,
                                          seqLen: seqLen, temperature: temperature)
            for i in 0..<tensor.count { base[i] = saved[i] - epsilon * direction[i] }
            let minus = try Self.objective(model, tokens: tokens, targets: targets, weights: weights, batch: batch,
                                           seqLen: seqLen, temperature: temperature)
            for i in 0..<tensor.count { base[i] = saved[i] }
            let numeric = (plus - minus) / (2 * Double(epsilon))

            let error = abs(numeric - expected)
            #expect(error <= 2e-3 + 1e-2 * abs(expected),
                    "\(tensor.name): analytic \(expected) vs numeric \(numeric)")
            #expect(abs(expected) > 1e-4, "\(tensor.name): gradient unexpectedly zero")
        }
    }

    /// log-probabilities at temperature T are log softmax(z / T) of the untempered pass's logits z.
    @Test func temperedLogProbsAreThoseOfTheScaledLogits() throws {
        let model = try Transformer(config: Self.configs[0].1, seed: 4)
        let tokens = [1, 5, 9, 2, 7], targets = [5, 9, 2, 7, 3], n = tokens.count, v = model.config.vocabSize
        _ = try model.forward(tokens: tokens, targets: targets, batch: 1, seqLen: n, allLogits: true)
        let logits = try #require(model.lastLogits)
        for temperature: Float in [0.3, 1, 2.5] {
            let tempered = try model.forward(tokens: tokens, targets: targets, batch: 1, seqLen: n, temperature: temperature)
            for r in 0..<n {
                let row = logits[(r * v)..<((r + 1) * v)].map { Double($0) / Double(temperature) }
                let top = row.max() ?? 0
                let logZ = top + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) })
                let expected = row[targets[r]] - logZ
                #expect(abs(Double(tempered[r]) - expected) <= 1e-5 * max(1, abs(expected)),
                        "T = \(temperature), position \(r): \(tempered[r]) vs \(expected)")
            }
        }
        for bad: Float in [0, -1, .nan, .infinity] {
            #expect(throws: ScoreError.self) {
                try model.forward(tokens: tokens, targets: targets, batch: 1, seqLen: n, temperature: bad)
            }
        }
    }

    @Test func gradientsAccumulateAcrossBackwardCalls() throws {
        let (_, config) = Self.configs[1]
        let model = try Transformer(config: config, seed: 3)
        let tokens = [1, 2, 3, 4], targets = [2, 3, 4, 5], g: [Float] = [-1, -1, -1, -1]
        model.zeroGradients()
        _ = try model.forward(tokens: tokens, targets: targets, batch: 1, seqLen: 4)
        try model.backward(dLogProbs: g)
        let once = model.gradients.array
        _ = try model.forward(tokens: tokens, targets: targets, batch: 1, seqLen: 4)
        try model.backward(dLogProbs: g)
        let twice = model.gradients.array
        for i in once.indices { #expect(abs(twice[i] - 2 * once[i]) <= 1e-6 + 1e-5 * abs(once[i])) }
    }

    @Test func threadedPassesMatchSingleThreaded() throws {
        let config = ModelConfig(vocabSize: 50, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 64, maxSeqLen: 64)
        let single = try Transformer(config: config, seed: 5, threads: 1)
        let double = try Transformer(config: config, seed: 5, threads: 2)
        var rng = RandomGenerator(seed: 1)
        let tokens = (0..<4 * 40).map { _ in rng.nextIndex(below: 50) }
        let targets = (0..<4 * 40).map { _ in rng.nextIndex(below: 50) }
        let g = [Float](repeating: -0.01, count: tokens.count)
        for model in [single, double] {
            model.zeroGradients()
            _ = try model.forward(tokens: tokens, targets: targets, batch: 4, seqLen: 40)
            try model.backward(dLogProbs: g)
        }
        let a = single.gradients.array, b = double.gradients.array
        for i in a.indices { #expect(abs(a[i] - b[i]) <= 1e-6 + 1e-4 * abs(a[i])) }
    }

    @Test func rejectsBadInput() throws {
        let model = try Transformer(config: Self.configs[1].1, seed: 1)
        #expect(throws: ScoreError.self) { try model.forward(tokens: [1, 2], targets: [1], batch: 1, seqLen: 2) }
        #expect(throws: ScoreError.self) { try model.forward(tokens: [1, 99], targets: [1, 1], batch: 1, seqLen: 2) }
        #expect(throws: ScoreError.self) { try model.forward(tokens: [], targets: [], batch: 0, seqLen: 0) }
        #expect(throws: ScoreError.self) { try model.backward(dLogProbs: [1]) }
        _ = try model.forward(tokens: [1, 2], targets: [2, -1], batch: 1, seqLen: 2)
        #expect(throws: ScoreError.self) { try model.backward(dLogProbs: [.nan, 0]) }
        #expect(throws: ScoreError.self) { try model.backward(dLogProbs: [0, 1]) }
    }
}

/// The vectorised exp against the C library's, over the whole range and its edges.
struct VectorMathTests {
    @Test func expMatchesLibmWithinThreeUlpsRelative() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88.2 {
            var v = VectorMath.Vector(repeating: 0)
            for j in 0..<8 { v[j] = x + Float(j) * 0.0137 }
            let y = VectorMath.exp(v)
            for j in 0..<8 {
                let exact = Float(Foundation.exp(Double(v[j])))
                worst = max(worst, abs(y[j] - exact) / exact)
            }
            x += 0.0913
        }
        #expect(worst < 5e-7, "worst relative error \(worst)")
        let edges = VectorMath.exp(VectorMath.Vector(-.infinity, -100, 0, 100, .infinity, .nan, -87.5, 1))
        #expect(edges[0] == 0 && edges[1] == 0 && edges[2] == 1 && edges[3] == .infinity && edges[4] == .infinity)
        #expect(edges[5].isNaN && edges[6] == 0 && abs(edges[7] - 2.7182817) < 1e-6)
    }
}
