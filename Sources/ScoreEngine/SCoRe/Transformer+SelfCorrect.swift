import Foundation

/// How sure the model was of attempt 1, from the log-probs of its sampled tokens (every token,
/// including the closing end-of-turn, which is part of the answer). Each measure lies in [0, 1].
public enum ConfidenceMeasure: String, Codable, Sendable, CaseIterable {
    /// exp(mean token log-prob): the geometric mean of the token probabilities. Independent of
    /// the answer's length, so long and short answers compare fairly.
    case meanProbability
    /// exp(min token log-prob): the probability of the least likely token. Catches one shaky
    /// step (a guessed digit) in an otherwise confident answer.
    case minimumProbability
    /// exp(sum of token log-probs): the probability of the whole attempt. Shrinks with length,
    /// so a fixed threshold gates long answers more often.
    case sequenceProbability

    /// The confidence of an attempt with these per-token log-probs, in [0, 1]; 0 for an empty
    /// attempt (no answer, no confidence). Sums are taken in double precision.
    public func confidence(of logProbs: [Float]) -> Float {
        guard !logProbs.isEmpty else { return 0 }
        let exponent: Double
        switch self {
        case .meanProbability: exponent = logProbs.reduce(0) { $0 + Double($1) } / Double(logProbs.count)
        case .minimumProbability: exponent = Double(logProbs.min() ?? 0)
        case .sequenceProbability: exponent = logProbs.reduce(0) { $0 + Double($1) }
        }
        guard !exponent.isNaN else { return 0 }
        return Float(min(1, max(0, exp(exponent))))
    }
}

/// How `Transformer.selfCorrect` samples and when it revises.
/// When decoded from JSON, missing keys take their default values.
public struct SelfCorrectOptions: Codable, Sendable, Equatable {
    /// Sampling temperature of every attempt; 0 means greedy (argmax, no random numbers).
    public var temperature: Float
    /// Upper bound on the tokens of each attempt (the end-of-turn token included).
    public var maxNewTokens: Int
    /// Seed of the one random stream every attempt draws from.
    public var seed: UInt64
    /// Attempts at most (1 ... `Transformer.maximumAttempts`): attempt k + 1 follows the instruction
    /// after attempt k over the whole conversation. 1 answers without revising.
    public var attempts: Int
    /// Confidence threshold: when set, attempt k + 1 is generated only for prompts whose attempt-k
    /// confidence is strictly below it (0 never revises, anything above 1 always does); nil
    /// always revises.
    public var gate: Float?
    /// How attempt 1's confidence is measured (reported even without a gate).
    public var confidence: ConfidenceMeasure

    /// The gate's threshold when a host turns the gate on without choosing one (score.h's and
    /// Python's default): un-gated revision of a confident answer mostly adds noise.
    public static let defaultGateThreshold: Float = 0.9

    /// Creates options; every argument has the default shown (the C API's and Python's).
    public init(temperature: Float = 0, maxNewTokens: Int = 16, seed: UInt64 = 0, attempts: Int = 2,
                gate: Float? = nil, confidence: ConfidenceMeasure = .meanProbability) {
        self.temperature = temperature
        self.maxNewTokens = maxNewTokens
        self.seed = seed
        self.attempts = attempts
        self.gate = gate
        self.confidence = confidence
    }

    /// Throws `ScoreError.invalidArgument` naming the first option out of range.
    public func validate() throws {
        guard temperature.isFinite, temperature >= 0 else {
            throw ScoreError.invalidArgument(
                "self-correction temperature must be a finite number ≥ 0 (0 = greedy), got \(temperature)")
        }
        guard maxNewTokens >= 1 else {
            throw ScoreError.invalidArgument("self-correction maxNewTokens must be ≥ 1, got \(maxNewTokens)")
        }
        guard (1...Transformer.maximumAttempts).contains(attempts) else {
            throw ScoreError.invalidArgument(
                "self-correction attempts must be in 1...\(Transformer.maximumAttempts), got \(attempts)")
        }
        if let gate, !gate.isFinite {
            throw ScoreError.invalidArgument("self-correction gate must be a finite confidence threshold, got \(gate)")
        }
    }

    private enum CodingKeys: String, CodingKey { case temperature, maxNewTokens, seed, attempts, gate, confidence }

