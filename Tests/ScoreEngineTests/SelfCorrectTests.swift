import Foundation
import Testing
@testable import ScoreEngine

/// Inference with self-correction: equality with greedy rollouts, confidence measures, the
/// revision gate, reproducibility, majority voting and option validation.
struct SelfCorrectTests {
    static let tokenizer = ByteTokenizer()
    static let config = ModelConfig(vocabSize: 262, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 48,
                                    maxSeqLen: 96)
    static let prompts = ["1+2=", "30+45=", "7*8=", "9"]

    static func model() throws -> Transformer {
        let model = try Transformer(config: config, seed: 11)
        var rng = RandomGenerator(seed: 3)
        for i in 0..<model.parameters.count { model.parameters.pointer[i] += 0.05 * rng.nextNormal() }
        return model
    }

    static func format() throws -> SelfCorrectionFormat {
        try SelfCorrectionFormat(tokenizer: tokenizer, instruction: "Fix?")
    }

    @Test func greedySelfCorrectEqualsGreedyRollout() throws {
        let model = try Self.model(), format = try Self.format()
        let (results, skipped) = try model.selfCorrect(Self.prompts, format: format,
                                                       options: SelfCorrectOptions(maxNewTokens: 8))
        let greedy = format.attemptSampling(temperature: 0, maxNewTokens: 8)
        var generator = RandomGenerator(seed: 123)
        let episodes = try model.rollout(prompts: Self.prompts.map(format.promptTokens), samplesPerPrompt: 1,
                                         format: format, turn1: greedy, turn2: greedy, generator: &generator)
        #expect(skipped == 0 && results.count == Self.prompts.count)
        for (result, episode) in zip(results, episodes) {
            #expect(result.attempt1 == episode.attempt1)
            #expect(result.attempt2?.tokens == episode.attempt2?.tokens)
            #expect(result.attempt2?.logProbs == episode.attempt2?.logProbs)
            #expect(result.revised && result.final == result.attempt2)
            #expect(try result.finalText == format.text(of: episode.attempt2?.tokens ?? []))
        }
    }

    @Test func confidenceMeasures() throws {
        let model = try Self.model(), format = try Self.format()
        let (results, _) = try model.selfCorrect(Self.prompts, format: format,
                                                 options: SelfCorrectOptions(temperature: 1, maxNewTokens: 8, seed: 5))
        for result in results {
            let logProbs = result.attempt1.logProbs
            let expected = exp(logProbs.map(Double.init).reduce(0, +) / Double(logProbs.count))
            #expect(!logProbs.isEmpty && abs(Double(result.confidence) - expected) < 1e-5)
            #expect(result.confidence >= 0 && result.confidence <= 1)
        }
        let half = Float(log(0.5)), quarter = Float(log(0.25))
        let mean = ConfidenceMeasure.meanProbability.confidence(of: [half, quarter])
        #expect(abs(mean - Float(0.125.squareRoot())) < 1e-6)
        #expect(abs(ConfidenceMeasure.minimumProbability.confidence(of: [half, quarter]) - 0.25) < 1e-6)
        #expect(abs(ConfidenceMeasure.sequenceProbability.confidence(of: [half, quarter]) - 0.125) < 1e-6)
        #expect(ConfidenceMeasure.sequenceProbability.confidence(of: [-1e6]) == 0)
        #expect(ConfidenceMeasure.meanProbability.confidence(of: []) == 0)

        // The minimum measure reported by selfCorrect is exp(min log-prob).
        let (minimum, _) = try model.selfCorrect(
            Self.prompts, format: format, options: SelfCorrectOptions(maxNewTokens: 8, confidence: .minimumProbability))
        for result in minimum {
            #expect(abs(result.confidence - exp(result.attempt1.logProbs.min() ?? 0)) < 1e-6)
        }
    }

