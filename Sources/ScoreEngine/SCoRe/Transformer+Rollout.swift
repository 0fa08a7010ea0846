/// Two-attempt rollouts over the KV cache: each prompt is prefilled once and copied to its k
/// sample slots; attempt 2 continues from the cache of attempt 1 with only the last token of
/// attempt 1 and the instruction appended, so no prefix is recomputed.
extension Transformer {
    /// Samples `samplesPerPrompt` episodes per prompt. `turn2 == nil` gives single-attempt episodes.
    /// Episodes come out grouped by prompt: prompt p's samples are p·k ..< (p+1)·k.
    public func rollout(
        prompts: [[Int]], samplesPerPrompt k: Int, format: SelfCorrectionFormat,
        turn1: SamplingOptions, turn2: SamplingOptions?, generator: inout RandomGenerator
    ) throws -> [Episode] {
        guard k >= 1 else { throw ScoreError.invalidArgument("samples per prompt must be at least 1 (got \(k))") }
        guard !prompts.isEmpty else { return [] }
        guard turn1.maxNewTokens >= 1, (turn2?.maxNewTokens ?? 1) >= 1 else {
            throw ScoreError.invalidArgument("each attempt needs maxNewTokens >= 1")
        }
        if let empty = prompts.firstIndex(where: \.isEmpty) {
            throw ScoreError.invalidArgument("prompt \(empty) is empty")
        }
        let longest = prompts.map(\.count).max() ?? 0
        let instructionLength = format.instructionTokens(after: []).count
        let needed = longest + turn1.maxNewTokens + (turn2.map { instructionLength + $0.maxNewTokens } ?? 0)
        guard needed <= config.maxSeqLen else {
            throw ScoreError.invalidArgument(
                "an episode may need \(needed) tokens (prompt \(longest) + attempts + instruction), "
                + "more than the model's context of \(config.maxSeqLen)")
        }
        let cache = try makeCache(slots: prompts.count * k, capacity: needed)
        let v = config.vocabSize
        let prefill = try decode(slots: prompts.indices.map { $0 * k }, tokens: prompts, cache: cache)
        var logits = [Float]()
        logits.reserveCapacity(prompts.count * k * v)
        for p in prompts.indices {
            for sample in 0..<k {
                if sample > 0 { try cache.copySlot(p * k, to: p * k + sample) }
                logits += prefill[(p * v)..<((p + 1) * v)]
            }
        }
        let slots = Array(0..<(prompts.count * k))
        let first = try continueGeneration(slots: slots, logits: logits, cache: cache, options: turn1,
                                           tokenizer: format.tokenizer, generator: &generator)
        var episodes = slots.map {
            Episode(group: $0 / k, prompt: prompts[$0 / k], attempt1: first[$0], instruction: [], attempt2: nil)
        }
        guard let turn2 else { return episodes }
        var appended = [[Int]]()
        for slot in slots {
            episodes[slot].instruction = format.instructionTokens(after: first[slot].tokens)
            // The last sampled token of attempt 1 is not in the cache yet.
            guard let last = first[slot].tokens.last else {
                throw ScoreError.invalidArgument("attempt 1 of episode \(slot) produced no token")
            }
            appended.append([last] + episodes[slot].instruction)
        }
        let second = try decode(slots: slots, tokens: appended, cache: cache)
        let attempts = try continueGeneration(slots: slots, logits: second, cache: cache, options: turn2,
                                              tokenizer: format.tokenizer, generator: &generator)
        for slot in slots { episodes[slot].attempt2 = attempts[slot] }
        return episodes
    }
}
