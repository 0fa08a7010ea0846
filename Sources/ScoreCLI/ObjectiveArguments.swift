import ArgumentParser
import Foundation
import ScoreEngine

/// The objective's switches, shared by the commands that run SCoRe.
struct ObjectiveArguments: ParsableArguments {
    @Option(help: "β1 (KL weight of the last attempt in Stage I, of every attempt in Stage II).") var beta1: Float = 0.01
    @Option(help: "β2 (KL weight in Stage I of every attempt before the last: turn 1 of two).") var beta2: Float = 1.0
    @Option(help: "α (Stage II reward shaping).") var alpha: Float = 10
    @Option(help: "Stage II reward shaping: progress, flip or none.") var shaping = "progress"
    @Option(help: "KL penalty: k3 (reverse KL per token), k2 (forward per token), k1-in-reward (forward KL of the turn, in the return: the paper's), k1 (no pull).")
    var kl = "k3"
    @Option(help: "Baseline of each turn's returns: leave-one-out, batch-mean or none.") var baseline = "leave-one-out"
    @Flag(help: "Stage II: drop the part of the shaped turn-2 reward that depends on attempt 1 alone (−α·r1).")
    var turn2StateBaseline = false
    @Option(help: "Stage II: subtract λ from the turn-2 reward when a right first attempt was broken (not in the paper; default 0).")
    var breakPenalty: Float = 0
    @Option(help: "Second attempts per first attempt; from 2 on, each is compared with its siblings (per-state baseline).")
    var secondAttempts = 1
    @Option(help: "Attempts per training episode (2...\(Transformer.maximumAttempts)); attempt k + 1 follows the instruction after attempt k. Stage I keeps every attempt before the last near the reference, Stage II shapes each by its progress over the one before.")
    var attempts = 2
    @Flag(help: "With --attempts above 2: Stage I holds only attempt 1 near the reference and rewards every later attempt (default: holds every attempt before the last, rewards the last).")
    var stage1HoldsFirstOnly = false
    @Option(help: "Temperature of attempt 1 in two-attempt steps (default: the training temperature); when it differs, turn 1's policy-gradient term is masked (its samples are not the policy's own).")
    var firstTemperature: Float?

    /// Checked when the command line is parsed, before any work.
    func validate() throws {
        try objective().validate()
        guard secondAttempts >= 1 else { throw ValidationError("--second-attempts must be at least 1 (got \(secondAttempts))") }
        guard (2...Transformer.maximumAttempts).contains(attempts) else {
            throw ValidationError("--attempts must be in 2...\(Transformer.maximumAttempts) (got \(attempts))")
        }
        guard attempts == 2 || secondAttempts == 1 else {
            throw ValidationError("--second-attempts above 1 needs --attempts 2")
        }
        if let firstTemperature, !(firstTemperature.isFinite && firstTemperature >= 0) {
            throw ValidationError("--first-temperature must be finite and >= 0 (got \(firstTemperature))")
        }
    }

    /// The objective options these arguments name; unknown names are a validation error.
    func objective() throws -> ObjectiveOptions {
        ObjectiveOptions(beta1: beta1, beta2: beta2, alpha: alpha,
                         shaping: try Self.choice(shaping, RewardShaping.allCases, "--shaping"),
                         klEstimator: try Self.choice(kl, KLEstimator.allCases, "--kl"),
                         baseline: try Self.choice(baseline, BaselineKind.allCases, "--baseline"),
                         turn2StateBaseline: turn2StateBaseline, breakPenalty: breakPenalty,
                         stageIHoldsFirstOnly: stage1HoldsFirstOnly)
    }

    /// Sets the objective, the second attempts per first attempt, the attempts per episode and the
    /// first-attempt temperature of `options`.
    func apply(to options: inout SCoReOptions) throws {
        options.objective = try objective()
        options.secondAttemptsPerFirst = secondAttempts
        options.attempts = attempts
        options.firstAttemptTemperature = firstTemperature
    }

    /// The case whose name matches `name`, ignoring case, hyphens and underscores
    /// ("k1-in-reward" names `k1InReward`).
    static func choice<T: RawRepresentable>(_ name: String, _ cases: [T], _ option: String) throws -> T
    where T.RawValue == String {
        func key(_ text: String) -> String { text.lowercased().filter { $0 != "-" && $0 != "_" } }
        guard let found = cases.first(where: { key($0.rawValue) == key(name) }) else {
            let names = cases.map { $0.rawValue.replacingOccurrences(of: "([a-z0-9])([A-Z])", with: "$1-$2",
                                                                      options: .regularExpression).lowercased() }
            throw ValidationError("\(option) must be one of \(names.joined(separator: ", ")) (got \"\(name)\")")
        }
        return found
    }
}
