import CScoreHeader
import Foundation
import ScoreEngine

/// The memory behind one score_correction: the struct the host reads and the arrays and strings
/// it points into, released together by score_correction_free.
final class Correction {
    let result: UnsafeMutablePointer<score_correction>
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private var tokenArrays: [UnsafeMutableBufferPointer<Int32>] = []
    private var floatArrays: [UnsafeMutableBufferPointer<Float>] = []
    private var textArrays: [UnsafeMutableBufferPointer<UnsafePointer<CChar>?>] = []

    init(_ correction: SelfCorrection, format: SelfCorrectionFormat) throws {
        result = .allocate(capacity: 1)
        result.initialize(to: score_correction())
        let attempt1 = try text(try format.text(of: correction.attempt1.tokens))
        let attempt2 = try correction.attempt2.map { try text(try format.text(of: $0.tokens)) }
        result.pointee.attempt1 = UnsafePointer(attempt1)
        result.pointee.attempt2 = attempt2.map { UnsafePointer($0) }
        result.pointee.final_text = UnsafePointer(attempt2 ?? attempt1)
        result.pointee.tokens1 = UnsafePointer(tokens(correction.attempt1.tokens))
        result.pointee.logprobs1 = UnsafePointer(floats(correction.attempt1.logProbs))
        result.pointee.count1 = correction.attempt1.tokens.count
        if let second = correction.attempt2 {
            result.pointee.tokens2 = UnsafePointer(tokens(second.tokens))
            result.pointee.logprobs2 = UnsafePointer(floats(second.logProbs))
            result.pointee.count2 = second.tokens.count
        }
        result.pointee.confidence = correction.confidence
        result.pointee.revised = correction.revised
        let later = try correction.later.map { try text(try format.text(of: $0.tokens)) }
        let all = [attempt1] + (attempt2.map { [$0] } ?? []) + later
        let texts = UnsafeMutableBufferPointer<UnsafePointer<CChar>?>.allocate(capacity: all.count)
        for (i, value) in all.enumerated() { texts[i] = UnsafePointer(value) }
        textArrays.append(texts)
        result.pointee.attempt_count = Int32(all.count)
        result.pointee.attempts = UnsafePointer(texts.baseAddress)
        if let last = all.last { result.pointee.final_text = UnsafePointer(last) }
    }

    deinit {
        strings.forEach { Foundation.free($0) }
        tokenArrays.forEach { $0.deallocate() }
        floatArrays.forEach { $0.deallocate() }
        textArrays.forEach { $0.deallocate() }
        result.deallocate()
    }

    private func text(_ value: String) throws -> UnsafeMutablePointer<CChar> {
        let copy = try Arguments.allocatedText(value)
        strings.append(copy)
        return copy
    }

    private func tokens(_ values: [Int]) -> UnsafeMutablePointer<Int32> {
        let buffer = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, values.count))
        for (i, value) in values.enumerated() { buffer[i] = Int32(clamping: value) }
        tokenArrays.append(buffer)
        return buffer.baseAddress!
    }

    private func floats(_ values: [Float]) -> UnsafeMutablePointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, values.count))
        for (i, value) in values.enumerated() { buffer[i] = value }
        floatArrays.append(buffer)
        return buffer.baseAddress!
    }

    /// Live corrections by the address of their struct (what the host holds).
    private static let lock = NSLock()
    nonisolated(unsafe) private static var live: [UnsafeMutableRawPointer: Correction] = [:]

    static func register(_ correction: Correction) -> UnsafeMutablePointer<score_correction> {
        lock.withLock { live[UnsafeMutableRawPointer(correction.result)] = correction }
        return correction.result
    }

    static func release(_ pointer: UnsafeMutablePointer<score_correction>?) {
        guard let pointer else { return }
        let removed = lock.withLock { live.removeValue(forKey: UnsafeMutableRawPointer(pointer)) }
        withExtendedLifetime(removed) {}
    }
}

@_cdecl("score_correct_options_init")
public func scoreCorrectOptionsInit(_ options: UnsafeMutablePointer<score_correct_options>?) {
    guard let options else { return }
    let defaults = SelfCorrectOptions()
    options.pointee = score_correct_options(
        struct_size: UInt32(MemoryLayout<score_correct_options>.size), temperature: defaults.temperature,
        max_new_tokens: Int32(defaults.maxNewTokens), seed: defaults.seed, gated: defaults.gate != nil,
        gate_threshold: defaults.gate ?? SelfCorrectOptions.defaultGateThreshold,
        confidence: SCORE_CONFIDENCE_MEAN_PROBABILITY, attempts: Int32(defaults.attempts))
}