    /// Decodes options; a missing key takes its default value.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = SelfCorrectOptions()
        temperature = try container.decodeIfPresent(Float.self, forKey: .temperature) ?? defaults.temperature
        maxNewTokens = try container.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? defaults.maxNewTokens
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? defaults.seed
        attempts = try container.decodeIfPresent(Int.self, forKey: .attempts) ?? defaults.attempts
        gate = try container.decodeIfPresent(Float.self, forKey: .gate)
        confidence = try container.decodeIfPresent(ConfidenceMeasure.self, forKey: .confidence) ?? defaults.confidence
    }
}

/// The outcome of self-correcting one prompt.
public struct SelfCorrection: Sendable, Equatable {
    /// Attempt 1 as sampled, with its per-token log-probs.
    public var attempt1: Generation
    /// Attempt 2, nil when the gate judged attempt 1 confident enough (or one attempt was asked).
    public var attempt2: Generation?
    /// Attempts 3, 4, … (when more than two were asked and the gate let them through).
    public var later: [Generation] = []
    /// Attempt 1's confidence under the options' measure, in [0, 1].
    public var confidence: Float
    /// The final answer's text, without its closing end-of-turn token.
    public var finalText: String

    /// True when attempt 2 was generated.
    public var revised: Bool { attempt2 != nil }

    /// Every attempt generated, in order.
    public var attempts: [Generation] { [attempt1] + (attempt2.map { [$0] } ?? []) + later }

    /// The answer to use: the last attempt generated.
    public var final: Generation { later.last ?? attempt2 ?? attempt1 }
}

/// Inference with self-correction: attempt 1 for every prompt, then — unless a confidence gate
/// says the latest attempt is good enough — the next, continuing from the KV cache, up to
/// `options.attempts`.
extension Transformer {
    /// Self-corrects every prompt (all batched in one cache, one slot each; chunk long lists to
    /// bound memory). Returns one result per prompt, in order, and how many prompts the gate kept
    /// from being revised at all. Greedy options give exactly the episodes of a greedy `rollout`
    /// with one sample per prompt.
    public func selfCorrect(_ prompts: [String], format: SelfCorrectionFormat,
                            options: SelfCorrectOptions) throws -> (results: [SelfCorrection], skipped: Int) {
        try options.validate()
        guard !prompts.isEmpty else { return ([], 0) }
        let sampling = format.attemptSampling(temperature: options.temperature, maxNewTokens: options.maxNewTokens,
                                              seed: options.seed)
        var generator = RandomGenerator(seed: options.seed)
        let revising = options.attempts > 1
        let (cache, first) = try sampleFirstAttempts(
            prompts: prompts.map(format.promptTokens), samplesPerPrompt: 1, format: format, turn1: sampling,
            turn2: revising ? sampling : nil, laterAttempts: options.attempts - 1, generator: &generator)
        let confidences = first.map { options.confidence.confidence(of: $0.logProbs) }
        func unsure(_ confidence: Float) -> Bool { options.gate.map { confidence < $0 } ?? true }
        let revise = revising ? first.indices.filter { unsure(confidences[$0]) } : []
        var attempts = first.map { [$0] }
        var active = revise
        while !active.isEmpty {
            let latest = attempts.map { $0[$0.count - 1] }
            let next = try sampleSecondAttempts(slots: active, after: latest, cache: cache, format: format,
                                                turn2: sampling, generator: &generator)
            for slot in active {
                guard let attempt = next[slot]?.attempt else { throw ScoreError.invalidArgument("slot \(slot) was not continued") }
                attempts[slot].append(attempt)
            }
            active = active.filter { slot in
                guard let latest = attempts[slot].last, attempts[slot].count < options.attempts else { return false }
                return unsure(options.confidence.confidence(of: latest.logProbs))
            }
        }
        var results = [SelfCorrection]()
        results.reserveCapacity(first.count)
        for (slot, made) in attempts.enumerated() {
            let last = made[made.count - 1]
            results.append(SelfCorrection(attempt1: made[0], attempt2: made.count > 1 ? made[1] : nil,
                                          later: Array(made.dropFirst(2)), confidence: confidences[slot],
                                          finalText: try format.text(of: last.tokens)))
        }
        return (results, first.count - revise.count)
    }
}
