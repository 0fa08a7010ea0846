import CScoreHeader
import Foundation
import ScoreEngine

/// Writes `values` to a caller buffer of `capacity` entries, reporting the needed size.
func fill<T>(_ values: [T], into buffer: UnsafeMutablePointer<T>?, capacity: Int,
             count out: UnsafeMutablePointer<Int>?) throws {
    let out = try Arguments.required(out, "out_count")
    out.pointee = values.count
    guard Arguments.capacity(capacity) >= values.count else {
        throw APIFailure.bufferTooSmall("the result needs \(values.count) entries, the buffer holds \(capacity)")
    }
    guard !values.isEmpty else { return }
    let buffer = try Arguments.required(buffer, "the output buffer")
    values.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: values.count) }
}

/// `count` token ids from a C array, each checked against `limit`.
func tokenIDs(_ tokens: UnsafePointer<Int32>?, count: Int, limit: Int) throws -> [Int] {
    let tokens = try Arguments.required(tokens, "tokens")
    return try (0..<count).map { i in
        let id = Int(tokens[i])
        guard id >= 0, id < limit else { throw APIFailure.invalid("tokens[\(i)] = \(id) is outside 0..<\(limit)") }
        return id
    }
}

@_cdecl("score_tokenize")
public func scoreTokenize(_ policy: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ tokens: UnsafeMutablePointer<Int32>?,
                          _ capacity: Int, _ outCount: UnsafeMutablePointer<Int>?) -> score_status {
    exported("score_tokenize") {
        let policy = try Policy.handles.object(policy)
        let ids = policy.tokenizer.encode(try Arguments.text(text, "text"))
        try fill(ids.map { Int32($0) }, into: tokens, capacity: capacity, count: outCount)
    }
}

@_cdecl("score_detokenize")
public func scoreDetokenize(_ policy: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ count: Int,
                            _ outText: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> score_status {
    outText?.pointee = nil
    return exported("score_detokenize") {
        let policy = try Policy.handles.object(policy)
        let out = try Arguments.required(outText, "out_text")
        let n = try Arguments.count(count, "count", nonZero: false)
        let ids = n == 0 ? [] : try tokenIDs(tokens, count: n, limit: policy.tokenizer.vocabularySize)
        out.pointee = try Arguments.allocatedText(try policy.tokenizer.decode(ids))
    }
}

@_cdecl("score_policy_logits")
public func scorePolicyLogits(_ policy: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ count: Int,
                              _ logits: UnsafeMutablePointer<Float>?, _ capacity: Int,
                              _ outCount: UnsafeMutablePointer<Int>?) -> score_status {
    exported("score_policy_logits") {
        let policy = try Policy.handles.object(policy)
        let model = policy.model
        let n = try Arguments.count(count, "count")
        guard n <= model.config.maxSeqLen else {
            throw APIFailure.invalid("count \(n) exceeds the model's context of \(model.config.maxSeqLen) tokens")
        }
        let ids = try tokenIDs(tokens, count: n, limit: model.config.vocabSize)
        let needed = n * model.config.vocabSize
        let out = try Arguments.required(outCount, "out_count")
        out.pointee = needed
        guard Arguments.capacity(capacity) >= needed else {
            throw APIFailure.bufferTooSmall("the logits need \(needed) floats, the buffer holds \(capacity)")
        }
        let buffer = try Arguments.required(logits, "logits")
        _ = try model.forward(tokens: ids, targets: [Int](repeating: -1, count: n), batch: 1, seqLen: n)
        guard let values = model.lastLogits, values.count == needed else {
            throw APIFailure(status: SCORE_ERR_INTERNAL, message: "the forward pass kept no logits")
        }
        values.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: needed) }
    }
}

@_cdecl("score_sampling_options_init")
public func scoreSamplingOptionsInit(_ options: UnsafeMutablePointer<score_sampling_options>?) {
    guard let options else { return }
    let defaults = SamplingOptions.generation
    options.pointee = score_sampling_options(
        struct_size: UInt32(MemoryLayout<score_sampling_options>.size), temperature: defaults.temperature,
        top_k: Int32(defaults.topK), top_p: defaults.topP, min_p: defaults.minP,
        max_new_tokens: Int32(defaults.maxNewTokens), seed: defaults.seed)
}

@_cdecl("score_generate")
public func scoreGenerate(_ policy: OpaquePointer?, _ prompt: UnsafePointer<CChar>?,
                          _ options: UnsafePointer<score_sampling_options>?,
                          _ outText: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> score_status {
    outText?.pointee = nil
    return exported("score_generate") {
        let policy = try Policy.handles.object(policy)
        let out = try Arguments.required(outText, "out_text")
        let problem = try Arguments.text(prompt, "prompt")
        let o = try Arguments.options(options, "score_sampling_options", structSize: \.struct_size,
                                      defaults: scoreSamplingOptionsInit)
        guard o.max_new_tokens >= 1 else { throw APIFailure.invalid("max_new_tokens is \(o.max_new_tokens), expected >= 1") }
        guard o.top_k >= 0 else { throw APIFailure.invalid("top_k is \(o.top_k), expected >= 0 (0 = off)") }
        var sampling = policy.format.attemptSampling(temperature: o.temperature, maxNewTokens: Int(o.max_new_tokens),
                                                     seed: o.seed)
        sampling.topK = Int(o.top_k)
        sampling.topP = o.top_p
        sampling.minP = o.min_p
        let generation = try policy.model.generate(prompts: [policy.format.promptTokens(problem)], options: sampling,
                                                   tokenizer: policy.tokenizer)
        out.pointee = try Arguments.allocatedText(try policy.format.text(of: generation.first?.tokens ?? []))
    }
}