/// The engine's options for a score_correct_options (NULL: defaults).
private func selfCorrectOptions(_ options: UnsafePointer<score_correct_options>?) throws -> SelfCorrectOptions {
    let o = try Arguments.options(options, "score_correct_options", structSize: \.struct_size,
                                  defaults: scoreCorrectOptionsInit)
    let measure: ConfidenceMeasure
    switch o.confidence {
    case SCORE_CONFIDENCE_MEAN_PROBABILITY: measure = .meanProbability
    case SCORE_CONFIDENCE_MINIMUM_PROBABILITY: measure = .minimumProbability
    case SCORE_CONFIDENCE_SEQUENCE_PROBABILITY: measure = .sequenceProbability
    default: throw APIFailure.invalid("unknown confidence measure \(o.confidence) (expected SCORE_CONFIDENCE_*)")
    }
    if o.gated {
        guard o.gate_threshold.isFinite, (0...1).contains(o.gate_threshold) else {
            throw APIFailure.invalid("gate_threshold is \(o.gate_threshold), expected a number in [0, 1]")
        }
    }
    guard o.max_new_tokens >= 1 else { throw APIFailure.invalid("max_new_tokens is \(o.max_new_tokens), expected >= 1") }
    guard (1...Int32(SCORE_MAX_ATTEMPTS)).contains(o.attempts) else {
        throw APIFailure.invalid("attempts is \(o.attempts), expected 1...\(SCORE_MAX_ATTEMPTS)")
    }
    return SelfCorrectOptions(temperature: o.temperature, maxNewTokens: Int(o.max_new_tokens), seed: o.seed,
                              attempts: Int(o.attempts), gate: o.gated ? o.gate_threshold : nil, confidence: measure)
}

@_cdecl("score_self_correct")
public func scoreSelfCorrect(_ policy: OpaquePointer?, _ prompt: UnsafePointer<CChar>?,
                             _ options: UnsafePointer<score_correct_options>?,
                             _ out: UnsafeMutablePointer<UnsafeMutablePointer<score_correction>?>?) -> score_status {
    out?.pointee = nil
    return exported("score_self_correct") {
        let policy = try Policy.handles.object(policy)
        let out = try Arguments.required(out, "out")
        let problem = try Arguments.text(prompt, "prompt")
        let settings = try selfCorrectOptions(options)
        let (results, _) = try policy.model.selfCorrect([problem], format: policy.format, options: settings)
        guard let first = results.first else {
            throw APIFailure(status: SCORE_ERR_INTERNAL, message: "self-correction returned no result")
        }
        out.pointee = Correction.register(try Correction(first, format: policy.format))
    }
}

@_cdecl("score_majority_vote")
public func scoreMajorityVote(_ policy: OpaquePointer?, _ prompt: UnsafePointer<CChar>?, _ samples: Int32,
                              _ selfCorrect: Bool, _ options: UnsafePointer<score_correct_options>?,
                              _ outAnswer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                              _ outVotes: UnsafeMutablePointer<Int32>?) -> score_status {
    outAnswer?.pointee = nil
    outVotes?.pointee = 0
    return exported("score_majority_vote") {
        let policy = try Policy.handles.object(policy)
        let out = try Arguments.required(outAnswer, "out_answer")
        let problem = try Arguments.text(prompt, "prompt")
        guard (1...1024).contains(samples) else { throw APIFailure.invalid("samples is \(samples), expected 1...1024") }
        let settings = try selfCorrectOptions(options)
        let vote = try policy.model.majorityVote(problem, samples: Int(samples), format: policy.format,
                                                 temperature: settings.temperature, maxNewTokens: settings.maxNewTokens,
                                                 seed: settings.seed, selfCorrect: selfCorrect && settings.attempts > 1,
                                                 attempts: max(2, settings.attempts))
        if let answer = vote.answer {
            out.pointee = try Arguments.allocatedText(answer)
            outVotes?.pointee = Int32(clamping: vote.votes[answer] ?? 0)
        }
    }
}

@_cdecl("score_correction_free")
public func scoreCorrectionFree(_ correction: UnsafeMutablePointer<score_correction>?) {
    Correction.release(correction)
}
