/// How the two attempts are sampled in evaluation.
public enum EvaluationProtocol: String, Codable, Sendable {
    /// Both attempts greedy (the paper's evaluation).
    case greedy
    /// Attempt 1 sampled at temperature 1, attempt 2 greedy: separates copying the first attempt
    /// from re-solving, since a sampled first attempt is wrong more often.
    case mixed
}

extension Transformer {
    /// Two-attempt evaluation on `problems` (one episode each, in batches), scored by `verifier`.
    /// Returns the metrics, the episodes and their scored pairs (in problem order). `batchSize` problems are sampled at once (nil: up to
    /// 256, as many as keep the KV cache within `memoryBudget` bytes). `progress(done, total)` after
    /// each batch; an error it throws stops the evaluation and reaches the caller.
    public func evaluateSelfCorrection(
        problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, verifier: any Verifier,
        protocol evaluation: EvaluationProtocol = .greedy, maxNewTokens: Int, batchSize requested: Int? = nil,
        memoryBudget: Int = 1 << 30, seed: UInt64 = 0, progress: (Int, Int) throws -> Void = { _, _ in }
    ) throws -> (metrics: SelfCorrectionMetrics, episodes: [Episode], pairs: [AttemptPair]) {
        let batchSize = requested ?? min(256, evaluationBatchLimit(problems: problems, format: format,
                                                                   maxNewTokens: maxNewTokens, memoryBudget: memoryBudget))
        guard batchSize > 0 else { throw ScoreError.invalidArgument("batch size must be positive") }
        let greedy = format.attemptSampling(temperature: 0, maxNewTokens: maxNewTokens)
        let first = evaluation == .greedy ? greedy : format.attemptSampling(temperature: 1, maxNewTokens: maxNewTokens)
        var generator = RandomGenerator(seed: seed)
        var episodes = [Episode](), pairs = [AttemptPair]()
        var start = 0
        while start < problems.count {
            let end = min(problems.count, start + batchSize)
            let chunk = Array(problems[start..<end])
            var batch = try rollout(prompts: chunk.map { format.promptTokens($0.prompt) }, samplesPerPrompt: 1,
                                    format: format, turn1: first, turn2: greedy, generator: &generator)
            let scores = try format.score(batch, problems: chunk, verifier: verifier)
            for i in batch.indices { batch[i].group += start }
            pairs += scores.pairs.enumerated().map { i, pair in
                var pair = pair
                pair.group = start + i
                return pair
            }
            episodes += batch
            try progress(end, problems.count)
            start = end
        }
        return (SelfCorrectionMetrics(pairs: pairs), episodes, pairs)
    }

    /// The most problems whose rollout of `attempts` attempts keeps its KV cache within
    /// `memoryBudget` bytes (at least 1).
    public func evaluationBatchLimit(problems: [SelfCorrectionProblem], format: SelfCorrectionFormat,
                                     maxNewTokens: Int, memoryBudget: Int, attempts: Int = 2) -> Int {
        let longestPrompt = problems.map { format.promptTokens($0.prompt).count }.max() ?? 1
        let capacity = format.longestEpisode(promptLength: longestPrompt, maxNewTokens: maxNewTokens, attempts: attempts)
        let perProblem = MemoryEstimate.rollout(config: config, slots: 1, capacity: capacity, prefillRows: longestPrompt)
        return max(1, memoryBudget / max(1, perProblem))
    }
}
