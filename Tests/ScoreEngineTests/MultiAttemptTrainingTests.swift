import Foundation
import Testing
@testable import ScoreEngine

/// Training on more than two attempts: two attempts reproduce the two-attempt step as it was
/// recorded before attempts became an option, a third attempt is sampled over the whole
/// conversation, credited and trained, and the options are checked.
struct MultiAttemptTrainingTests {
    typealias T = SCoReTrainerTests
    /// Rewards from the bytes of each response, so that samples differ in correctness.
    static let verifier = ClosureVerifier { items in items.map { Float(($0.response.utf8.reduce(0) { $0 + Int($1) }) % 2) } }

    static func trainer(attempts: Int?, kl: KLEstimator, verifier: any Verifier = verifier) throws -> SCoReTrainer {
        let model = try Transformer(config: T.config, seed: 3)
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        var options = SCoReOptions()
        options.promptsPerStep = 3
        options.samplesPerPrompt = 2
        options.maxNewTokens = 3
        options.learningRate = 1e-3
        options.plan = .score(stageI: 1, stageII: 1, rounds: 1)
        options.objective.klEstimator = kl
        options.seed = 11
        if let attempts { options.attempts = attempts }
        return try SCoReTrainer(policy: model, problems: T.problems, format: format, verifier: verifier, options: options)
    }

    static func near(_ a: Double, _ b: Double, _ relative: Double) -> Bool { abs(a - b) <= relative * max(abs(b), 1e-3) }

