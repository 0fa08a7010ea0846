import Foundation
import Testing
@testable import ScoreEngine

/// log_softmax of one entry, NaN counted as -inf, in double precision.
private func logSoftmax(_ logits: [Float], _ index: Int) -> Float {
    let finite = logits.filter { !$0.isNaN }
    let maximum = Double(finite.max() ?? 0)
    let sum = finite.reduce(0.0) { $0 + Foundation.exp(Double($1) - maximum) }
    return Float(Double(logits[index]) - maximum - Foundation.log(sum))
}

/// `count` draws from one sampler and one generator.
private func draws(_ options: SamplingOptions, _ logits: [Float], count: Int, seed: UInt64 = 7) throws -> [Int] {
    let sampler = try Sampler(options)
    var generator = RandomGenerator(seed: seed)
    return try (0..<count).map { _ in try sampler.sample(logits: logits, generator: &generator).token }
}

/// Empirical frequency of each token.
private func frequencies(_ tokens: [Int], vocabulary: Int) -> [Double] {
    var counts = [Double](repeating: 0, count: vocabulary)
    for token in tokens { counts[token] += 1 }
    return counts.map { $0 / Double(tokens.count) }
}

/// Logits whose softmax is exactly `probabilities` (up to rounding).
private func logits(probabilities: [Double]) -> [Float] { probabilities.map { Float(Foundation.log($0)) } }

@Suite struct SamplerTests {
    @Test func greedyIsArgmaxLowestIndexOnTiesAndDrawsNothing() throws {
        let sampler = try Sampler(.greedy)
        var generator = RandomGenerator(seed: 1)
        let before = generator
        #expect(try sampler.sample(logits: [0.1, 2, -1, 1.5], generator: &generator).token == 1)
        #expect(try sampler.sample(logits: [1, 3, 3, 2, 3], generator: &generator).token == 1)
        #expect(try sampler.sample(logits: [5, 5], generator: &generator).token == 0)
        #expect(generator == before)
        let row: [Float] = [0.3, -2, 1.25, 0.7]
        let result = try sampler.sample(logits: row, generator: &generator)
        #expect(abs(result.logProb - logSoftmax(row, 2)) < 1e-5)
    }

    @Test func sameSeedSameDrawsDifferentSeedDifferentDraws() throws {
        let options = SamplingOptions(temperature: 1, topK: 12, topP: 0.95)
        let row = (0..<16).map { Float($0 % 5) * 0.1 }
        let first = try draws(options, row, count: 64, seed: 42)
        #expect(try draws(options, row, count: 64, seed: 42) == first)
        #expect(try draws(options, row, count: 64, seed: 43) != first)
        #expect(try draws(SamplingOptions(), row, count: 64, seed: 42) == draws(SamplingOptions(), row, count: 64, seed: 42))
    }

    @Test(arguments: [SamplingOptions(), SamplingOptions(topK: 2), SamplingOptions(topP: 0.5), SamplingOptions(minP: 0.2)])
    func eachSampledTokenDrawsExactlyOneNumber(options: SamplingOptions) throws {
        let sampler = try Sampler(options)
        var generator = RandomGenerator(seed: 9)
        var reference = generator
        for _ in 0..<5 {
            _ = try sampler.sample(logits: [0.5, 1, -0.5, 0.25], generator: &generator)
            _ = reference.next()
            #expect(generator == reference)
        }
    }

    @Test(arguments: [Float(0.5), 1, 2.5])
    func temperatureFrequenciesMatchSoftmax(temperature: Float) throws {
        let row: [Float] = [1, 0.5, 0, -1, 0.2]
        let tokens = try draws(SamplingOptions(temperature: temperature), row, count: 20_000)
        let scaled = row.map { Double($0 / temperature) }
        let maximum = scaled.max() ?? 0
        let weights = scaled.map { Foundation.exp($0 - maximum) }
        let total = weights.reduce(0, +)
        let observed = frequencies(tokens, vocabulary: row.count)
        for (index, weight) in weights.enumerated() {
            #expect(abs(observed[index] - weight / total) < 0.015, "token \(index) at T=\(temperature)")
        }
    }

