import CScoreHeader
import Foundation
import Synchronization
import ScoreEngine

/// What a score_policy handle stands for: a model with its tokenizer and chat layout, and the
/// two-attempt format built on them.
final class Policy: ExclusivelyUsed {
    let bundle: ModelBundle
    let format: SelfCorrectionFormat
    var model: Transformer { bundle.model }
    var tokenizer: any Tokenizer { bundle.tokenizer }

    /// Whether a trainer lives on this policy (its optimizer holds the policy's trained buffers).
    private let trainerClaimed = Mutex(false)
    let inUse = UseFlag()
    var usedWith: [any ExclusivelyUsed] { [] }

    init(bundle: ModelBundle, instruction: String?) throws {
        self.bundle = bundle
        format = try bundle.format(instruction: instruction)
    }

    /// Claims the policy for a trainer about to be made; SCORE_ERR_STATE when one lives already
    /// (two trainers would share the policy's one gradient buffer).
    func claimTrainer() throws {
        try trainerClaimed.withLock { claimed in
            guard !claimed else {
                throw APIFailure.state("the policy already has a trainer; free it (score_trainer_free) before making "
                                       + "or resuming another")
            }
            claimed = true
        }
    }

    /// Ends a trainer's claim (the trainer was released, or its making failed).
    func releaseTrainer() { trainerClaimed.withLock { $0 = false } }

    /// Whether a trainer uses this policy.
    var hasTrainer: Bool { trainerClaimed.withLock { $0 } }

    static let handles = HandleTable<Policy>(kind: "score_policy", tag: 1)
}

/// What score_policy_options says (NULL: defaults).
private struct PolicySettings {
    var threads = 1
    var instruction: String?
    var chatTemplate: score_chat_template?
    var templateDate: String?
}

private func policySettings(_ options: UnsafePointer<score_policy_options>?) throws -> PolicySettings {
    let o = try Arguments.options(options, "score_policy_options", structSize: \.struct_size,
                                  defaults: scorePolicyOptionsInit)
    guard (1...256).contains(o.threads) else {
        throw APIFailure.invalid("score_policy_options.threads is \(o.threads), expected 1...256")
    }
    let template = try o.chat_template.map {
        try Arguments.options($0, "score_chat_template", structSize: \.struct_size, defaults: scoreChatTemplateInit)
    }
    return PolicySettings(threads: Int(o.threads),
                          instruction: try Arguments.optionalText(o.instruction, "score_policy_options.instruction"),
                          chatTemplate: template,
                          templateDate: try Arguments.optionalText(o.template_date, "score_policy_options.template_date"))
}

/// The engine's layout for a host's score_chat_template, on `tokenizer`.
private func chatTemplate(_ t: score_chat_template, tokenizer: any Tokenizer) throws -> ChatTemplate {
    func text(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
        try Arguments.optionalText(pointer, "score_chat_template.\(name)") ?? ""
    }
    return try ChatTemplate.custom(
        tokenizer: tokenizer, conversationStart: try text(t.conversation_start, "conversation_start"),
        userPrefix: try text(t.user_prefix, "user_prefix"), userSuffix: try text(t.user_suffix, "user_suffix"),
        assistantPrefix: try text(t.assistant_prefix, "assistant_prefix"),
        endOfTurn: try text(t.end_of_turn, "end_of_turn"), afterAssistant: try text(t.after_assistant, "after_assistant"),
        trimsMessages: t.trim_messages)
}

@_cdecl("score_chat_template_init")
public func scoreChatTemplateInit(_ template: UnsafeMutablePointer<score_chat_template>?) {
    guard let template else { return }
    template.pointee = score_chat_template(
        struct_size: UInt32(MemoryLayout<score_chat_template>.size), conversation_start: nil, user_prefix: nil,
        user_suffix: nil, assistant_prefix: nil, end_of_turn: nil, after_assistant: nil, trim_messages: false)
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
                                           threads: 1, instruction: nil, chat_template: nil,
                                           template_date: nil)
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
        out.pointee = Policy.handles.register(try Policy(bundle: try ModelBundle(model: model),
                                                         instruction: settings.instruction))
    }
}

/// Refuses a model whose weights and gradients (two f32 buffers) would not fit in this machine's
/// memory (a trainer's own state is checked by the engine's trainer).
func checkMemory(_ config: ModelConfig) throws {
    guard let count = config.parameterCount else { throw APIFailure.invalid("the model's parameter count overflows") }
    let bytes = count.multipliedReportingOverflow(by: 8)
    let available = MemoryEstimate.availableBytes
    guard !bytes.overflow, bytes.partialValue <= available else {
        throw APIFailure.invalid("a model of \(count) parameters needs \(MemoryEstimate.describe(count &* 8)) for its "
                                 + "weights and gradients; this machine has \(MemoryEstimate.describe(available))")
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
        let url = URL(fileURLWithPath: folder)
        let template = try settings.chatTemplate.map { try chatTemplate($0, tokenizer: try ModelBundle.tokenizer(in: url)) }
        let bundle = try ModelBundle.load(from: url, threads: settings.threads, template: template,
                                          date: settings.templateDate)
        out.pointee = Policy.handles.register(try Policy(bundle: bundle, instruction: settings.instruction))
        Log.write(SCORE_LOG_INFO, "loaded a policy of \(bundle.model.parameterCount) parameters from \(folder)")
    }
}

@_cdecl("score_policy_save")
public func scorePolicySave(_ policy: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> score_status {
    exported("score_policy_save") {
        let policy = try Policy.handles.object(policy)
        let folder = try Arguments.text(path, "path")
        try policy.bundle.save(to: URL(fileURLWithPath: folder))
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