    /// A Stage I and a Stage II step, default options and `attempts = 2`, against the figures the
    /// two-attempt trainer printed for the same seed before `attempts` existed (loss, KL per turn,
    /// gradient norm, accuracies, entropy, and the sum of the weights after both steps).
    @Test func twoAttemptsReproduceTheRecordedSteps() throws {
        typealias Step = (loss: Double, kl1: Double, kl2: Double, norm: Double, acc1: Double, acc2: Double, entropy: Double)
        let recorded: [(KLEstimator, [Step], Double)] = [
            (.k3, [(0.11441302, 0, 0, 5.2531986, 1.0 / 3, 2.0 / 3, 5.5616474),
                   (0.15172085, 0.0010850071, 0.0010140641, 34.72325, 1.0 / 3, 0.5, 5.561239)], 166.68889598159876),
            (.k1InReward, [(0.11441302, 0, 0, 5.2531986, 1.0 / 3, 2.0 / 3, 5.5616474),
                           (0.15185641, -0.02033504, 0.035989285, 34.72274, 1.0 / 3, 0.5, 5.561239)], 166.68888579928534),
        ]
        for (kl, steps, weightSum) in recorded {
            for attempts in [nil, 2] {
                let trainer = try Self.trainer(attempts: attempts, kl: kl)
                for expected in steps {
                    let s = try trainer.step()
                    let label = "\(kl) attempts \(attempts.map(String.init) ?? "default") step \(s.step)"
                    #expect(Self.near(Double(s.loss), expected.loss, 1e-5), "\(label): loss \(s.loss)")
                    // A KL is a small difference of log-probabilities: relative 1e-4 (the recording's
                    // last digits move with the CPU's BLAS kernels).
                    #expect(Self.near(Double(s.klTurn1), expected.kl1, 1e-4) && Self.near(Double(s.klTurn2), expected.kl2, 1e-4),
                            "\(label): KL \(s.klTurn1) \(s.klTurn2)")
                    #expect(Self.near(Double(s.gradNorm), expected.norm, 1e-5), "\(label): norm \(s.gradNorm)")
                    #expect(s.metrics.accuracyT1 == expected.acc1 && s.metrics.accuracyT2 == expected.acc2, "\(label)")
                    #expect(Self.near(Double(s.entropy), expected.entropy, 1e-5), "\(label): entropy \(s.entropy)")
                }
                let sum = trainer.policy.parameters.array.reduce(0.0) { $0 + Double($1) }
                #expect(abs(sum - weightSum) < 2e-6, "\(kl): weights sum to \(sum)")
            }
        }
    }

    @Test func threeAttemptsAreSampledScoredAndTrained() throws {
        var seen = [[VerifierItem]]()
        let recording = ClosureVerifier { items in
            seen.append(items)
            return try Self.verifier.score(items)
        }
        let trainer = try Self.trainer(attempts: 3, kl: .k1InReward, verifier: recording)
        for _ in 0..<2 {
            let before = trainer.policy.parameters.array
            let stats = try trainer.step()
            #expect(stats.gradNorm.isFinite && stats.gradNorm > 0 && stats.loss.isFinite)
            let changed = trainer.policy.parameters.array != before
            #expect(changed, "step \(stats.step) changed nothing")
            // One call: every first attempt, then every second, then every third.
            let items = try #require(seen.last)
            let episodes = 3 * 2
            #expect(items.map(\.turn) == [1, 2, 3].flatMap { Array(repeating: $0, count: episodes) })
            for e in 0..<episodes {
                #expect(items[2 * episodes + e].firstAttempt == items[e].response)
            }
            // The step's "turn 2" figures are the last attempt's.
            let last = items[(2 * episodes)...].filter { (try? Self.verifier.score([$0]))?.first == 1 }.count
            #expect(stats.metrics.accuracyT2 == Double(last) / Double(episodes))
        }
    }

    @Test func aThirdAttemptEpisodeIsTheWholeConversation() throws {
        let trainer = try Self.trainer(attempts: 3, kl: .k3)
        let model = trainer.policy, format = trainer.format
        var generator = RandomGenerator(seed: 5)
        let prompts = T.problems.map { format.promptTokens($0.prompt) }
        let greedy = format.attemptSampling(temperature: 0, maxNewTokens: 3)
        let episodes = try model.rollout(prompts: prompts, samplesPerPrompt: 1, attempts: 3, format: format,
                                         turn1: greedy, turn2: greedy, generator: &generator)
        for (episode, prompt) in zip(episodes, prompts) {
            #expect(episode.attempts.count == 3 && episode.later.count == 1)
            var tokens = prompt + episode.attempt1.tokens + episode.instruction + (episode.attempt2?.tokens ?? [])
            tokens += episode.later[0].instruction
            let fresh = try model.generate(prompts: [tokens], options: greedy, tokenizer: format.tokenizer)[0]
            #expect(fresh.tokens == episode.later[0].attempt.tokens)
            let segments = episode.segments
            #expect(segments.count == 6 && segments.map(\.trained) == [false, true, false, true, false, true])
            #expect(segments.reduce(0) { $0 + $1.tokens.count } == episode.count)
            let batch = try SequenceBatch(sequences: [segments], padID: format.padID, maxSeqLen: T.config.maxSeqLen)
            let labels = try SCoReObjective.turnLabels(targetSegments: batch.targetSegments)
            #expect(labels.filter { $0 == 3 }.count == episode.later[0].attempt.tokens.count)
        }
    }

    @Test func returnsAndWeightsOfThreeAttempts() throws {
        var o = ObjectiveOptions()
        o.alpha = 10
        o.shaping = .progress
        let r: [Float] = [0, 1, 0]
        #expect(SCoReObjective.turnReturns(stage: .stageI, rewards: r, options: o) == [0, 0, 0])
        #expect(SCoReObjective.turnReturns(stage: .stageI, rewards: [0, 0, 1], options: o) == [0, 0, 1])
        #expect(SCoReObjective.turnReturns(stage: .stageII, rewards: r, options: o) == [0, 11, -10])
        #expect(SCoReObjective.turnReturns(stage: .singleTurn, rewards: [1, 0, 1], options: o) == [1, 0, 0])
        o.turn2StateBaseline = true
        #expect(SCoReObjective.turnReturns(stage: .stageII, rewards: r, options: o) == [0, 11, 0])
        #expect((1...3).map { SCoReObjective.klWeight(stage: .stageI, turn: $0, attempts: 3, options: o) }
                == [o.beta2, o.beta2, o.beta1])
        #expect((1...3).map { SCoReObjective.klWeight(stage: .stageII, turn: $0, attempts: 3, options: o) }
                == [o.beta1, o.beta1, o.beta1])

        // Holding attempt 1 alone in Stage I: every later attempt rewarded, β1 after attempt 1; two
        // attempts are unchanged.
        var first = o
        first.stageIHoldsFirstOnly = true
        #expect(SCoReObjective.turnReturns(stage: .stageI, rewards: r, options: first) == [0, 1, 0])
        #expect((1...3).map { SCoReObjective.klWeight(stage: .stageI, turn: $0, attempts: 3, options: first) }
                == [o.beta2, o.beta1, o.beta1])
        #expect(SCoReObjective.turnReturns(stage: .stageI, rewards: [1, 0], options: first) == [0, 0])
        #expect((1...2).map { SCoReObjective.klWeight(stage: .stageI, turn: $0, attempts: 2, options: first) }
                == [o.beta2, o.beta1])

        // Turn-3 tokens get −A3/N plus their KL slope; labels beyond the credit's turns are refused.
        o.turn2StateBaseline = false
        o.klEstimator = .k3
        let credit = try EpisodeCredit(rewards: [[0, 1], [1, 1], [0, 1]], groups: [0, 0], stage: .stageII, options: o)
        #expect(credit.turns == 3 && credit.advantages[2] == [-11, 11])  // returns −10 and 1
        var sums = ObjectiveSums()
        let policy: [Float] = [-1, -2, -0.5, -1, -3, -0.2], reference: [Float] = [-1, -2, -0.5, -1, -3, -0.7]
        let d = try sums.add(policy: policy, reference: reference, turns: [1, 2, 3, 1, 2, 3], spans: [0..<3, 3..<6],
                             episodes: 0..<2, credit: credit)
        let slope = -expm1(-0.5)  // k3 at log π − log π_ref = 0.5
        #expect(abs(Double(d[5]) - (-11 + Double(o.beta1) * slope) / 2) < 1e-5)
        #expect(abs(Double(d[2]) - 11.0 / 2) < 1e-5)
        var again = ObjectiveSums()
        #expect(throws: ScoreError.self) {
            try again.add(policy: [-1], reference: [-1], turns: [4], spans: [0..<1], episodes: 0..<1, credit: credit)
        }
    }

    @Test func attemptOptionsAreChecked() throws {
        for (attempts, second) in [(1, 1), (Transformer.maximumAttempts + 1, 1), (3, 2)] {
            var o = SCoReOptions()
            o.attempts = attempts
            o.secondAttemptsPerFirst = second
            #expect(throws: ScoreError.self) { try o.validate() }
        }
        var o = SCoReOptions()
        o.attempts = 4
        let decoded = try JSONDecoder().decode(SCoReOptions.self, from: JSONEncoder().encode(o))
        #expect(decoded.attempts == 4)
        let earlier = try JSONDecoder().decode(SCoReOptions.self, from: Data("{}".utf8))
        #expect(earlier.attempts == 2)
    }
}