    @Test func topKNeverLeavesTheKBest() throws {
        let row: [Float] = [0.1, 2.0, -0.3, 1.7, 0.9, 1.8, -2, 0.0]
        let tokens = try draws(SamplingOptions(temperature: 3, topK: 3), row, count: 3_000)
        #expect(Set(tokens) == [1, 3, 5])
        // Tokens tied with the k-th logit stay, as in Hugging Face.
        let tied = try draws(SamplingOptions(temperature: 2, topK: 2), [3, 2, 2, 1], count: 3_000)
        #expect(Set(tied) == [0, 1, 2])
        // topK at least the vocabulary size keeps everything.
        #expect(Set(try draws(SamplingOptions(topK: 10), [0, 0, 0], count: 500)) == [0, 1, 2])
    }

    @Test func topPKeepsSmallestSetReachingTheMass() throws {
        let row = logits(probabilities: [0.15, 0.5, 0.05, 0.3])
        #expect(Set(try draws(SamplingOptions(topP: 0.4), row, count: 1_000)) == [1])
        #expect(Set(try draws(SamplingOptions(topP: 0.75), row, count: 2_000)) == [1, 3])
        #expect(Set(try draws(SamplingOptions(topP: 0.9), row, count: 4_000)) == [0, 1, 3])
        #expect(Set(try draws(SamplingOptions(topP: 0.99), row, count: 8_000)) == [0, 1, 2, 3])
        // The kept tokens are renormalised: 0.5 / 0.8 and 0.3 / 0.8.
        let observed = frequencies(try draws(SamplingOptions(topP: 0.75), row, count: 20_000), vocabulary: 4)
        #expect(abs(observed[1] - 0.625) < 0.015)
        #expect(abs(observed[3] - 0.375) < 0.015)
    }

    @Test func minPKeepsTokensNearTheMaximum() throws {
        let row = logits(probabilities: [0.15, 0.5, 0.05, 0.3])
        #expect(Set(try draws(SamplingOptions(minP: 0.25), row, count: 4_000)) == [0, 1, 3])
        #expect(Set(try draws(SamplingOptions(minP: 0.5), row, count: 2_000)) == [1, 3])
        #expect(Set(try draws(SamplingOptions(minP: 0.7), row, count: 500)) == [1])
        // Same through the sorted path (with an inactive-looking top-k).
        #expect(Set(try draws(SamplingOptions(topK: 3, minP: 0.5), row, count: 2_000)) == [1, 3])
    }

    @Test func filtersApplyInHuggingFaceOrder() throws {
        let row = logits(probabilities: [0.4, 0.3, 0.2, 0.1])
        // Top-k first, renormalised: {0.571, 0.429}, so top-p 0.55 keeps only token 0.
        // (Top-p on the full distribution would have kept tokens 0 and 1.)
        #expect(Set(try draws(SamplingOptions(topK: 2, topP: 0.55), row, count: 1_000)) == [0])
        #expect(Set(try draws(SamplingOptions(topP: 0.55), row, count: 2_000)) == [0, 1])
        // Temperature before top-p: at T = 0.5 the top token alone holds 0.67 of the mass.
        let sharper = logits(probabilities: [0.5, 0.3, 0.15, 0.05])
        #expect(Set(try draws(SamplingOptions(temperature: 0.5, topP: 0.6), sharper, count: 1_000)) == [0])
        #expect(Set(try draws(SamplingOptions(temperature: 1, topP: 0.6), sharper, count: 2_000)) == [0, 1])
    }

    @Test(arguments: [
        SamplingOptions(), SamplingOptions(temperature: 0.3), SamplingOptions(temperature: 2, topK: 2),
        SamplingOptions(topP: 0.6, minP: 0.1), .greedy,
    ])
    func logProbIsRawLogSoftmax(options: SamplingOptions) throws {
        let row: [Float] = [2.5, -1, 0.75, 3.1, -0.2, 1.9]
        let sampler = try Sampler(options)
        var generator = RandomGenerator(seed: 3)
        for _ in 0..<50 {
            let (token, logProb) = try sampler.sample(logits: row, generator: &generator)
            #expect(abs(logProb - logSoftmax(row, token)) < 1e-5)
        }
    }

    @Test func nanLogitsAreNeverChosen() throws {
        let row: [Float] = [.nan, 1, .nan, 0, -.infinity]
        for options in [SamplingOptions(), SamplingOptions(topK: 3), SamplingOptions(topP: 0.99), .greedy] {
            let sampler = try Sampler(options)
            var generator = RandomGenerator(seed: 5)
            var seen = Set<Int>()
            for _ in 0..<500 {
                let (token, logProb) = try sampler.sample(logits: row, generator: &generator)
                seen.insert(token)
                #expect(logProb.isFinite)
                #expect(abs(logProb - logSoftmax(row, token)) < 1e-5)
            }
            #expect(seen.isSubset(of: [1, 3]))
        }
    }