    @Test func gateSkipsConfidentAttempts() throws {
        let model = try Self.model(), format = try Self.format()
        let count = Self.prompts.count
        let never = try model.selfCorrect(Self.prompts, format: format,
                                          options: SelfCorrectOptions(maxNewTokens: 8, gate: 0))
        #expect(never.skipped == count)
        for result in never.results {
            #expect(result.attempt2 == nil && !result.revised && result.final == result.attempt1)
            #expect(result.finalText == result.attempt1.text)
        }
        let always = try model.selfCorrect(Self.prompts, format: format,
                                           options: SelfCorrectOptions(maxNewTokens: 8, gate: 1.01))
        #expect(always.skipped == 0 && always.results.allSatisfy(\.revised))
        #expect(always.results.map(\.attempt1) == never.results.map(\.attempt1))

        // A gate between two confidences revises exactly the prompts below it.
        let sorted = always.results.map(\.confidence).sorted()
        let gap = try #require(zip(sorted, sorted.dropFirst()).first { $0 < $1 })
        let gate = (gap.0 + gap.1) / 2
        let gated = try model.selfCorrect(Self.prompts, format: format,
                                          options: SelfCorrectOptions(maxNewTokens: 8, gate: gate))
        let low = always.results.map { $0.confidence < gate }
        #expect(gated.results.map(\.revised) == low)
        #expect(gated.skipped == low.filter { !$0 }.count && low.contains(true) && low.contains(false))
        for (result, reference) in zip(gated.results, always.results) {
            #expect(result.attempt1 == reference.attempt1)
            if result.revised {
                #expect(result.attempt2?.tokens == reference.attempt2?.tokens)
            } else {
                #expect(result.final == result.attempt1 && result.attempt2 == nil)
            }
        }
    }

    @Test func sameSeedSameResults() throws {
        let model = try Self.model(), format = try Self.format()
        let options = SelfCorrectOptions(temperature: 1, maxNewTokens: 8, seed: 42, gate: 0.5)
        let a = try model.selfCorrect(Self.prompts, format: format, options: options)
        let b = try model.selfCorrect(Self.prompts, format: format, options: options)
        #expect(a.results == b.results && a.skipped == b.skipped)
        var other = options
        other.seed = 43
        #expect(try model.selfCorrect(Self.prompts, format: format, options: other).results != a.results)
        #expect(try model.selfCorrect([], format: format, options: options).results.isEmpty)
    }

    @Test func majorityVoteCountsAndReproduces() throws {
        let model = try Self.model(), format = try Self.format()
        let firstCharacter: (String) -> String? = { $0.first.map(String.init) }
        let vote = try model.majorityVote("1+2=", samples: 8, format: format, maxNewTokens: 6, seed: 9,
                                          answer: firstCharacter)
        #expect(vote.candidates.count == 8 && vote.answers == vote.candidates.map(firstCharacter))
        #expect(!vote.votes.isEmpty && vote.votes.values.reduce(0, +) == vote.answers.compactMap { $0 }.count)
        let most = try #require(vote.votes.values.max())
        #expect(vote.answer.flatMap { vote.votes[$0] } == most)
        let again = try model.majorityVote("1+2=", samples: 8, format: format, maxNewTokens: 6, seed: 9,
                                           answer: firstCharacter)
        #expect(again == vote)

        // The candidates are the final texts of a rollout with the same seed: attempt 2 when
        // self-correcting, attempt 1 alone otherwise.
        let sampling = format.attemptSampling(temperature: 1, maxNewTokens: 6)
        var g1 = RandomGenerator(seed: 9), g2 = RandomGenerator(seed: 9)
        let corrected = try model.rollout(prompts: [format.promptTokens("1+2=")], samplesPerPrompt: 8, format: format,
                                          turn1: sampling, turn2: sampling, generator: &g1)
        #expect(try vote.candidates == corrected.map { try format.text(of: $0.attempt2?.tokens ?? []) })
        let plain = try model.majorityVote("1+2=", samples: 5, format: format, maxNewTokens: 6, seed: 9,
                                           selfCorrect: false, answer: firstCharacter)
        let single = try model.rollout(prompts: [format.promptTokens("1+2=")], samplesPerPrompt: 5, format: format,
                                       turn1: sampling, turn2: nil, generator: &g2)
        #expect(plain.candidates.count == 5)
        #expect(try plain.candidates == single.map { try format.text(of: $0.attempt1.tokens) })
        // Three attempts per sample: the candidates are the third attempts of the same rollout.
        var g3 = RandomGenerator(seed: 9)
        let three = try model.majorityVote("1+2=", samples: 4, format: format, maxNewTokens: 6, seed: 9, attempts: 3,
                                           answer: firstCharacter)
        let chains = try model.rollout(prompts: [format.promptTokens("1+2=")], samplesPerPrompt: 4, attempts: 3,
                                       format: format, turn1: sampling, turn2: sampling, generator: &g3)
        #expect(try three.candidates == chains.map { try format.text(of: $0.later[0].attempt.tokens) })
        #expect(throws: ScoreError.self) {
            try model.majorityVote("1+2=", samples: 2, format: format, maxNewTokens: 6, seed: 9, attempts: 1)
        }

