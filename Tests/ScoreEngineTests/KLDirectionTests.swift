import Foundation
import Testing
@testable import ScoreEngine

/// Which divergence each KL option actually pulls towards: the objective's expected gradient,
/// computed exactly by enumerating every sequence of a tiny two-token policy, against finite
/// differences of the divergences themselves.
struct KLDirectionTests {
    static let vocab = 3

    /// A two-token autoregressive policy: logits of token 1, and of token 2 given token 1.
    struct TwoTokenPolicy {
        var first: [Double]
        var second: [[Double]]

        var parameters: [Double] { first + second.flatMap { $0 } }

        init(_ values: [Double]) {
            first = Array(values[0..<vocab])
            second = (0..<vocab).map { Array(values[(vocab + $0 * vocab)..<(vocab + ($0 + 1) * vocab)]) }
        }

        static func logSoftmax(_ z: [Double]) -> [Double] {
            let m = z.max() ?? 0
            let log = m + Foundation.log(z.reduce(0) { $0 + exp($1 - m) })
            return z.map { $0 - log }
        }

        func logProb1(_ a: Int) -> Double { Self.logSoftmax(first)[a] }
        func logProb2(_ b: Int, after a: Int) -> Double { Self.logSoftmax(second[a])[b] }
    }

    static let policy = TwoTokenPolicy([0.3, -0.7, 1.1, 0.5, -0.2, 0.0, -1.0, 0.8, 0.4, 0.2, 0.9, -0.6])
    static let reference = TwoTokenPolicy([0.0, 0.4, 0.2, -0.3, 0.6, 0.1, 0.7, -0.5, 0.0, -0.2, 0.1, 0.5])

    /// KL(p‖q) over whole sequences (`forward`), or KL(q‖p) when not.
    static func sequenceKL(_ p: TwoTokenPolicy, _ q: TwoTokenPolicy, forward: Bool) -> Double {
        let (x, y) = forward ? (p, q) : (q, p)
        var total = 0.0
        for a in 0..<vocab {
            let pa = exp(x.logProb1(a))
            total += pa * (x.logProb1(a) - y.logProb1(a))
            for b in 0..<vocab {
                total += pa * exp(x.logProb2(b, after: a)) * (x.logProb2(b, after: a) - y.logProb2(b, after: a))
            }
        }
        return total
    }

    /// Central differences of a function of the policy's logits.
    static func numericGradient(_ f: (TwoTokenPolicy) -> Double) -> [Double] {
        let theta = policy.parameters, h = 1e-6
        return theta.indices.map { i in
            var plus = theta, minus = theta
            plus[i] += h
            minus[i] -= h
            return (f(TwoTokenPolicy(plus)) - f(TwoTokenPolicy(minus))) / (2 * h)
        }
    }

    /// E over sequences of Σ_t (∂L/∂log π_t) · ∇_θ log π_t, with ∂L/∂log π from the objective (no
    /// reward, β = 1 on both tokens, one episode): the gradient the trainer follows on average.
    static func expectedGradient(_ estimator: KLEstimator) throws -> [Double] {
        let options = ObjectiveOptions(beta1: 1, klEstimator: estimator, baseline: .none)
        let credit = try EpisodeCredit(rewards1: [0], rewards2: [0], groups: [0], stage: .singleTurn, options: options)
        var gradient = [Double](repeating: 0, count: policy.parameters.count)
        for a in 0..<vocab {
            for b in 0..<vocab {
                let weight = exp(policy.logProb1(a) + policy.logProb2(b, after: a))
                var sums = ObjectiveSums()
                let d = try sums.add(
                    policy: [Float(policy.logProb1(a)), Float(policy.logProb2(b, after: a))],
                    reference: [Float(reference.logProb1(a)), Float(reference.logProb2(b, after: a))],
                    turns: [1, 1], spans: [0..<2], episodes: 0..<1, credit: credit)
                // ∇ log softmax(z)[k] = e_k − softmax(z).
                let p1 = TwoTokenPolicy.logSoftmax(policy.first).map(exp)
                let p2 = TwoTokenPolicy.logSoftmax(policy.second[a]).map(exp)
                for k in 0..<vocab {
                    gradient[k] += weight * Double(d[0]) * ((k == a ? 1 : 0) - p1[k])
                    gradient[vocab + a * vocab + k] += weight * Double(d[1]) * ((k == b ? 1 : 0) - p2[k])
                }
            }
        }
        return gradient
    }

