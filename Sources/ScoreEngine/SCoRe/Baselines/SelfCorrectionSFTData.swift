/// Supervised data for the paper's SFT baselines, built from the model's own samples.
///
/// - Pair-SFT (the paper's D_SFT): first attempts sampled from the base that the verifier rejects,
///   each paired with a correct second attempt; only the second attempt is trained.
/// - STaR for self-correction: the model's own two-attempt episodes whose second attempt the
///   verifier accepts; only the second attempt is trained.
/// - Dependent corrections, to build a base: the model's own first attempts, each followed by a
///   second attempt that keeps, fixes or breaks it; both attempts are trained.
public enum SelfCorrectionSFTData {
    /// Pair-SFT examples: for each problem, `samples` first attempts at `temperature`; every wrong
    /// one becomes prompt → attempt 1 (context) → instruction → `correctAttempt(problem)` (trained).
    public static func pairs(
        model: Transformer, problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, verifier: any Verifier,
        samples: Int, temperature: Float, maxNewTokens: Int, batchSize: Int = 64,
        generator: inout RandomGenerator, correctAttempt: (SelfCorrectionProblem) -> String = { $0.reference }
    ) throws -> [SFTExample] {
        try collect(model: model, problems: problems, format: format, verifier: verifier, samples: samples,
                    temperature: temperature, maxNewTokens: maxNewTokens, secondAttempt: false, batchSize: batchSize,
                    generator: &generator) { episode, pair, problem in
            guard !pair.correct1 else { return nil }
            return SelfCorrectionExchange.example(prompt: episode.prompt, attempt1: episode.attempt1.tokens,
                                                  attempt2: format.attemptTokens(correctAttempt(problem)),
                                                  format: format, trained: .attempt2)
        }
    }

    /// STaR examples: two-attempt episodes sampled from the model whose second attempt the
    /// verifier accepts (corrections and kept right answers), the second attempt trained.
    public static func successfulCorrections(
        model: Transformer, problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, verifier: any Verifier,
        samples: Int, temperature: Float, maxNewTokens: Int, batchSize: Int = 64, generator: inout RandomGenerator
    ) throws -> [SFTExample] {
        try collect(model: model, problems: problems, format: format, verifier: verifier, samples: samples,
                    temperature: temperature, maxNewTokens: maxNewTokens, secondAttempt: true, batchSize: batchSize,
                    generator: &generator) { episode, pair, _ in
            guard pair.correct2, let attempt2 = episode.attempt2 else { return nil }
            return SFTExample(segments: SelfCorrectionExchange.segments(
                prompt: episode.prompt, attempt1: episode.attempt1.tokens, instruction: episode.instruction,
                attempt2: attempt2.tokens, trained: .attempt2))
        }
    }

    /// Two-attempt exchanges for a base whose mistakes are its own and whose second attempt depends
    /// on its first: one first attempt per problem sampled from `model`; a right one is kept with
    /// probability `keep` (otherwise replaced by `wrongAttempt`: a right answer broken), a wrong one
    /// is replaced by `correctAttempt` with probability `fix` (otherwise by `wrongAttempt`: an edit
    /// that is still wrong). Both attempts are trained: the first is the model's own sample, so in
    /// expectation its term leaves turn 1 where it is (training the second alone made turn 1
    /// collapse on the demo's model).
    public static func dependentCorrections(
        model: Transformer, problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, verifier: any Verifier,
        temperature: Float, maxNewTokens: Int, keep: Double, fix: Double, batchSize: Int = 64,
        generator: inout RandomGenerator, correctAttempt: (SelfCorrectionProblem) -> String = { $0.reference },
        wrongAttempt: (SelfCorrectionProblem, inout RandomGenerator) -> String
    ) throws -> [SFTExample] {
        for (name, value) in [("keep", keep), ("fix", fix)] where !(0...1).contains(value) {
            throw ScoreError.invalidArgument("dependent corrections: \(name) must be in 0...1 (got \(value))")
        }
        var choices = RandomGenerator(seed: generator.next())
        return try collect(model: model, problems: problems, format: format, verifier: verifier, samples: 1,
                           temperature: temperature, maxNewTokens: maxNewTokens, secondAttempt: false,
                           batchSize: batchSize, generator: &generator) { episode, pair, problem in
            let attempt1 = episode.attempt1.tokens
            let rightAfter = pair.correct1 ? choices.nextUnitDouble() < keep : choices.nextUnitDouble() < fix
            let attempt2: [Int]
            if pair.correct1, rightAfter {
                attempt2 = attempt1
            } else {
                attempt2 = format.attemptTokens(rightAfter ? correctAttempt(problem) : wrongAttempt(problem, &choices))
            }
            return SelfCorrectionExchange.example(prompt: episode.prompt, attempt1: attempt1, attempt2: attempt2,
                                                  format: format, trained: .both)
        }
    }

    /// Samples episodes in batches, scores them, and keeps what `select` makes of each.
    private static func collect(
        model: Transformer, problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, verifier: any Verifier,
        samples: Int, temperature: Float, maxNewTokens: Int, secondAttempt: Bool, batchSize: Int,
        generator: inout RandomGenerator,
        select: (Episode, AttemptPair, SelfCorrectionProblem) throws -> SFTExample?
    ) throws -> [SFTExample] {
        guard batchSize >= 1 else { throw ScoreError.invalidArgument("batch size must be at least 1") }
        var examples = [SFTExample]()
        let sampling = format.attemptSampling(temperature: temperature, maxNewTokens: maxNewTokens)
        for start in stride(from: 0, to: problems.count, by: batchSize) {
            let chunk = Array(problems[start..<min(problems.count, start + batchSize)])
            let episodes = try model.rollout(prompts: chunk.map { format.promptTokens($0.prompt) },
                                             samplesPerPrompt: samples, format: format, turn1: sampling,
                                             turn2: secondAttempt ? sampling : nil, generator: &generator)
            let scores = try format.score(episodes, problems: chunk, verifier: verifier)
            for (e, episode) in episodes.enumerated() {
                if let example = try select(episode, scores.pairs[e], chunk[episode.group]) { examples.append(example) }
            }
        }
        return examples
    }
}
