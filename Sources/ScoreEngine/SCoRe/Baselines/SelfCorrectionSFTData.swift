/// Supervised data for the paper's SFT baselines, built from the model's own samples.
///
/// - Pair-SFT (the paper's D_SFT): first attempts sampled from the base that the verifier rejects,
///   each paired with a correct second attempt; only the second attempt is trained.
/// - STaR for self-correction: the model's own two-attempt episodes whose second attempt the
///   verifier accepts; only the second attempt is trained.
public enum SelfCorrectionSFTData {
    /// Pair-SFT examples: for each problem, `samples` first attempts at `temperature`; every wrong
    /// one becomes prompt → attempt 1 (context) → instruction → `correctAttempt(problem)` (trained).
    public static func pairs(
        model: Transformer, problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, verifier: any Verifier,
        samples: Int, temperature: Float, maxNewTokens: Int, batchSize: Int = 64,
        generator: inout RandomGenerator, correctAttempt: (SelfCorrectionProblem) -> String = { $0.reference }
    ) throws -> [SFTExample] {
        var examples = [SFTExample]()
        let sampling = format.attemptSampling(temperature: temperature, maxNewTokens: maxNewTokens)
        for start in stride(from: 0, to: problems.count, by: batchSize) {
            let chunk = Array(problems[start..<min(problems.count, start + batchSize)])
            let episodes = try model.rollout(prompts: chunk.map { format.promptTokens($0.prompt) },
                                             samplesPerPrompt: samples, format: format, turn1: sampling, turn2: nil,
                                             generator: &generator)
            let scores = try format.score(episodes, problems: chunk, verifier: verifier)
            for (e, episode) in episodes.enumerated() where !scores.pairs[e].correct1 {
                let attempt1 = episode.attempt1.tokens
                examples.append(SFTExample(segments: [
                    SequenceBatch.Segment(tokens: episode.prompt, trained: false),
                    SequenceBatch.Segment(tokens: attempt1, trained: false),
                    SequenceBatch.Segment(tokens: format.instructionTokens(after: attempt1), trained: false),
                    SequenceBatch.Segment(tokens: format.attemptTokens(correctAttempt(chunk[episode.group])),
                                          trained: true),
                ]))
            }
        }
        return examples
    }

    /// STaR examples: two-attempt episodes sampled from the model whose second attempt the
    /// verifier accepts (corrections and kept right answers), the second attempt trained.
    public static func successfulCorrections(
        model: Transformer, problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, verifier: any Verifier,
        samples: Int, temperature: Float, maxNewTokens: Int, batchSize: Int = 64, generator: inout RandomGenerator
    ) throws -> [SFTExample] {
        var examples = [SFTExample]()
        let sampling = format.attemptSampling(temperature: temperature, maxNewTokens: maxNewTokens)
        for start in stride(from: 0, to: problems.count, by: batchSize) {
            let chunk = Array(problems[start..<min(problems.count, start + batchSize)])
            let episodes = try model.rollout(prompts: chunk.map { format.promptTokens($0.prompt) },
                                             samplesPerPrompt: samples, format: format, turn1: sampling,
                                             turn2: sampling, generator: &generator)
            let scores = try format.score(episodes, problems: chunk, verifier: verifier)
            for (e, episode) in episodes.enumerated() where scores.pairs[e].correct2 {
                guard let attempt2 = episode.attempt2 else { continue }
                examples.append(SFTExample(segments: [
                    SequenceBatch.Segment(tokens: episode.prompt, trained: false),
                    SequenceBatch.Segment(tokens: episode.attempt1.tokens, trained: false),
                    SequenceBatch.Segment(tokens: episode.instruction, trained: false),
                    SequenceBatch.Segment(tokens: attempt2.tokens, trained: true),
                ]))
            }
        }
        return examples
    }
}
