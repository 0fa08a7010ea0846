import Testing
@testable import ScoreEngine

/// The SFT baselines' data and the Self-Refine loop on a small random model.
struct BaselineDataTests {
    static let config = ModelConfig(vocabSize: 262, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 48,
                                    maxSeqLen: 64)
    static let problems = (0..<6).map { SelfCorrectionProblem(prompt: "\($0)+1=", reference: String($0 + 1)) }

    static func setup() throws -> (Transformer, SelfCorrectionFormat) {
        (try Transformer(config: config, seed: 8), try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?"))
    }

    @Test func pairSFTKeepsOnlyWrongFirstAttemptsAndTrainsTheReference() throws {
        let (model, format) = try Self.setup()
        var rng = RandomGenerator(seed: 1)
        // A verifier that rejects every attempt: every sampled first attempt becomes a pair.
        let examples = try SelfCorrectionSFTData.pairs(
            model: model, problems: Self.problems, format: format, verifier: ClosureVerifier { $0.map { _ in 0 } },
            samples: 2, temperature: 1, maxNewTokens: 4, generator: &rng)
        #expect(examples.count == 12)
        for example in examples {
            #expect(example.segments.map(\.trained) == [false, false, false, true])
            let answer = try format.text(of: example.segments[3].tokens)
            #expect(Self.problems.map(\.reference).contains(answer))
        }
        // A verifier that accepts everything leaves nothing to pair.
        let none = try SelfCorrectionSFTData.pairs(
            model: model, problems: Self.problems, format: format, verifier: ClosureVerifier { $0.map { _ in 1 } },
            samples: 2, temperature: 1, maxNewTokens: 4, generator: &rng)
        #expect(none.isEmpty)
    }

    @Test func starKeepsOnlyAcceptedSecondAttempts() throws {
        let (model, format) = try Self.setup()
        var rng = RandomGenerator(seed: 2)
        var accepted = [String]()
        // Accept second attempts whose text is even-length; first attempts are never accepted.
        let verifier = ClosureVerifier { items in
            items.map { item in
                let ok = item.turn == 2 && item.response.utf8.count % 2 == 0
                if ok { accepted.append(item.response) }
                return ok ? 1 : 0
            }
        }
        let examples = try SelfCorrectionSFTData.successfulCorrections(
            model: model, problems: Self.problems, format: format, verifier: verifier, samples: 2, temperature: 1,
            maxNewTokens: 4, generator: &rng)
        #expect(examples.count == accepted.count)
        for example in examples {
            #expect(example.segments.map(\.trained) == [false, false, false, true])
            #expect(try format.text(of: example.segments[3].tokens).utf8.count % 2 == 0)
        }
    }

    @Test func dependentCorrectionsKeepFixOrBreakTheModelsOwnFirstAttempt() throws {
        let (model, format) = try Self.setup()
        // First attempts of even length count as right.
        let verifier = ClosureVerifier { items in items.map { $0.response.utf8.count % 2 == 0 ? 1 : 0 } }
        func build(keep: Double, fix: Double, seed: UInt64) throws -> [SFTExample] {
            var rng = RandomGenerator(seed: seed)
            return try SelfCorrectionSFTData.dependentCorrections(
                model: model, problems: Self.problems, format: format, verifier: verifier, temperature: 1,
                maxNewTokens: 4, keep: keep, fix: fix, generator: &rng) { _, _ in "W" }
        }
        var sawRight = false, sawWrong = false
        for seed: UInt64 in 1...4 {
            let faithful = try build(keep: 1, fix: 1, seed: seed)
            let careless = try build(keep: 0, fix: 0, seed: seed)
            #expect(faithful.count == Self.problems.count && careless.count == Self.problems.count)
            for (problem, (good, bad)) in zip(Self.problems, zip(faithful, careless)) {
                // The same sampled first attempt (the choices draw from their own generator), trained.
                #expect(good.segments.map(\.trained) == [false, true, false, true])
                #expect(good.segments[1].tokens == bad.segments[1].tokens)
                let right = try format.text(of: good.segments[1].tokens).utf8.count % 2 == 0
                if right { sawRight = true } else { sawWrong = true }
                // keep = fix = 1: a right attempt is copied, a wrong one replaced by the reference.
                #expect(good.segments[3].tokens == (right ? good.segments[1].tokens
                                                          : format.attemptTokens(problem.reference)))
                // keep = fix = 0: the second attempt is always the wrong answer.
                #expect(bad.segments[3].tokens == format.attemptTokens("W"))
            }
        }
        #expect(sawRight && sawWrong)
        #expect(throws: ScoreError.self) { try build(keep: 1.5, fix: 0, seed: 1) }
        #expect(throws: ScoreError.self) { try build(keep: 0.5, fix: .nan, seed: 1) }
    }

    @Test func selfRefineGivesOneEpisodePerProblemAndFitsTheContext() throws {
        let (model, format) = try Self.setup()
        let episodes = try model.selfRefine(problems: Self.problems, format: format, rounds: 50, maxNewTokens: 4,
                                            batchSize: 4)
        #expect(episodes.map(\.group) == Array(0..<6))
        #expect(episodes.allSatisfy { $0.attempt2 != nil })
        // Attempt 1 is the greedy first attempt of the two-attempt evaluation.
        let greedy = try model.evaluateSelfCorrection(problems: Self.problems, format: format,
                                                      verifier: ArithmeticVerifier(), maxNewTokens: 4)
        #expect(episodes.map(\.attempt1.tokens) == greedy.episodes.map(\.attempt1.tokens))
        // Greedy and deterministic: the same call gives the same revisions.
        let again = try model.selfRefine(problems: Self.problems, format: format, rounds: 50, maxNewTokens: 4)
        #expect(again.map { $0.attempt2?.tokens ?? [] } == episodes.map { $0.attempt2?.tokens ?? [] })
        #expect(throws: ScoreError.self) {
            try model.selfRefine(problems: Self.problems, format: format, rounds: 0, maxNewTokens: 4)
        }
    }
}
