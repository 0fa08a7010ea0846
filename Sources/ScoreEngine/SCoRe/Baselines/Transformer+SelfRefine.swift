/// The Self-Refine style baseline: prompting only, no training. After attempt 1 the model is asked
/// with the instruction to revise, again and again, until a revision repeats the previous answer
/// or `rounds` revisions were made; the last answer counts as attempt 2.
extension Transformer {
    /// Greedy iterative refinement of every problem; returns one episode per problem whose
    /// `attempt2` is the final revision (`instruction` holds the last instruction appended).
    /// `rounds` is lowered to what fits the model's context.
    public func selfRefine(problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, rounds: Int,
                           maxNewTokens: Int, batchSize: Int = 256) throws -> [Episode] {
        guard rounds >= 1, maxNewTokens >= 1, batchSize >= 1 else {
            throw ScoreError.invalidArgument("self-refine needs rounds, maxNewTokens and batchSize >= 1")
        }
        let greedy = format.attemptSampling(temperature: 0, maxNewTokens: maxNewTokens)
        var generator = RandomGenerator(seed: 0)  // greedy: never drawn from
        var episodes = [Episode]()
        for start in stride(from: 0, to: problems.count, by: batchSize) {
            let chunk = Array(problems[start..<min(problems.count, start + batchSize)])
            let prompts = chunk.map { format.promptTokens($0.prompt) }
            let longest = prompts.map(\.count).max() ?? 0
            let perRound = format.instructionTokens(after: []).count + maxNewTokens
            let fitting = min(rounds, (config.maxSeqLen - longest - maxNewTokens) / perRound)
            guard fitting >= 1 else {
                throw ScoreError.invalidArgument("self-refine: one revision does not fit the model's context")
            }
            let cache = try makeCache(slots: prompts.count, capacity: longest + maxNewTokens + fitting * perRound)
            let slots = Array(prompts.indices)
            let logits = try decode(slots: slots, tokens: prompts, cache: cache)
            let first = try continueGeneration(slots: slots, logits: logits, cache: cache, options: greedy,
                                               tokenizer: format.tokenizer, generator: &generator)
            var current = first
            var instructions = slots.map { _ in [Int]() }
            var active = slots
            for _ in 0..<fitting where !active.isEmpty {
                var appended = [[Int]]()
                for slot in active {
                    instructions[slot] = format.instructionTokens(after: current[slot].tokens)
                    appended.append([current[slot].tokens.last ?? format.padID] + instructions[slot])
                }
                let next = try decode(slots: active, tokens: appended, cache: cache)
                let revisions = try continueGeneration(slots: active, logits: next, cache: cache, options: greedy,
                                                       tokenizer: format.tokenizer, generator: &generator)
                var still = [Int]()
                for (i, slot) in active.enumerated() {
                    if revisions[i].tokens != current[slot].tokens { still.append(slot) }
                    current[slot] = revisions[i]
                }
                active = still
            }
            for slot in slots {
                episodes.append(Episode(group: start + slot, firstAttempt: start + slot, prompt: prompts[slot],
                                        attempt1: first[slot],
                                        instruction: instructions[slot], attempt2: current[slot]))
            }
        }
        return episodes
    }
}
