/// The result of majority voting over sampled answers to one prompt.
public struct MajorityVote: Sendable, Equatable {
    /// The answer with the most votes (ties: the earliest candidate to reach the winning count);
    /// nil when no candidate had an answer.
    public var answer: String?
    /// Votes per extracted answer; candidates without an answer do not vote.
    public var votes: [String: Int]
    /// The final text of each sample (its last attempt when self-correcting, else attempt 1),
    /// without its closing end-of-turn token, in sampling order.
    public var candidates: [String]
    /// The answer extracted from each candidate (nil: no vote), parallel to `candidates`.
    public var answers: [String?]

    /// Counts the votes of `answers` (parallel to `candidates`) and picks the winner.
    init(candidates: [String], answers: [String?]) {
        var votes = [String: Int]()
        var winner: String?, best = 0
        for case let answer? in answers {
            let count = votes[answer, default: 0] + 1
            votes[answer] = count
            // Strictly more: on a tie the answer that reached the count first keeps the lead.
            if count > best {
                winner = answer
                best = count
            }
        }
        self.answer = winner
        self.votes = votes
        self.candidates = candidates
        self.answers = answers
    }
}

/// Inference-time scaling by voting (SCoRe §6.3): K samples of a prompt, each followed by one
/// self-correction, then a majority vote over the final answers. The paper finds this beats a
/// vote over 2K plain samples at the same number of generated attempts.
extension Transformer {
    /// Samples `samples` attempts of `prompt` (one prefill copied to every slot) at
    /// `temperature`; with `selfCorrect`, revises each until it has `attempts` attempts (once by
    /// default), each sampled at the same temperature, continuing from the KV cache. Votes over
    /// `answer(finalText)`
    /// (nil answers do not vote); ties go to the earliest candidate to reach the winning count.
    /// With `selfCorrect == false` it is plain K-sample voting — the baseline, which callers
    /// should run with 2K samples for an equal budget. Same seed, same result.
    public func majorityVote(
        _ prompt: String, samples: Int, format: SelfCorrectionFormat, temperature: Float = 1, maxNewTokens: Int,
        seed: UInt64, selfCorrect: Bool = true, attempts: Int = 2,
        answer: (String) -> String? = { FinalAnswerVerifier.extractAnswer(from: $0) }
    ) throws -> MajorityVote {
        guard samples >= 1 else {
            throw ScoreError.invalidArgument("majority voting needs at least 1 sample (got \(samples))")
        }
        guard !selfCorrect || attempts >= 2 else {
            throw ScoreError.invalidArgument("self-corrected voting needs at least 2 attempts per sample (got \(attempts))")
        }
        try SelfCorrectOptions(temperature: temperature, maxNewTokens: maxNewTokens, seed: seed, attempts: attempts).validate()
        let sampling = format.attemptSampling(temperature: temperature, maxNewTokens: maxNewTokens, seed: seed)
        var generator = RandomGenerator(seed: seed)
        let episodes = try rollout(prompts: [format.promptTokens(prompt)], samplesPerPrompt: samples,
                                   attempts: selfCorrect ? attempts : 2, format: format, turn1: sampling,
                                   turn2: selfCorrect ? sampling : nil, generator: &generator)
        let candidates = try episodes.map { try format.text(of: ($0.attempts.last ?? $0.attempt1).tokens) }
        return MajorityVote(candidates: candidates, answers: candidates.map(answer))
    }
}

extension Transformer {
    /// The share of `problems` whose majority answer (`majorityVote` with `samples` samples, each
    /// self-corrected to `attempts` attempts when `selfCorrect`) `verifier` accepts; a problem without any answer
    /// counts as wrong. Problem i votes with seed `seed + i`.
    public func majorityAccuracy(
        problems: [SelfCorrectionProblem], format: SelfCorrectionFormat, verifier: any Verifier, samples: Int,
        selfCorrect: Bool, attempts: Int = 2, temperature: Float = 1, maxNewTokens: Int, seed: UInt64 = 0
    ) throws -> Double {
        guard !problems.isEmpty else { return 0 }
        var items = [VerifierItem](), voted = [Bool]()
        for (i, problem) in problems.enumerated() {
            let vote = try majorityVote(problem.prompt, samples: samples, format: format, temperature: temperature,
                                        maxNewTokens: maxNewTokens, seed: seed &+ UInt64(i), selfCorrect: selfCorrect,
                                        attempts: attempts)
            voted.append(vote.answer != nil)
            items.append(VerifierItem(prompt: problem.prompt, response: vote.answer ?? "", reference: problem.reference))
        }
        let rewards = try verifier.checkedScores(items)
        let right = zip(rewards, voted).filter { $0.1 && $0.0 >= SCoReObjective.correctThreshold }.count
        return Double(right) / Double(problems.count)
    }
}