    static func close(_ a: [Double], _ b: [Double], _ tolerance: Double = 2e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }

    @Test func k1InRewardFollowsTheSequenceKLOfThePaper() throws {
        let expected = Self.numericGradient { Self.sequenceKL($0, Self.reference, forward: true) }
        let actual = try Self.expectedGradient(.k1InReward)
        #expect(Self.close(actual, expected), "\(actual) vs \(expected)")
    }

    @Test func k2FollowsTheForwardKLPerToken() throws {
        let forward = Self.numericGradient { Self.sequenceKL($0, Self.reference, forward: true) }
        let actual = try Self.expectedGradient(.k2)
        // Token 2's logits: exactly the forward KL's gradient (nothing comes after token 2).
        #expect(Self.close(Array(actual[Self.vocab...]), Array(forward[Self.vocab...])))
        // Token 1's: the forward KL of token 1 alone; the effect of token 1 on token 2's KL is left out.
        let firstOnly = Self.numericGradient { p in
            (0..<Self.vocab).reduce(0) { $0 + exp(p.logProb1($1)) * (p.logProb1($1) - Self.reference.logProb1($1)) }
        }
        #expect(Self.close(Array(actual[..<Self.vocab]), Array(firstOnly[..<Self.vocab])))
        #expect(!Self.close(Array(actual[..<Self.vocab]), Array(forward[..<Self.vocab]), 1e-3))
    }

    @Test func k3FollowsTheReverseKLPerToken() throws {
        let actual = try Self.expectedGradient(.k3)
        // Token 2's logits: the gradient of KL(π_ref‖π) of token 2 given token 1, weighted by how
        // often the policy produces that token 1 (which stays fixed).
        let weights = (0..<Self.vocab).map { exp(Self.policy.logProb1($0)) }
        let reverseSecond = Self.numericGradient { p in
            (0..<Self.vocab).reduce(0) { total, a in
                total + weights[a] * (0..<Self.vocab).reduce(0) { inner, b in
                    let r = Self.reference.logProb2(b, after: a)
                    return inner + exp(r) * (r - p.logProb2(b, after: a))
                }
            }
        }
        #expect(Self.close(Array(actual[Self.vocab...]), Array(reverseSecond[Self.vocab...])))
        let forward = Self.numericGradient { Self.sequenceKL($0, Self.reference, forward: true) }
        #expect(!Self.close(Array(actual[Self.vocab...]), Array(forward[Self.vocab...]), 1e-3))
    }

    @Test func k1HasNoExpectedPull() throws {
        let actual = try Self.expectedGradient(.k1)
        #expect(Self.close(actual, [Double](repeating: 0, count: actual.count), 1e-6), "\(actual)")
    }

    @Test func k1InRewardCreditsThePenaltyStillToComeInTheTurn() throws {
        // One episode: turn 1 at positions 1–2, turn 2 at 4–5; β = 1 everywhere in Stage II.
        let policy: [Float] = [0, -0.5, -1.2, 0, -0.3, -2.0]
        let reference: [Float] = [0, -0.8, -1.0, 0, -0.6, -1.6]
        let turns: [UInt8] = [0, 1, 1, 0, 2, 2]
        let options = ObjectiveOptions(beta1: 1, klEstimator: .k1InReward, baseline: .none)
        let credit = try EpisodeCredit(rewards1: [0], rewards2: [0], groups: [0], stage: .stageII, options: options)
        var sums = ObjectiveSums()
        let d = try sums.add(policy: policy, reference: reference, turns: turns, spans: [0..<6], episodes: 0..<1,
                             credit: credit)
        let diff = zip(policy, reference).map { $0 - $1 }
        let expected: [Float] = [0, diff[1] + diff[2], diff[2], 0, diff[4] + diff[5], diff[5]]
        #expect(zip(d, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(d) vs \(expected)")
    }
}
