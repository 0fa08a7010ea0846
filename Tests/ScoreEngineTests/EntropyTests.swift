import Foundation
import Testing
@testable import ScoreEngine

/// Per-position entropies from the saved logits.
struct EntropyTests {
    @Test func matchesADirectComputationAndLogVForUniformLogits() throws {
        let config = ModelConfig(vocabSize: 17, dim: 8, nLayers: 1, nHeads: 2, nKVHeads: 1, hiddenDim: 12,
                                 maxSeqLen: 8, tieEmbeddings: false)
        let model = try Transformer(config: config, seed: 2, threads: 2)
        let tokens = [1, 2, 3, 4, 5, 6], targets = [2, 3, 4, 5, 6, -1]
        _ = try model.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 3, allLogits: true)
        let mask = [true, false, true, true, true, false]
        let entropies = try model.lastEntropies(mask: mask)
        let logits = model.lastLogits ?? []
        for (i, on) in mask.enumerated() {
            guard on else { #expect(entropies[i] == 0); continue }
            let row = logits[(i * 17)..<((i + 1) * 17)].map(Double.init)
            let m = row.max() ?? 0
            let z = row.reduce(0) { $0 + exp($1 - m) }
            let h = -row.reduce(0) { $0 + exp($1 - m) / z * (($1 - m) - log(z)) }
            #expect(abs(Double(entropies[i]) - h) < 1e-4)
        }
        // Zero output weights: uniform next-token distribution, entropy log V.
        if let head = model.layout.tensor(named: "lm_head.weight") {
            (model.parameters.pointer + head.offset).update(repeating: 0, count: head.count)
        }
        _ = try model.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 3)
        #expect(model.lastLogits == nil, "logits were kept at a position without a target")
        #expect(throws: ScoreError.self) { try model.lastEntropies(mask: Array(repeating: true, count: 6)) }
        _ = try model.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 3, allLogits: true)
        let uniform = try model.lastEntropies(mask: Array(repeating: true, count: 6))
        #expect(uniform.allSatisfy { abs($0 - Float(log(17.0))) < 1e-5 })
        try model.backward(dLogProbs: Array(repeating: 0, count: 6))
        #expect(throws: ScoreError.self) { try model.lastEntropies(mask: Array(repeating: true, count: 6)) }
    }
}