    @Test func nonFiniteRowsThrow() throws {
        for options in [SamplingOptions(), SamplingOptions(topK: 2), .greedy] {
            let sampler = try Sampler(options)
            var generator = RandomGenerator(seed: 5)
            #expect(throws: ScoreError.nonFinite("every logit is NaN or -infinity")) {
                try sampler.sample(logits: [.nan, -.infinity, .nan], generator: &generator)
            }
            #expect(throws: ScoreError.self) { try sampler.sample(logits: [0, .infinity], generator: &generator) }
            #expect(throws: ScoreError.self) { try sampler.sample(logits: [], generator: &generator) }
        }
    }

    @Test func scratchBuffersFollowTheRowSize() throws {
        let sampler = try Sampler(SamplingOptions(topK: 5))
        var generator = RandomGenerator(seed: 11)
        for count in [4, 320, 3, 1, 64] {
            let row = (0..<count).map { Float(($0 * 37) % 11) }
            let token = try sampler.sample(logits: row, generator: &generator).token
            #expect(token >= 0 && token < count)
        }
    }

    @Test func validationRejectsOutOfRangeOptions() throws {
        let bad: [SamplingOptions] = [
            SamplingOptions(temperature: -1), SamplingOptions(temperature: .nan), SamplingOptions(temperature: .infinity),
            SamplingOptions(topK: -1),
            SamplingOptions(topP: 0), SamplingOptions(topP: 1.5), SamplingOptions(topP: .nan),
            SamplingOptions(minP: 1), SamplingOptions(minP: -0.1), SamplingOptions(minP: .nan),
            SamplingOptions(maxNewTokens: -1), SamplingOptions(stopTokenIds: [-3]), SamplingOptions(stopStrings: [""]),
        ]
        for options in bad {
            #expect(throws: ScoreError.self) { try options.validate() }
            #expect(throws: ScoreError.self) { try Sampler(options) }
        }
        try SamplingOptions().validate()
        try SamplingOptions.greedy.validate()
        try SamplingOptions(temperature: 0.7, topK: 40, topP: 0.9, minP: 0.05, maxNewTokens: 0).validate()
        #expect(SamplingOptions.greedy.temperature == 0)
    }

    @Test func optionsDecodeWithDefaults() throws {
        let partial = try JSONDecoder().decode(SamplingOptions.self, from: Data(#"{"temperature":0.5,"stopStrings":["\n"]}"#.utf8))
        #expect(partial == SamplingOptions(temperature: 0.5, stopStrings: ["\n"]))
        #expect(try JSONDecoder().decode(SamplingOptions.self, from: Data("{}".utf8)) == SamplingOptions())
        let full = SamplingOptions(temperature: 0.8, topK: 7, topP: 0.9, minP: 0.1, maxNewTokens: 9,
                                   stopTokenIds: [257], stopStrings: ["END"], seed: 99)
        #expect(try JSONDecoder().decode(SamplingOptions.self, from: JSONEncoder().encode(full)) == full)
    }
}

/// A tokenizer with multi-byte tokens, to split stop strings across token boundaries.
private struct ChunkTokenizer: Tokenizer {
    let pieces: [String]
    var vocabularySize: Int { pieces.count }
    var specialTokens: SpecialTokens { SpecialTokens(eos: 0) }
    func encode(_ text: String, parseSpecialTokens: Bool) -> [Int] { [] }
    func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        try ids.flatMap { id -> [UInt8] in
            guard pieces.indices.contains(id) else { throw ScoreError.invalidArgument("unknown id \(id)") }
            return Array(pieces[id].utf8)
        }
    }
    func id(forSpecialToken name: String) -> Int? { name == pieces[0] ? 0 : nil }
}

@Suite struct StopConditionTests {
    private func feed(_ condition: inout StopCondition, _ ids: [Int]) throws -> [FinishReason?] {
        try ids.map { try condition.append($0) }
    }

    @Test func stopTokenEndsGeneration() throws {
        var condition = try StopCondition(options: SamplingOptions(stopTokenIds: [257]), tokenizer: ByteTokenizer())
        #expect(try feed(&condition, [97, 98, 257]) == [nil, nil, .stopToken])
        #expect(condition.finishReason == .stopToken)
        #expect(condition.generatedCount == 3)
        #expect(try condition.append(97) == .stopToken)  // sticky, records nothing
        #expect(condition.generatedCount == 3)
    }

