import CScoreHeader
import Foundation
import ScoreEngine

/// What a score_policy handle stands for: a model, its tokenizer and the two-attempt format.
final class Policy {
    let model: Transformer
    let format: SelfCorrectionFormat
    var tokenizer: any Tokenizer { format.tokenizer }

    init(model: Transformer, instruction: String?) throws {
        let tokenizer = ByteTokenizer()
        guard model.config.vocabSize >= tokenizer.vocabularySize else {
            throw APIFailure.invalid("vocab_size \(model.config.vocabSize) is smaller than the tokenizer's "
                                     + "\(tokenizer.vocabularySize) ids")
        }
        self.model = model
        format = try SelfCorrectionFormat(tokenizer: tokenizer,
                                          instruction: instruction ?? SelfCorrectionFormat.shortInstruction)
    }

    static let handles = HandleTable<Policy>(kind: "score_policy")
}

/// Threads and instruction from score_policy_options (NULL: defaults).
private func policySettings(_ options: UnsafePointer<score_policy_options>?) throws -> (threads: Int, instruction: String?) {
    let o = try Arguments.options(options, "score_policy_options", structSize: \.struct_size,
                                  defaults: scorePolicyOptionsInit)
    guard (1...256).contains(o.threads) else {
        throw APIFailure.invalid("score_policy_options.threads is \(o.threads), expected 1...256")
    }
    return (Int(o.threads), try Arguments.optionalText(o.instruction, "score_policy_options.instruction"))
}

@_cdecl("score_model_config_init")
public func scoreModelConfigInit(_ config: UnsafeMutablePointer<score_model_config>?) {
    guard let config else { return }
    let tiny = ModelConfig.tiny
    config.pointee = score_model_config(
        struct_size: UInt32(MemoryLayout<score_model_config>.size), vocab_size: Int32(tiny.vocabSize),
        hidden_size: Int32(tiny.dim), num_layers: Int32(tiny.nLayers), num_heads: Int32(tiny.nHeads),
        num_kv_heads: Int32(tiny.nKVHeads), intermediate_size: Int32(tiny.hiddenDim),
        max_seq_len: Int32(tiny.maxSeqLen), head_dim: 0, rope_theta: tiny.ropeTheta, norm_eps: tiny.normEps,
        tie_embeddings: tiny.tieEmbeddings, qkv_bias: tiny.qkvBias)
}

@_cdecl("score_policy_options_init")
public func scorePolicyOptionsInit(_ options: UnsafeMutablePointer<score_policy_options>?) {
    guard let options else { return }
    options.pointee = score_policy_options(struct_size: UInt32(MemoryLayout<score_policy_options>.size),
                                           threads: 1, instruction: nil)
}

@_cdecl("score_policy_create")
public func scorePolicyCreate(_ config: UnsafePointer<score_model_config>?, _ seed: UInt64,
                              _ options: UnsafePointer<score_policy_options>?,
                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> score_status {
    out?.pointee = nil
    return exported("score_policy_create") {
        let out = try Arguments.required(out, "out")
        let c = try Arguments.options(config, "score_model_config", structSize: \.struct_size,
                                      defaults: scoreModelConfigInit)
        let settings = try policySettings(options)
        guard c.head_dim >= 0 else { throw APIFailure.invalid("head_dim is \(c.head_dim), expected >= 0 (0 = derived)") }
        let modelConfig = ModelConfig(
            vocabSize: Int(c.vocab_size), dim: Int(c.hidden_size), nLayers: Int(c.num_layers), nHeads: Int(c.num_heads),
            nKVHeads: Int(c.num_kv_heads), hiddenDim: Int(c.intermediate_size), maxSeqLen: Int(c.max_seq_len),
            ropeTheta: try Arguments.finite(c.rope_theta, "rope_theta"), normEps: try Arguments.finite(c.norm_eps, "norm_eps"),
            tieEmbeddings: c.tie_embeddings, qkvBias: c.qkv_bias, headDim: c.head_dim == 0 ? nil : Int(c.head_dim))
        try modelConfig.validate()
        try checkMemory(modelConfig)
        let model = try Transformer(config: modelConfig, seed: seed, threads: settings.threads)
        out.pointee = Policy.handles.register(try Policy(model: model, instruction: settings.instruction))
    }
}

/// Refuses a model whose weights and gradients alone would not fit in this machine's memory.
func checkMemory(_ config: ModelConfig) throws {
    guard let count = config.parameterCount else { throw APIFailure.invalid("the model's parameter count overflows") }
    let bytes = Double(count) * 4 * 2
    let physical = Double(ProcessInfo.processInfo.physicalMemory)
    guard bytes <= physical else {
        throw APIFailure.invalid("a model of \(count) parameters needs \(Int(bytes / 1e9)) GB for weights and "
                                 + "gradients; this machine has \(Int(physical / 1e9)) GB")
    }
}

@_cdecl("score_policy_load")
public func scorePolicyLoad(_ path: UnsafePointer<CChar>?, _ options: UnsafePointer<score_policy_options>?,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> score_status {
    out?.pointee = nil
    return exported("score_policy_load") {
        let out = try Arguments.required(out, "out")
        let folder = try Arguments.text(path, "path")
        let settings = try policySettings(options)
        let model = try Transformer.load(from: URL(fileURLWithPath: folder), threads: settings.threads)
        out.pointee = Policy.handles.register(try Policy(model: model, instruction: settings.instruction))
        Log.write(SCORE_LOG_INFO, "loaded a policy of \(model.parameterCount) parameters from \(folder)")
    }
}

@_cdecl("score_policy_save")
public func scorePolicySave(_ policy: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> score_status {
    exported("score_policy_save") {
        let policy = try Policy.handles.object(policy)
        let folder = try Arguments.text(path, "path")
        try policy.model.save(to: URL(fileURLWithPath: folder))
        Log.write(SCORE_LOG_INFO, "saved the policy to \(folder)")
    }
}

@_cdecl("score_policy_free")
public func scorePolicyFree(_ policy: OpaquePointer?) {
    Policy.handles.free(policy)
}

@_cdecl("score_policy_get_info")
public func scorePolicyGetInfo(_ policy: OpaquePointer?, _ info: UnsafeMutablePointer<score_policy_info>?) -> score_status {
    exported("score_policy_get_info") {
        let policy = try Policy.handles.object(policy)
        let info = try Arguments.required(info, "info")
        try Arguments.structSize(info.pointee.struct_size, of: "score_policy_info",
                                 expected: MemoryLayout<score_policy_info>.size)
        let config = policy.model.config
        info.pointee = score_policy_info(
            struct_size: info.pointee.struct_size, vocab_size: Int32(clamping: config.vocabSize),
            tokenizer_size: Int32(clamping: policy.tokenizer.vocabularySize), max_seq_len: Int32(clamping: config.maxSeqLen),
            threads: Int32(clamping: policy.model.threads), parameter_count: Int64(policy.model.parameterCount))
    }
}
