/// One sampled continuation of a prompt.
public struct Generation: Sendable, Equatable {
    /// Generated token ids, as sampled (a stop token, when one ended generation, is included).
    public var tokens: [Int]
    /// log π(token | prefix) of each generated token under the model's unmodified distribution
    /// (see `Sampler`), over the ids the tokenizer can decode; what a policy-gradient trainer needs.
    public var logProbs: [Float]
    /// Why generation ended.
    public var finishReason: FinishReason
    /// The generated tokens decoded as UTF-8 (invalid bytes replaced), without the stop token
    /// that ended generation, if one did.
    public var text: String
}

extension Transformer {
    /// Samples a continuation for every prompt, all prompts batched (one cache slot each), with a
    /// generator seeded from `options.seed`. Same seed, same output.
    public func generate(prompts: [[Int]], options: SamplingOptions, tokenizer: any Tokenizer) throws -> [Generation] {
        var generator = RandomGenerator(seed: options.seed)
        return try generate(prompts: prompts, options: options, tokenizer: tokenizer, generator: &generator)
    }

    /// Samples a continuation for every prompt, drawing from `generator` (so a caller can carry one
    /// stream of random numbers across calls and checkpoints).
    public func generate(prompts: [[Int]], options: SamplingOptions, tokenizer: any Tokenizer,
                         generator: inout RandomGenerator) throws -> [Generation] {
        try options.validate()
        guard !prompts.isEmpty else { return [] }
        for (i, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw ScoreError.invalidArgument("prompt \(i) is empty (start it with BOS)") }
            guard prompt.count < config.maxSeqLen else {
                throw ScoreError.invalidArgument(
                    "prompt \(i) has \(prompt.count) tokens; the model's context is \(config.maxSeqLen)")
            }
        }
        let longest = prompts.map(\.count).max() ?? 0
        let capacity = min(config.maxSeqLen, longest + max(options.maxNewTokens, 1))
        let cache = try makeCache(slots: prompts.count, capacity: capacity)
        let slots = Array(prompts.indices)
        let logits = try decode(slots: slots, tokens: prompts, cache: cache)
        return try continueGeneration(slots: slots, logits: logits, cache: cache, options: options,
                                      tokenizer: tokenizer, generator: &generator)
    }

    /// Samples continuations of sequences already in `cache` (e.g. a second attempt after the first
    /// attempt and an instruction were appended), starting from `logits` ([slots.count, vocabSize],
    /// the output of the `decode` call that appended their last tokens). The generated tokens are
    /// appended to the cache, except each sequence's final token.
    public func continueGeneration(slots: [Int], logits: [Float], cache: KVCache, options: SamplingOptions,
                                   tokenizer: any Tokenizer, generator: inout RandomGenerator) throws -> [Generation] {
        try options.validate()
        let v = config.vocabSize
        guard logits.count == slots.count * v else {
            throw ScoreError.invalidArgument("expected \(slots.count * v) logits, got \(logits.count)")
        }
        let sampler = try Sampler(options)
        var stops = try slots.map {
            try StopCondition(options: options, tokenizer: tokenizer, promptLength: cache.lengths[$0],
                              maxLength: cache.capacity)
        }
        var results = stops.map {
            Generation(tokens: [], logProbs: [], finishReason: $0.reasonBeforeFirstToken ?? .maxTokens, text: "")
        }
        // Ids the tokenizer cannot decode (a model vocabulary padded past it) are never sampled.
        let decodable = min(v, tokenizer.vocabularySize)
        var rows = logits
        var active = slots.indices.filter { stops[$0].reasonBeforeFirstToken == nil }
        var rowOf = Dictionary(uniqueKeysWithValues: slots.indices.map { ($0, $0) })
        while !active.isEmpty {
            var next = [Int]()
            for entry in active {
                let row = rowOf[entry] ?? 0
                let picked = try rows.withUnsafeMutableBufferPointer { buffer -> (token: Int, logProb: Float) in
                    guard let start = buffer.baseAddress else { throw ScoreError.invalidArgument("no logits") }
                    let base = start + row * v
                    for j in decodable..<v { base[j] = -.infinity }
                    return try sampler.sample(logits: base, count: v, generator: &generator)
                }
                results[entry].tokens.append(picked.token)
                results[entry].logProbs.append(picked.logProb)
                if let reason = try stops[entry].append(picked.token) {
                    results[entry].finishReason = reason
                } else {
                    next.append(entry)
                }
            }
            active = next
            guard !active.isEmpty else { break }
            rows = try decode(slots: active.map { slots[$0] }, tokens: active.map { [results[$0].tokens.last ?? 0] },
                              cache: cache)
            rowOf = Dictionary(uniqueKeysWithValues: active.enumerated().map { ($1, $0) })
        }
        for i in results.indices {
            let shown = results[i].finishReason == .stopToken ? results[i].tokens.dropLast() : results[i].tokens[...]
            results[i].text = try tokenizer.decode(Array(shown))
        }
        return results
    }
}