    @Test func stopStringSplitAcrossByteTokens() throws {
        let tokenizer = ByteTokenizer()
        var condition = try StopCondition(options: SamplingOptions(stopStrings: ["END", "é!"]), tokenizer: tokenizer)
        let text = "the ENd ENEN"
        #expect(try feed(&condition, tokenizer.encode(text)).allSatisfy { $0 == nil })
        #expect(try condition.append(Int(UInt8(ascii: "D"))) == .stopString)
        #expect(condition.matchedStopString == "END")
        // A multi-byte character split over byte tokens.
        var accent = try StopCondition(options: SamplingOptions(stopStrings: ["é!"]), tokenizer: tokenizer)
        #expect(try feed(&accent, tokenizer.encode("caf\u{E9}?\u{E9}!")) == [nil, nil, nil, nil, nil, nil, nil, nil, .stopString])
        // A special token renders as its name, so its name works as a stop string.
        var turn = try StopCondition(options: SamplingOptions(stopStrings: ["<|end_turn|>"]), tokenizer: tokenizer)
        #expect(try feed(&turn, [104, 105, 261]) == [nil, nil, .stopString])
    }

    @Test func stopStringSplitAcrossMultiByteTokens() throws {
        let tokenizer = ChunkTokenizer(pieces: ["<eos>", "he", "llo E", "N", "D of", "ab", "x", "c"])
        var condition = try StopCondition(options: SamplingOptions(stopStrings: ["END"]), tokenizer: tokenizer)
        #expect(try feed(&condition, [1, 2, 3, 4]) == [nil, nil, nil, .stopString])
        // No match across a gap: "ab" "x" "c" never contains "abc".
        var gap = try StopCondition(options: SamplingOptions(stopStrings: ["abc"]), tokenizer: tokenizer)
        #expect(try feed(&gap, [5, 6, 7, 5, 6, 7]).allSatisfy { $0 == nil })
    }

    @Test func unknownTokenThrowsOnlyWhenDecodingIsNeeded() throws {
        var withStrings = try StopCondition(options: SamplingOptions(stopStrings: ["x"]), tokenizer: ByteTokenizer())
        #expect(throws: ScoreError.self) { try withStrings.append(300) }
        var without = try StopCondition(options: SamplingOptions(), tokenizer: ByteTokenizer())
        #expect(try without.append(300) == nil)
    }

    @Test func longOutputStillMatchesAtTheEnd() throws {
        let tokenizer = ByteTokenizer()
        var condition = try StopCondition(options: SamplingOptions(maxNewTokens: 10_000, stopStrings: ["STOP"]), tokenizer: tokenizer)
        let filler = String(repeating: "STO ST S TOPSTO", count: 200)
        #expect(try feed(&condition, tokenizer.encode(filler)).allSatisfy { $0 == nil })
        #expect(try feed(&condition, tokenizer.encode("P")) == [.stopString])
    }

    @Test func maxTokensAndMaxLength() throws {
        let tokenizer = ByteTokenizer()
        var limited = try StopCondition(options: SamplingOptions(maxNewTokens: 3), tokenizer: tokenizer)
        #expect(try feed(&limited, [65, 66, 67]) == [nil, nil, .maxTokens])
        var context = try StopCondition(options: SamplingOptions(), tokenizer: tokenizer, promptLength: 5, maxLength: 7)
        #expect(try feed(&context, [65, 66]) == [nil, .maxLength])
        // A stop token on the last allowed step reports stopToken.
        var both = try StopCondition(options: SamplingOptions(maxNewTokens: 2, stopTokenIds: [257]), tokenizer: tokenizer)
        #expect(try feed(&both, [65, 257]) == [nil, .stopToken])
        // Nothing may be generated at all.
        #expect(try StopCondition(options: SamplingOptions(maxNewTokens: 0), tokenizer: tokenizer).reasonBeforeFirstToken == .maxTokens)
        #expect(try StopCondition(options: SamplingOptions(), tokenizer: tokenizer, promptLength: 8, maxLength: 8).reasonBeforeFirstToken == .maxLength)
        #expect(try StopCondition(options: SamplingOptions(), tokenizer: tokenizer, promptLength: 2, maxLength: 8).reasonBeforeFirstToken == nil)
        #expect(throws: ScoreError.self) { try StopCondition(options: SamplingOptions(), tokenizer: tokenizer, promptLength: -1) }
    }
}
