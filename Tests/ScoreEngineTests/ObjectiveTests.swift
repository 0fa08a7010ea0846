import Foundation
import Testing
@testable import ScoreEngine

/// The SCoRe objective: reward shaping, per-turn returns, baselines, KL estimators and the
/// assembled per-token gradient — including the bugs of public re-implementations it must avoid.
struct ObjectiveTests {
    typealias O = SCoReObjective

    static func close(_ a: Float, _ b: Float, _ tolerance: Float = 1e-6) -> Bool {
        abs(a - b) <= tolerance * max(1, abs(a), abs(b))
    }

    static func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-6) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { close($0, $1, tolerance) }
    }

    /// Layout of one row: prompt, prompt, y1, y1, instruction, y2, y2, padding.
    static let rowTurns: [UInt8] = [0, 0, 1, 1, 0, 2, 2, 0]
    static let seqLen = 8

    /// Two episodes (same prompt) with policy ≠ reference on every labelled position.
    static func block() -> (policy: [Float], reference: [Float], turns: [UInt8]) {
        let policy: [Float] = [0, 0, -0.5, -1.2, 0, -0.3, -2.0, 0,
                               0, 0, -0.9, -0.1, 0, -1.5, -0.7, 0]
        let reference: [Float] = [0, 0, -0.8, -1.0, 0, -0.6, -1.6, 0,
                                  0, 0, -0.4, -0.3, 0, -1.1, -0.9, 0]
        return (policy, reference, rowTurns + rowTurns)
    }

    static func k3Slope(_ lp: Float, _ ref: Float) -> Float { Float(1 - exp(Double(ref) - Double(lp))) }

    // MARK: Shaping, returns, baselines

    @Test func progressShaping() {
        func r(_ r1: Float, _ r2: Float) -> Float { O.shapedSecondTurnReward(r1: r1, r2: r2, shaping: .progress, alpha: 10) }
        #expect(r(0, 1) == 11 && r(1, 0) == -10 && r(1, 1) == 1 && r(0, 0) == 0)
        #expect(Self.close(r(0.2, 0.5), 0.5 + 10 * 0.3))
    }

    @Test func flipAndNoShaping() {
        func f(_ r1: Float, _ r2: Float) -> Float { O.shapedSecondTurnReward(r1: r1, r2: r2, shaping: .flip, alpha: 10) }
        #expect(f(0, 1) == 11 && f(1, 0) == 0 && f(1, 1) == 1 && f(0, 0) == 0)
        #expect(f(0.4, 0.6) == 10.6 && f(0.5, 0.9) == 0.9 && f(0.2, 0.4) == 0.4)
        #expect(O.shapedSecondTurnReward(r1: 0, r2: 1, shaping: .none, alpha: 10) == 1)
        #expect(O.shapedSecondTurnReward(r1: 1, r2: 0, shaping: .none, alpha: 10) == 0)
    }

    @Test func turnReturnsPerStage() {
        let options = ObjectiveOptions()
        let one = O.turnReturns(stage: .stageI, r1: 0.7, r2: 1, options: options)
        #expect(one.turn1 == 0 && one.turn2 == 1)  // no reward on turn 1, no shaping in Stage I
        let two = O.turnReturns(stage: .stageII, r1: 0, r2: 1, options: options)
        #expect(two.turn1 == 0 && two.turn2 == 11)
        let back = O.turnReturns(stage: .stageII, r1: 1, r2: 0, options: options)
        #expect(back.turn1 == 1 && back.turn2 == -10)
        let single = O.turnReturns(stage: .singleTurn, r1: 1, r2: 0.3, options: options)
        #expect(single.turn1 == 1 && single.turn2 == 0)
        let w = O.klWeights(stage: .stageI, options: options)
        #expect(w.turn1 == 1.0 && w.turn2 == 0.01)
        #expect(O.klWeights(stage: .stageII, options: options) == (0.01, 0.01))
        #expect(O.klWeights(stage: .singleTurn, options: options) == (0.01, 0))
    }

    /// With the turn-2 state baseline, progress shaping credits turn 2 with (1 + α)·r2: the −α·r1
    /// part, fixed once attempt 1 is sampled, is gone; flip shaping and Stage I are unchanged.
    @Test func turn2StateBaselineDropsTheAttempt1Part() {
        let options = ObjectiveOptions(turn2StateBaseline: true)
        for (r1, r2) in [(Float(0), Float(1)), (1, 0), (1, 1), (0, 0)] {
            let r = O.turnReturns(stage: .stageII, r1: r1, r2: r2, options: options)
            #expect(r.turn1 == r1 && r.turn2 == 11 * r2)
        }
        var flip = options
        flip.shaping = .flip
        #expect(O.turnReturns(stage: .stageII, r1: 1, r2: 0, options: flip).turn2 == 0)
        #expect(O.turnReturns(stage: .stageII, r1: 0, r2: 1, options: flip).turn2 == 11)
        #expect(O.turnReturns(stage: .stageI, r1: 1, r2: 0, options: options).turn2 == 0)
    }

    @Test func leaveOneOut() {
        // R = 1: others {0, 0, 1}, mean 1/3 → 2/3. R = 0: others {1, 0, 1}, mean 2/3 → −2/3.
        let third: Float = 1.0 / 3
        #expect(Self.close(O.advantages(returns: [1, 0, 0, 1], groups: [0, 0, 0, 0], baseline: .leaveOneOut),
                           [1 - third, 0 - 2 * third, 0 - 2 * third, 1 - third]))
        // Two interleaved prompts: {1, 0, 2} and {5, 7}.
        #expect(Self.close(O.advantages(returns: [1, 5, 0, 7, 2], groups: [0, 1, 0, 1, 0], baseline: .leaveOneOut),
                           [0, -2, -1.5, 2, 1.5]))
        // A prompt with one sample has no baseline.
        #expect(O.advantages(returns: [3], groups: [9], baseline: .leaveOneOut) == [3])
        #expect(Self.close(O.advantages(returns: [3, 1, 0], groups: [4, 2, 2], baseline: .leaveOneOut), [3, 1, -1]))
    }

    @Test func batchMeanAndNone() {
        #expect(Self.close(O.advantages(returns: [1, 0, 0, 1], groups: [0, 0, 1, 1], baseline: .batchMean),
                           [0.5, -0.5, -0.5, 0.5]))
        #expect(O.advantages(returns: [1, 0, 3], groups: [0, 0, 1], baseline: .none) == [1, 0, 3])
    }

    // MARK: KL estimators

    @Test func klEstimators() {
        for (lp, ref) in [(-0.5, -0.8), (-1.2, -0.4), (-2.0, -2.0), (-0.01, -3.0), (-4.0, -0.2)] as [(Float, Float)] {
            let d = Double(lp) - Double(ref)
            #expect(O.kl(logProb: lp, referenceLogProb: ref, estimator: .k1) == Float(d))
            #expect(O.klGradient(logProb: lp, referenceLogProb: ref, estimator: .k1) == 1)
            let k3 = O.kl(logProb: lp, referenceLogProb: ref, estimator: .k3)
            #expect(k3 >= 0 && Self.close(k3, Float(exp(-d) + d - 1), 1e-5))
            // Central differences of k3 as a function of log π, in Double.
            func f(_ x: Double) -> Double { exp(Double(ref) - x) + x - Double(ref) - 1 }
            let h = 1e-5, numeric = (f(Double(lp) + h) - f(Double(lp) - h)) / (2 * h)
            let analytic = O.klGradient(logProb: lp, referenceLogProb: ref, estimator: .k3)
            #expect(Self.close(analytic, Float(numeric), 1e-5), "\(analytic) vs \(numeric)")
        }
        #expect(O.kl(logProb: -1, referenceLogProb: -1, estimator: .k3) == 0)
        #expect(O.klGradient(logProb: -1, referenceLogProb: -1, estimator: .k3) == 0)
    }

    // MARK: Assembled gradient

    @Test func stageIPutsKLGradientOnTurnOneAndNoReward() throws {
        let (policy, reference, turns) = Self.block()
        let options = ObjectiveOptions()
        // Different r1 per episode: a leaked turn-1 reward would make turn-1 gradients depend on it.
        let result = try O.assemble(policy: policy, reference: reference, turns: turns, seqLen: Self.seqLen,
                                    rewards1: [1, 0], rewards2: [0, 1], groups: [0, 0],
                                    stage: .stageI, options: options)
        let n: Float = 2
        let a2: [Float] = [-1, 1]  // leave-one-out of r2 = [0, 1]
        for i in policy.indices {
            let e = i / Self.seqLen, slope = Self.k3Slope(policy[i], reference[i])
            switch turns[i] {
            case 0: #expect(result.dLogProbs[i] == 0)
            case 1:
                #expect(result.dLogProbs[i] != 0, "Stage I turn-1 KL must reach turn-1 tokens")
                #expect(Self.close(result.dLogProbs[i], options.beta2 * slope / n), "position \(i)")
            default:
                #expect(Self.close(result.dLogProbs[i], (-a2[e] + options.beta1 * slope) / n), "position \(i)")
            }
        }
        #expect(result.meanReturnTurn1 == 0 && result.advantagesTurn1 == [0, 0])
        #expect(result.tokensTurn1 == 4 && result.tokensTurn2 == 4)
        // k1: the turn-1 gradient is the constant β2/N.
        var k1 = options
        k1.klEstimator = .k1
        let linear = try O.assemble(policy: policy, reference: reference, turns: turns, seqLen: Self.seqLen,
                                    rewards1: [1, 0], rewards2: [0, 1], groups: [0, 0], stage: .stageI, options: k1)
        for i in policy.indices where turns[i] == 1 { #expect(Self.close(linear.dLogProbs[i], k1.beta2 / n)) }
    }

    @Test func stageIICreditsEachTurnWithItsOwnAdvantage() throws {
        let (policy, _, turns) = Self.block()
        // policy == reference: the k3 slope is 0, leaving only the reward terms.
        let result = try O.assemble(policy: policy, reference: policy, turns: turns, seqLen: Self.seqLen,
                                    rewards1: [1, 0], rewards2: [1, 1], groups: [0, 0],
                                    stage: .stageII, options: ObjectiveOptions())
        // Returns: turn 1 [1, 0]; turn 2 progress-shaped [1, 11]. Leave-one-out: [1, −1] and [−10, 10].
        #expect(result.advantagesTurn1 == [1, -1] && result.advantagesTurn2 == [-10, 10])
        let expected: [Float] = [0, 0, -0.5, -0.5, 0, 5, 5, 0,
                                 0, 0, 0.5, 0.5, 0, -5, -5, 0]
        #expect(Self.close(result.dLogProbs, expected))
        #expect(result.meanReturnTurn1 == 0.5 && result.meanReturnTurn2 == 6)
        #expect(result.meanAdvantageTurn1 == 0 && result.meanAdvantageTurn2 == 0)
        // No single scalar for both turns: within an episode the two turns get different values.
        #expect(result.dLogProbs[2] != result.dLogProbs[5] && result.dLogProbs[10] != result.dLogProbs[13])
    }

    @Test func singleTurnLeavesTurnTwoAlone() throws {
        let (policy, reference, turns) = Self.block()
        let options = ObjectiveOptions(baseline: .none)
        let result = try O.assemble(policy: policy, reference: reference, turns: turns, seqLen: Self.seqLen,
                                    rewards1: [1, 0], rewards2: [0, 1], groups: [0, 0],
                                    stage: .singleTurn, options: options)
        let a1: [Float] = [1, 0]
        for i in policy.indices {
            if turns[i] == 1 {
                let slope = Self.k3Slope(policy[i], reference[i])
                #expect(Self.close(result.dLogProbs[i], (-a1[i / Self.seqLen] + options.beta1 * slope) / 2))
            } else {
                #expect(result.dLogProbs[i] == 0)
            }
        }
        #expect(result.klTurn2 > 0)  // still measured
    }

    @Test func zeroAdvantageAtTheReferenceGivesNoGradient() throws {
        let (policy, _, turns) = Self.block()
        for stage in [TrainingStage.stageI, .stageII, .singleTurn] {
            let result = try O.assemble(policy: policy, reference: policy, turns: turns, seqLen: Self.seqLen,
                                        rewards1: [1, 1], rewards2: [0, 0], groups: [3, 3],
                                        stage: stage, options: ObjectiveOptions())
            #expect(result.dLogProbs.allSatisfy { $0 == 0 }, "\(stage)")
            #expect(result.klTurn1 == 0 && result.klTurn2 == 0)
        }
    }

    @Test func lossMatchesDirectComputationAndItsGradient() throws {
        let (policy, reference, turns) = Self.block()
        let options = ObjectiveOptions(beta1: 0.05, beta2: 0.5, shaping: .flip, baseline: .batchMean)
        let r1: [Float] = [0, 1], r2: [Float] = [1, 0.2]
        for stage in [TrainingStage.stageI, .stageII, .singleTurn] {
            func run(_ p: [Float]) throws -> ObjectiveResult {
                try O.assemble(policy: p, reference: reference, turns: turns, seqLen: Self.seqLen,
                               rewards1: r1, rewards2: r2, groups: [0, 1], stage: stage, options: options)
            }
            let result = try run(policy)
            let betas = O.klWeights(stage: stage, options: options)
            var direct = 0.0
            for i in policy.indices where turns[i] == 1 || (turns[i] == 2 && stage != .singleTurn) {
                let e = i / Self.seqLen
                let a = turns[i] == 1 ? result.advantagesTurn1[e] : result.advantagesTurn2[e]
                let beta = turns[i] == 1 ? betas.turn1 : betas.turn2
                let k = O.kl(logProb: policy[i], referenceLogProb: reference[i], estimator: .k3)
                direct += Double(-a * policy[i] + beta * k) / 2
            }
            #expect(Self.close(result.loss, Float(direct), 1e-5), "\(stage)")
            // dLogProbs is the derivative of the reported loss (so the loss carries log π).
            for i in policy.indices where turns[i] != 0 {
                var up = policy, down = policy
                up[i] += 1e-2
                down[i] -= 1e-2
                let numeric = (try run(up).loss - run(down).loss) / 2e-2
                #expect(Self.close(result.dLogProbs[i], numeric, 2e-3), "\(stage) position \(i)")
            }
        }
    }

    @Test func perEpisodeFormMatchesTheBlock() throws {
        let (policy, reference, turns) = Self.block()
        let episodes = (0..<2).map { e in
            let r = (e * Self.seqLen)..<((e + 1) * Self.seqLen)
            return EpisodeLogProbs(policy: Array(policy[r]), reference: Array(reference[r]), turns: Array(turns[r]))
        }
        let a = try O.assemble(episodes: episodes, rewards1: [0, 1], rewards2: [1, 1], groups: [0, 0],
                               stage: .stageII, options: ObjectiveOptions())
        let b = try O.assemble(policy: policy, reference: reference, turns: turns, seqLen: Self.seqLen,
                               rewards1: [0, 1], rewards2: [1, 1], groups: [0, 0],
                               stage: .stageII, options: ObjectiveOptions())
        #expect(a == b)
    }

    @Test func invalidInputsThrow() throws {
        let (policy, reference, turns) = Self.block()
        func run(policy: [Float] = policy, turns: [UInt8] = turns, rewards1: [Float] = [0, 1],
                 rewards2: [Float] = [1, 0], groups: [Int] = [0, 0],
                 options: ObjectiveOptions = ObjectiveOptions()) throws {
            _ = try O.assemble(policy: policy, reference: reference, turns: turns, seqLen: Self.seqLen,
                               rewards1: rewards1, rewards2: rewards2, groups: groups, stage: .stageII, options: options)
        }
        for bad in [Float.nan, .infinity] {
            let error = #expect(throws: ScoreError.self) { try run(rewards2: [1, bad]) }
            guard case .nonFinite = error else { Issue.record("expected nonFinite, got \(String(describing: error))"); continue }
        }
        var nanPolicy = policy
        nanPolicy[3] = .nan
        #expect(throws: ScoreError.self) { try run(policy: nanPolicy) }
        nanPolicy = policy
        nanPolicy[0] = .nan  // an untrained position is ignored
        #expect(throws: Never.self) { try run(policy: nanPolicy) }
        #expect(throws: ScoreError.self) { try run(policy: Array(policy.dropLast())) }
        #expect(throws: ScoreError.self) { try run(rewards1: [0]) }
        #expect(throws: ScoreError.self) { try run(groups: [0, 0, 0]) }
        var badTurns = turns
        badTurns[0] = 3
        #expect(throws: ScoreError.self) { try run(turns: badTurns) }
        #expect(throws: ScoreError.self) { try run(options: ObjectiveOptions(beta1: -1)) }
        #expect(throws: ScoreError.self) {
            _ = try O.assemble(episodes: [EpisodeLogProbs(policy: [0, -1], reference: [0], turns: [0, 1])],
                               rewards1: [0], rewards2: [0], groups: [0], stage: .stageI, options: ObjectiveOptions())
        }
        #expect(throws: ScoreError.self) {
            _ = try O.assemble(episodes: [], rewards1: [], rewards2: [], groups: [], stage: .stageI, options: ObjectiveOptions())
        }
    }

    // MARK: Options and packing

    @Test func optionsDefaultsAndDecoding() throws {
        let defaults = ObjectiveOptions()
        #expect(defaults.beta1 == 0.01 && defaults.beta2 == 1 && defaults.alpha == 10)
        #expect(defaults.shaping == .progress && defaults.klEstimator == .k3 && defaults.baseline == .leaveOneOut)
        let partial = try JSONDecoder().decode(ObjectiveOptions.self, from: Data(#"{"beta2": 0.25, "shaping": "flip"}"#.utf8))
        #expect(partial == ObjectiveOptions(beta2: 0.25, shaping: .flip))
        let round = try JSONDecoder().decode(ObjectiveOptions.self, from: JSONEncoder().encode(partial))
        #expect(round == partial)
        #expect(throws: ScoreError.self) { try ObjectiveOptions(alpha: .nan).validate() }
    }

    @Test func breakPenaltyLowersOnlyBrokenRightAnswersInStageII() throws {
        let options = ObjectiveOptions(alpha: 10, turn2StateBaseline: true, breakPenalty: 4)
        let plain = ObjectiveOptions(alpha: 10, turn2StateBaseline: true)
        for (r1, r2) in [(Float(1), Float(1)), (0, 1), (0, 0), (1, 0)] {
            let with = O.turnReturns(stage: .stageII, r1: r1, r2: r2, options: options)
            let without = O.turnReturns(stage: .stageII, r1: r1, r2: r2, options: plain)
            #expect(with.turn1 == without.turn1)
            #expect(with.turn2 == without.turn2 - (r1 == 1 && r2 == 0 ? 4 : 0), "r1 \(r1), r2 \(r2)")
            // Stage I and single-turn steps ignore it.
            #expect(O.turnReturns(stage: .stageI, r1: r1, r2: r2, options: options)
                    == O.turnReturns(stage: .stageI, r1: r1, r2: r2, options: plain))
            #expect(O.turnReturns(stage: .singleTurn, r1: r1, r2: r2, options: options)
                    == O.turnReturns(stage: .singleTurn, r1: r1, r2: r2, options: plain))
        }
        #expect(throws: ScoreError.self) { try ObjectiveOptions(breakPenalty: -1).validate() }
        #expect(throws: ScoreError.self) { try ObjectiveOptions(breakPenalty: .nan).validate() }
        let saved = try JSONEncoder().encode(ObjectiveOptions(turn2StateBaseline: true))
        var object = try JSONSerialization.jsonObject(with: saved) as? [String: Any] ?? [:]
        object.removeValue(forKey: "breakPenalty")
        let earlier = try JSONDecoder().decode(ObjectiveOptions.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(earlier.breakPenalty == 0 && earlier.turn2StateBaseline)
    }

    @Test func turnLabelsFromAPackedEpisode() throws {
        let segments = SelfCorrectionExchange.segments(prompt: [5, 6], attempt1: [7, 8], instruction: [9],
                                                       attempt2: [10, 11], trained: .both)
        #expect(segments.map(\.trained) == [false, true, false, true])
        let batch = try SequenceBatch(sequences: [segments], padID: 0, maxSeqLen: 16, seqLen: 8)
        #expect(try O.turnLabels(targetSegments: batch.targetSegments) == [0, 1, 1, 0, 2, 2, 0, 0])
        #expect(throws: ScoreError.self) { try O.turnLabels(targetSegments: [-1, 2]) }
        #expect(throws: ScoreError.self) { try O.turnLabels(targetSegments: [4]) }

        // Only the second attempt trained (the SFT baselines): turn 1 positions carry no label.
        let second = SelfCorrectionExchange.segments(prompt: [5, 6], attempt1: [7, 8], instruction: [9],
                                                     attempt2: [10, 11], trained: .attempt2)
        let secondBatch = try SequenceBatch(sequences: [second], padID: 0, maxSeqLen: 16, seqLen: 8)
        #expect(try O.turnLabels(targetSegments: secondBatch.targetSegments) == [0, 0, 0, 0, 2, 2, 0, 0])
        // A single-attempt exchange ends after attempt 1.
        let single = SelfCorrectionExchange.segments(prompt: [5], attempt1: [7], instruction: [9], attempt2: nil,
                                                     trained: .both)
        #expect(single.count == 2)
    }
}
