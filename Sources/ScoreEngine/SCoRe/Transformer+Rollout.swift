/// Two-attempt rollouts over the KV cache: each prompt is prefilled once and copied to its k
/// sample slots; attempt 2 continues from the cache of attempt 1 with only the last token of
/// attempt 1 and the instruction appended, so no prefix is recomputed.
extension Transformer {
    /// Samples `samplesPerPrompt` first attempts per prompt and `secondAttempts` second attempts of
    /// each; with `attempts` > 2 each episode goes on to attempt 3, 4, … (each after the instruction
    /// again, sampled with `turn2`). `turn2 == nil` gives single-attempt episodes (one per first
    /// attempt). Episodes come out grouped by prompt, then by first attempt: prompt p's are
    /// p·k·m ..< (p+1)·k·m, and episode e continues first attempt e / m (`Episode.firstAttempt`).
    public func rollout(
        prompts: [[Int]], samplesPerPrompt k: Int, secondAttempts: Int = 1, attempts: Int = 2,
        format: SelfCorrectionFormat, turn1: SamplingOptions, turn2: SamplingOptions?, generator: inout RandomGenerator
    ) throws -> [Episode] {
        guard !prompts.isEmpty else { return [] }
        guard secondAttempts >= 1 else {
            throw ScoreError.invalidArgument("second attempts per first attempt must be at least 1 (got \(secondAttempts))")
        }
        guard (2...Self.maximumAttempts).contains(attempts) else {
            throw ScoreError.invalidArgument("attempts must be in 2...\(Self.maximumAttempts) (got \(attempts))")
        }
        let m = turn2 == nil ? 1 : secondAttempts
        let (cache, first) = try sampleFirstAttempts(prompts: prompts, samplesPerPrompt: k, copies: m, format: format,
                                                     turn1: turn1, turn2: turn2, laterAttempts: attempts - 1,
                                                     generator: &generator)
        var episodes = first.indices.map {
            Episode(group: $0 / (k * m), firstAttempt: $0 / m, prompt: prompts[$0 / (k * m)], attempt1: first[$0],
                    instruction: [], attempt2: nil)
        }
        guard let turn2 else { return episodes }
        let second = try sampleSecondAttempts(slots: Array(first.indices), after: first, cache: cache, format: format,
                                              turn2: turn2, generator: &generator)
        var latest = first
        for slot in episodes.indices {
            episodes[slot].instruction = second[slot]?.instruction ?? []
            episodes[slot].attempt2 = second[slot]?.attempt
            if let attempt = second[slot]?.attempt { latest[slot] = attempt }
        }
        for _ in 2..<attempts {
            let next = try sampleSecondAttempts(slots: Array(latest.indices), after: latest, cache: cache, format: format,
                                                turn2: turn2, generator: &generator)
            for slot in episodes.indices {
                guard let followUp = next[slot] else { throw ScoreError.invalidArgument("slot \(slot) was not continued") }
                episodes[slot].later.append(Episode.FollowUp(instruction: followUp.instruction, attempt: followUp.attempt))
                latest[slot] = followUp.attempt
            }
        }
        return episodes
    }

