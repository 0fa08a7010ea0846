import Testing
@testable import ScoreEngine

/// Several second attempts per first attempt: the rollout continues each first attempt from a copy
/// of its cache, and the credit compares each second attempt with its siblings only (a per-state
/// baseline) while counting each first attempt once at turn 1.
struct PerStateBaselineTests {
    static func close(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 }
    }

    @Test func copiesCountOnceInABaseline() {
        // Prompt 0: first attempts A (returns 1, copied twice) and B (0, copied twice); prompt 1: C (2), D (4).
        let returns: [Float] = [1, 1, 0, 0, 2, 2, 4, 4]
        let groups = [0, 0, 0, 0, 1, 1, 1, 1], samples = [0, 0, 1, 1, 2, 2, 3, 3]
        let loo = SCoReObjective.advantages(returns: returns, groups: groups, samples: samples, baseline: .leaveOneOut)
        #expect(Self.close(loo, [1, 1, -1, -1, -2, -2, 2, 2]))
        let mean = SCoReObjective.advantages(returns: returns, groups: groups, samples: samples, baseline: .batchMean)
        #expect(Self.close(mean, returns.map { $0 - 7.0 / 4 }))
        // Without copies nothing changes.
        #expect(SCoReObjective.advantages(returns: returns, groups: groups, baseline: .leaveOneOut)
                == SCoReObjective.advantages(returns: returns, groups: groups, samples: Array(0..<8), baseline: .leaveOneOut))
    }

    @Test func secondAttemptsAreComparedWithTheirSiblings() throws {
        // One prompt, first attempts 0 (wrong) and 1 (right), each continued twice.
        let rewards1: [Float] = [0, 0, 1, 1], rewards2: [Float] = [1, 0, 1, 1]
        let options = ObjectiveOptions(baseline: .leaveOneOut)
        let credit = try EpisodeCredit(rewards1: rewards1, rewards2: rewards2, groups: [0, 0, 0, 0],
                                       firstAttempts: [0, 0, 1, 1], stage: .stageI, options: options)
        // Turn 2: the fix is +1 against its sibling; keeping a right answer earns nothing.
        #expect(Self.close(credit.advantages2, [1, -1, 0, 0]))
        let pooled = try EpisodeCredit(rewards1: rewards1, rewards2: rewards2, groups: [0, 0, 0, 0], stage: .stageI,
                                       options: options)
        let third: Float = 1.0 / 3
        #expect(Self.close(pooled.advantages2, [third, -1, third, third]))
        // Stage II turn 1: each first attempt against the other one, not against its own copy.
        let stageII = try EpisodeCredit(rewards1: rewards1, rewards2: rewards2, groups: [0, 0, 0, 0],
                                        firstAttempts: [0, 0, 1, 1], stage: .stageII, options: options)
        #expect(Self.close(stageII.advantages1, [-1, -1, 1, 1]))
        #expect(throws: ScoreError.self) {
            try EpisodeCredit(rewards1: [0, 0], rewards2: [0, 0], groups: [0, 1], firstAttempts: [5, 5], stage: .stageI,
                              options: options)
        }
        #expect(throws: ScoreError.self) {
            try EpisodeCredit(rewards1: [0, 0], rewards2: [0, 0], groups: [0, 0], firstAttempts: [0], stage: .stageI,
                              options: options)
        }
    }

    @Test func rolloutContinuesEachFirstAttemptFromItsCopies() throws {
        let model = try RolloutTests.model(), format = try RolloutTests.format()
        let prompts = [format.promptTokens("1+2="), format.promptTokens("30+45=")]
        let sampled = format.attemptSampling(temperature: 1, maxNewTokens: 6)
        var generator = RandomGenerator(seed: 3)
        let episodes = try model.rollout(prompts: prompts, samplesPerPrompt: 2, secondAttempts: 3, format: format,
                                         turn1: sampled, turn2: sampled, generator: &generator)
        #expect(episodes.map(\.group) == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
        #expect(episodes.map(\.firstAttempt) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
        for first in 0..<4 {
            let siblings = episodes.filter { $0.firstAttempt == first }
            #expect(Set(siblings.map(\.attempt1.tokens)).count == 1 && siblings.allSatisfy { $0.attempt2 != nil })
        }
        #expect(Set(episodes.map(\.attempt2?.tokens)).count > 4, "second attempts of one first attempt should differ")

        // Greedy: every copy's attempt 2 equals the one-copy rollout's, so each copy's cache is intact.
        let greedy = format.attemptSampling(temperature: 0, maxNewTokens: 6)
        var g1 = RandomGenerator(seed: 1), g2 = RandomGenerator(seed: 1)
        let copied = try model.rollout(prompts: prompts, samplesPerPrompt: 1, secondAttempts: 2, format: format,
                                       turn1: greedy, turn2: greedy, generator: &g1)
        let single = try model.rollout(prompts: prompts, samplesPerPrompt: 1, format: format, turn1: greedy,
                                       turn2: greedy, generator: &g2)
        let copiedSeconds: [[Int]?] = copied.map { $0.attempt2?.tokens }
        let singleSeconds: [[Int]?] = single.flatMap { episode -> [[Int]?] in [episode.attempt2?.tokens, episode.attempt2?.tokens] }
        #expect(copiedSeconds == singleSeconds)
        let singleFirsts: [Generation] = single.flatMap { [$0.attempt1, $0.attempt1] }
        #expect(copied.map(\.attempt1) == singleFirsts)
        var g3 = RandomGenerator(seed: 1)
        #expect(throws: ScoreError.self) {
            try model.rollout(prompts: prompts, samplesPerPrompt: 1, secondAttempts: 0, format: format, turn1: greedy,
                              turn2: greedy, generator: &g3)
        }
    }

    @Test func trainerStepsSampleSecondAttemptsPerFirst() throws {
        var batches = [[VerifierItem]]()
        let verifier = ClosureVerifier { items in
            batches.append(items)
            return items.indices.map { Float($0 % 2) }
        }
        // 2 prompts × 2 first attempts × 3 second attempts.
        let trainer = try SCoReTrainerTests.trainer(plan: .score(stageI: 1, stageII: 1, rounds: 1), verifier: verifier,
                                                    secondAttempts: 3)
        for _ in 0..<2 {
            let stats = try trainer.step()
            #expect(stats.metrics.count == 12 && stats.gradNorm.isFinite && stats.gradNorm > 0)
        }
        #expect(batches.allSatisfy { $0.count == 24 })
        let single = try SCoReTrainerTests.trainer(plan: .singleTurn(steps: 1), verifier: verifier, secondAttempts: 3)
        #expect(try single.step().metrics.count == 4)
        var options = SCoReOptions()
        options.secondAttemptsPerFirst = 0
        #expect(throws: ScoreError.self) { try options.validate() }
    }
}