        // The default extractor: a random model rarely writes digits, so no answer is fine too.
        let extracted = try model.majorityVote("1+2=", samples: 3, format: format, maxNewTokens: 6, seed: 1)
        #expect(extracted.answers == extracted.candidates.map { FinalAnswerVerifier.extractAnswer(from: $0) })
    }

    @Test func majorityAccuracyScoresEachProblemsWinningAnswer() throws {
        let model = try Self.model(), format = try Self.format()
        let problems = Self.prompts.map { SelfCorrectionProblem(prompt: $0, reference: "7") }
        // The verifier sees each winning answer once ("" for none) and accepts every other item.
        var seen = [String]()
        let verifier = ClosureVerifier { items in
            seen = items.map(\.response)
            return items.indices.map { Float($0 % 2) }
        }
        let accuracy = try model.majorityAccuracy(problems: problems, format: format, verifier: verifier, samples: 4,
                                                  selfCorrect: true, maxNewTokens: 6, seed: 5)
        let votes = try problems.indices.map {
            try model.majorityVote(problems[$0].prompt, samples: 4, format: format, maxNewTokens: 6, seed: 5 + UInt64($0))
        }
        #expect(seen == votes.map { $0.answer ?? "" })
        let expected = votes.indices.filter { $0 % 2 == 1 && votes[$0].answer != nil }.count
        #expect(accuracy == Double(expected) / Double(problems.count))
        #expect(throws: ScoreError.self) {
            try model.majorityAccuracy(problems: problems, format: format, verifier: verifier, samples: 0,
                                       selfCorrect: false, maxNewTokens: 6)
        }
    }

    @Test func votingBreaksTiesByTheEarliestToReachTheCount() {
        let tie = MajorityVote(candidates: ["a", "b", "b", "a"], answers: ["A", "B", "B", "A"])
        #expect(tie.answer == "B" && tie.votes == ["A": 2, "B": 2])
        #expect(MajorityVote(candidates: ["x", "y"], answers: ["X", "Y"]).answer == "X")
        let none = MajorityVote(candidates: ["", "?"], answers: [nil, nil])
        #expect(none.answer == nil && none.votes.isEmpty)
        #expect(MajorityVote(candidates: ["", "1", "2", "2"], answers: [nil, "1", "2", "2"]).answer == "2")
    }

    @Test func invalidOptionsThrow() throws {
        let model = try Self.model(), format = try Self.format()
        for options in [SelfCorrectOptions(temperature: -1), SelfCorrectOptions(maxNewTokens: 0),
                        SelfCorrectOptions(gate: .nan), SelfCorrectOptions(temperature: .infinity)] {
            #expect(throws: ScoreError.self) { try options.validate() }
            #expect(throws: ScoreError.self) { try model.selfCorrect(["1+2="], format: format, options: options) }
        }
        #expect(throws: ScoreError.self) {
            try model.majorityVote("1+2=", samples: 0, format: format, maxNewTokens: 4, seed: 0)
        }
        #expect(throws: ScoreError.self) {
            try model.majorityVote("1+2=", samples: 2, format: format, temperature: -1, maxNewTokens: 4, seed: 0)
        }
        #expect(throws: ScoreError.self) {
            try model.majorityVote("1+2=", samples: 2, format: format, maxNewTokens: 0, seed: 0)
        }
        #expect(throws: ScoreError.self) {
            try model.selfCorrect(["1+2="], format: format, options: SelfCorrectOptions(maxNewTokens: 60))
        }
    }

    @Test func optionsDecodeWithDefaults() throws {
        let empty = try JSONDecoder().decode(SelfCorrectOptions.self, from: Data("{}".utf8))
        #expect(empty == SelfCorrectOptions())
        let options = SelfCorrectOptions(temperature: 0.7, maxNewTokens: 12, seed: 3, gate: 0.4,
                                         confidence: .sequenceProbability)
        let decoded = try JSONDecoder().decode(SelfCorrectOptions.self, from: JSONEncoder().encode(options))
        #expect(decoded == options)
    }
}