    /// Attempt 1 of two-attempt rollouts: validates the request, makes a cache sized for attempt 1
    /// and `laterAttempts` attempts after it (`turn2 == nil`: attempt 1 only) with `copies` slots per sample, prefills each
    /// prompt once, copies it to its k·copies slots (prompt p's are p·k·copies ..< (p+1)·k·copies),
    /// samples attempt 1 on the first slot of each sample's copies and copies it (cache and
    /// generation) to the others. The cache is left ready for `sampleSecondAttempts` on any subset
    /// of the slots; the attempts are indexed by slot.
    func sampleFirstAttempts(
        prompts: [[Int]], samplesPerPrompt k: Int, copies: Int = 1, format: SelfCorrectionFormat,
        turn1: SamplingOptions, turn2: SamplingOptions?, laterAttempts: Int = 1, generator: inout RandomGenerator
    ) throws -> (cache: KVCache, attempts: [Generation]) {
        guard k >= 1, copies >= 1 else {
            throw ScoreError.invalidArgument("samples per prompt and copies must be at least 1 (got \(k), \(copies))")
        }
        guard !prompts.isEmpty else { throw ScoreError.invalidArgument("no prompts to sample") }
        guard turn1.maxNewTokens >= 1, (turn2?.maxNewTokens ?? 1) >= 1 else {
            throw ScoreError.invalidArgument("each attempt needs maxNewTokens >= 1")
        }
        if let empty = prompts.firstIndex(where: \.isEmpty) {
            throw ScoreError.invalidArgument("prompt \(empty) is empty")
        }
        let longest = prompts.map(\.count).max() ?? 0
        let instructionLength = format.instructionTokens(after: []).count
        let needed = longest + turn1.maxNewTokens + (turn2.map { laterAttempts * (instructionLength + $0.maxNewTokens) } ?? 0)
        guard needed <= config.maxSeqLen else {
            throw ScoreError.invalidArgument(
                "a conversation of \(turn2 == nil ? 1 : laterAttempts + 1) attempts may need \(needed) tokens (prompt "
                + "\(longest) + attempts + instructions), more than the model's context of \(config.maxSeqLen)")
        }
        let perPrompt = k * copies
        let cache = try makeCache(slots: prompts.count * perPrompt, capacity: needed)
        let v = config.vocabSize
        let prefill = try decode(slots: prompts.indices.map { $0 * perPrompt }, tokens: prompts, cache: cache)
        var logits = [Float]()
        logits.reserveCapacity(prompts.count * k * v)
        var sampled = [Int]()
        for p in prompts.indices {
            for sample in 0..<k {
                let slot = (p * k + sample) * copies
                try cache.copySlot(p * perPrompt, to: slot)
                sampled.append(slot)
                logits += prefill[(p * v)..<((p + 1) * v)]
            }
        }
        let generated = try continueGeneration(slots: sampled, logits: logits, cache: cache, options: turn1,
                                               tokenizer: format.tokenizer, generator: &generator)
        var attempts = [Generation]()
        attempts.reserveCapacity(prompts.count * perPrompt)
        for (slot, attempt) in zip(sampled, generated) {
            for copy in 0..<copies {
                if copy > 0 { try cache.copySlot(slot, to: slot + copy) }
                attempts.append(attempt)
            }
        }
        return (cache, attempts)
    }

    /// Attempt 2 on `slots` of a cache left by `sampleFirstAttempts` (`first` is indexed by slot):
    /// appends each slot's last attempt-1 token (not cached yet) and the instruction, then samples.
    /// Given each slot's latest attempt as `first`, the same samples the attempt after it.
    /// Returns, per revised slot, the instruction tokens and attempt 2; other slots are untouched.
    func sampleSecondAttempts(
        slots: [Int], after first: [Generation], cache: KVCache, format: SelfCorrectionFormat,
        turn2: SamplingOptions, generator: inout RandomGenerator
    ) throws -> [Int: (instruction: [Int], attempt: Generation)] {
        guard !slots.isEmpty else { return [:] }
        var instructions = [[Int]](), appended = [[Int]]()
        for slot in slots {
            guard first.indices.contains(slot), let last = first[slot].tokens.last else {
                throw ScoreError.invalidArgument("attempt 1 of episode \(slot) produced no token")
            }
            let instruction = format.instructionTokens(after: first[slot].tokens)
            instructions.append(instruction)
            appended.append([last] + instruction)
        }
        let logits = try decode(slots: slots, tokens: appended, cache: cache)
        let attempts = try continueGeneration(slots: slots, logits: logits, cache: cache, options: turn2,
                                              tokenizer: format.tokenizer, generator: &generator)
        var result = [Int: (instruction: [Int], attempt: Generation)]()
        for (i, slot) in slots.enumerated() { result[slot] = (instructions[i], attempts[i]) }
        return result
    }
}
