import Testing
@testable import ScoreEngine

/// Batched generation over the KV cache: reproducible, equal to step-by-step full forwards,
/// and honouring stop conditions.
struct GenerationTests {
    static let config = ModelConfig(vocabSize: 262, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 48,
                                    maxSeqLen: 48)
    static let tokenizer = ByteTokenizer()

    static func model() throws -> Transformer {
        let model = try Transformer(config: config, seed: 21)
        var rng = RandomGenerator(seed: 8)
        for i in 0..<model.parameters.count { model.parameters.pointer[i] += 0.05 * rng.nextNormal() }
        return model
    }

    @Test func sameSeedSameOutputAndBatchingDoesNotChangeGreedy() throws {
        let model = try Self.model()
        let prompts = [[256, 65, 66], [256, 49, 43, 50, 61, 51, 52], [256]]
        var options = SamplingOptions(temperature: 1, maxNewTokens: 12, seed: 5)
        let a = try model.generate(prompts: prompts, options: options, tokenizer: Self.tokenizer)
        let b = try model.generate(prompts: prompts, options: options, tokenizer: Self.tokenizer)
        #expect(a == b)
        options.seed = 6
        let c = try model.generate(prompts: prompts, options: options, tokenizer: Self.tokenizer)
        #expect(a != c)

        let greedy = SamplingOptions.greedy
        let batched = try model.generate(prompts: prompts, options: greedy, tokenizer: Self.tokenizer)
        for (i, prompt) in prompts.enumerated() {
            let alone = try model.generate(prompts: [prompt], options: greedy, tokenizer: Self.tokenizer)
            #expect(alone[0].tokens == batched[i].tokens, "prompt \(i)")
        }
    }

    @Test func greedyTokensAndLogProbsMatchFullForward() throws {
        let model = try Self.model()
        let prompt = [256, 55, 56, 57]
        var options = SamplingOptions.greedy
        options.maxNewTokens = 10
        let result = try model.generate(prompts: [prompt], options: options, tokenizer: Self.tokenizer)[0]
        #expect(result.tokens.count == 10 && result.finishReason == .maxTokens)
        let sequence = prompt + result.tokens
        let n = sequence.count - 1
        let logProbs = try model.forward(tokens: Array(sequence.prefix(n)), targets: Array(sequence.dropFirst()),
                                         batch: 1, seqLen: n)
        let v = Self.config.vocabSize
        let logits = model.lastLogits ?? []
        for (i, token) in result.tokens.enumerated() {
            let position = prompt.count - 1 + i
            let row = logits[position * v..<(position + 1) * v]
            #expect(row.firstIndex(of: row.max() ?? 0) == position * v + token, "step \(i) is not the argmax")
            #expect(abs(logProbs[position] - result.logProbs[i]) < 1e-4, "step \(i) log-prob")
        }
    }

    @Test func stopTokenAndContextLimit() throws {
        let model = try Self.model()
        var options = SamplingOptions.greedy
        options.maxNewTokens = 20
        let free = try model.generate(prompts: [[256, 70]], options: options, tokenizer: Self.tokenizer)[0]
        options.stopTokenIds = [free.tokens[3]]
        let stopped = try model.generate(prompts: [[256, 70]], options: options, tokenizer: Self.tokenizer)[0]
        let firstStop = free.tokens.firstIndex(of: free.tokens[3]) ?? 3
        #expect(stopped.finishReason == .stopToken && stopped.tokens == Array(free.tokens.prefix(firstStop + 1)))

        options.maxNewTokens = 100
        options.stopTokenIds = []
        let long = try model.generate(prompts: [Array(repeating: 65, count: 40)], options: options,
                                      tokenizer: Self.tokenizer)[0]
        #expect(long.finishReason == .maxLength && long.tokens.count == 8)
        #expect(long.tokens.allSatisfy { $0 < ByteTokenizer.vocabularySize })
    }

    @Test func rejectsBadPrompts() throws {
        let model = try Self.model()
        #expect(throws: ScoreError.self) {
            try model.generate(prompts: [[]], options: .greedy, tokenizer: Self.tokenizer)
        }
        #expect(throws: ScoreError.self) {
            try model.generate(prompts: [[999]], options: .greedy, tokenizer: Self.tokenizer)
        }
        #expect(throws: ScoreError.self) {
            try model.generate(prompts: [Array(repeating: 1, count: 48)], options: .greedy, tokenizer: Self.tokenizer)
        }
        #expect(try model.generate(prompts: [], options: .greedy, tokenizer: Self.tokenizer).isEmpty)
    }
}
