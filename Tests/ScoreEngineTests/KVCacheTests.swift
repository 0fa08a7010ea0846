import Testing
@testable import ScoreEngine

/// Cached, incremental decoding must give the logits a full forward pass gives.
struct KVCacheTests {
    static let config = ModelConfig(vocabSize: 31, dim: 24, nLayers: 2, nHeads: 6, nKVHeads: 2, hiddenDim: 40,
                                    maxSeqLen: 96, ropeTheta: 1000, tieEmbeddings: false, qkvBias: true)

    /// Logits of every position of one sequence from the training forward pass.
    static func fullLogits(_ model: Transformer, _ tokens: [Int]) throws -> [[Float]] {
        _ = try model.forward(tokens: tokens, targets: tokens.map { _ in -1 }, batch: 1, seqLen: tokens.count)
        let flat = model.lastLogits ?? []
        let v = model.config.vocabSize
        return (0..<tokens.count).map { Array(flat[$0 * v..<($0 + 1) * v]) }
    }

    static func expectClose(_ a: ArraySlice<Float>, _ b: [Float], _ label: String) {
        var worst: Float = 0
        for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / max(1, abs(y))) }
        #expect(worst < 1e-4, "\(label): max relative difference \(worst)")
    }

    @Test(arguments: [1, 2])
    func batchedPrefillAndDecodeMatchFullForward(threads: Int) throws {
        let model = try Transformer(config: Self.config, seed: 11, threads: threads)
        var rng = RandomGenerator(seed: 4)
        for i in 0..<model.parameters.count { model.parameters.pointer[i] += 0.2 * rng.nextNormal() }
        let lengths = [3, 9, 1], total = 80  // past one attention block (64 rows)
        let sequences = lengths.map { _ in (0..<total).map { _ in rng.nextIndex(below: Self.config.vocabSize) } }
        let expected = try sequences.map { try Self.fullLogits(model, $0) }
        let v = Self.config.vocabSize

        let cache = try model.makeCache(slots: 3, capacity: total)
        let prefill = try model.decode(slots: [0, 1, 2], tokens: zip(sequences, lengths).map { Array($0.prefix($1)) },
                                       cache: cache)
        for s in 0..<3 {
            Self.expectClose(prefill[s * v..<(s + 1) * v], expected[s][lengths[s] - 1], "prefill \(s)")
        }
        // Decode one token at a time, slots in a shuffled order, each at its own position.
        var positions = lengths
        while positions.contains(where: { $0 < total }) {
            let active = [2, 0, 1].filter { positions[$0] < total }
            let logits = try model.decode(slots: active, tokens: active.map { [sequences[$0][positions[$0]]] },
                                          cache: cache)
            for (entry, s) in active.enumerated() {
                Self.expectClose(logits[entry * v..<(entry + 1) * v], expected[s][positions[s]], "slot \(s) at \(positions[s])")
                positions[s] += 1
            }
        }
        #expect(cache.lengths == [total, total, total])
    }

    @Test func continuationChunkAndSlotCopy() throws {
        let model = try Transformer(config: Self.config, seed: 2)
        let sequence = [1, 5, 7, 2, 9, 4, 4, 8, 3, 6]
        let expected = try Self.fullLogits(model, sequence)
        let v = Self.config.vocabSize
        let cache = try model.makeCache(slots: 2)
        _ = try model.decode(slots: [0], tokens: [Array(sequence[0..<4])], cache: cache)
        try cache.copySlot(0, to: 1)
        let chunk = try model.decode(slots: [1], tokens: [Array(sequence[4..<10])], cache: cache)
        Self.expectClose(chunk[0..<v], expected[9], "continued chunk")
        try cache.truncate(slot: 1, to: 5)
        let again = try model.decode(slots: [1], tokens: [[sequence[5]]], cache: cache)
        Self.expectClose(again[0..<v], expected[5], "after truncate")
    }

    @Test func rejectsBadRequests() throws {
        let model = try Transformer(config: Self.config, seed: 2)
        let cache = try model.makeCache(slots: 2, capacity: 4)
        #expect(throws: ScoreError.self) { try model.decode(slots: [0, 0], tokens: [[1], [2]], cache: cache) }
        #expect(throws: ScoreError.self) { try model.decode(slots: [2], tokens: [[1]], cache: cache) }
        #expect(throws: ScoreError.self) { try model.decode(slots: [0], tokens: [[]], cache: cache) }
        #expect(throws: ScoreError.self) { try model.decode(slots: [0], tokens: [[1, 2, 3, 4, 5]], cache: cache) }
        #expect(throws: ScoreError.self) { try model.decode(slots: [0], tokens: [[-1]], cache: cache) }
        #expect(throws: ScoreError.self) { try model.makeCache(slots: 0) }
        #expect(throws: ScoreError.self) { try model.makeCache(slots: 1, capacity: 97) }
        #expect(cache.lengths == [0, 0])
    }
}
