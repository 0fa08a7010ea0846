import Testing
@testable import ScoreEngine

/// Two-attempt rollouts: structure, reproducibility, KV-cache continuation equal to a fresh
/// generation over the whole context, and log-probs equal to the training forward pass.
struct RolloutTests {
    static let tokenizer = ByteTokenizer()
    static let config = ModelConfig(vocabSize: 262, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 48,
                                    maxSeqLen: 96)

    static func model() throws -> Transformer {
        let model = try Transformer(config: config, seed: 4)
        var rng = RandomGenerator(seed: 2)
        for i in 0..<model.parameters.count { model.parameters.pointer[i] += 0.05 * rng.nextNormal() }
        return model
    }

    static func format() throws -> SelfCorrectionFormat {
        try SelfCorrectionFormat(tokenizer: tokenizer, instruction: "Fix it.")
    }

    @Test func episodesAreGroupedReproducibleAndContinueTheCache() throws {
        let model = try Self.model(), format = try Self.format()
        let prompts = [format.promptTokens("1+2="), format.promptTokens("30+45=")]
        let sampled = format.attemptSampling(temperature: 1, maxNewTokens: 6)
        var g1 = RandomGenerator(seed: 9), g2 = RandomGenerator(seed: 9)
        let a = try model.rollout(prompts: prompts, samplesPerPrompt: 3, format: format, turn1: sampled,
                                  turn2: sampled, generator: &g1)
        let b = try model.rollout(prompts: prompts, samplesPerPrompt: 3, format: format, turn1: sampled,
                                  turn2: sampled, generator: &g2)
        #expect(a.map(\.group) == [0, 0, 0, 1, 1, 1])
        #expect(a.map(\.attempt1) == b.map(\.attempt1) && a.map(\.attempt2) == b.map(\.attempt2))
        #expect(Set(a.prefix(3).map(\.attempt1.tokens)).count > 1, "k samples of one prompt should differ")

        // Greedy attempt 2 from the cache equals a fresh greedy generation over the whole context.
        let greedy = format.attemptSampling(temperature: 0, maxNewTokens: 6)
        var g3 = RandomGenerator(seed: 1)
        let episodes = try model.rollout(prompts: prompts, samplesPerPrompt: 1, format: format, turn1: greedy,
                                         turn2: greedy, generator: &g3)
        for episode in episodes {
            let context = episode.prompt + episode.attempt1.tokens + episode.instruction
            let fresh = try model.generate(prompts: [context], options: greedy, tokenizer: Self.tokenizer)[0]
            #expect(fresh.tokens == episode.attempt2?.tokens)
            #expect(episode.instruction.first == (episode.attempt1.tokens.last == 261 ? 259 : 261))
        }
    }

    @Test func sampledLogProbsEqualTheTrainingForward() throws {
        let model = try Self.model(), format = try Self.format()
        var generator = RandomGenerator(seed: 5)
        let options = format.attemptSampling(temperature: 1, maxNewTokens: 5)
        let episodes = try model.rollout(prompts: [format.promptTokens("7+8=")], samplesPerPrompt: 2, format: format,
                                         turn1: options, turn2: options, generator: &generator)
        let batch = try SequenceBatch(sequences: episodes.map(\.segments), padID: 258, maxSeqLen: 96)
        let logProbs = try model.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch,
                                         seqLen: batch.seqLen)
        for (e, episode) in episodes.enumerated() {
            let row = Array(logProbs[(e * batch.seqLen)..<((e + 1) * batch.seqLen)])
            let segments = Array(batch.targetSegments[(e * batch.seqLen)..<((e + 1) * batch.seqLen)])
            let turn1 = zip(row, segments).filter { $0.1 == 1 }.map(\.0)
            let turn2 = zip(row, segments).filter { $0.1 == 3 }.map(\.0)
            for (x, y) in zip(turn1, episode.attempt1.logProbs) { #expect(abs(x - y) < 1e-4) }
            for (x, y) in zip(turn2, episode.attempt2?.logProbs ?? []) { #expect(abs(x - y) < 1e-4) }
            #expect(turn1.count == episode.attempt1.tokens.count && turn2.count == episode.attempt2?.tokens.count)
        }
    }

    @Test func singleAttemptAndBadRequests() throws {
        let model = try Self.model(), format = try Self.format()
        var generator = RandomGenerator(seed: 5)
        let options = format.attemptSampling(temperature: 1, maxNewTokens: 5)
        let single = try model.rollout(prompts: [format.promptTokens("7+8=")], samplesPerPrompt: 2, format: format,
                                       turn1: options, turn2: nil, generator: &generator)
        #expect(single.allSatisfy { $0.attempt2 == nil && $0.instruction.isEmpty && $0.segments.count == 2 })
        #expect(throws: ScoreError.self) {
            try model.rollout(prompts: [[256]], samplesPerPrompt: 0, format: format, turn1: options, turn2: options,
                              generator: &generator)
        }
        let long = format.attemptSampling(temperature: 1, maxNewTokens: 60)
        #expect(throws: ScoreError.self) {
            try model.rollout(prompts: [format.promptTokens("7+8=")], samplesPerPrompt: 1, format: format,
                              turn1: long, turn2: long, generator: &generator)
        }
    }
}
