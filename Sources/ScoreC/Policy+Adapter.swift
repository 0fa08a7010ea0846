import CScoreHeader
import Foundation
import ScoreEngine

/// LoRA adapters of a policy: PEFT folders in and out, merging, and what is attached.

@_cdecl("score_policy_save_adapter")
public func scorePolicySaveAdapter(_ policy: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> score_status {
    exported("score_policy_save_adapter") {
        let policy = try Policy.handles.object(policy)
        let folder = try Arguments.text(path, "path")
        guard let adapters = policy.model.adapters else { throw APIFailure.state("the policy has no LoRA adapters") }
        try adapters.save(to: URL(fileURLWithPath: folder), baseModel: policy.bundle.source?.path)
        Log.write(SCORE_LOG_INFO, "saved LoRA adapters of rank \(adapters.options.rank) to \(folder)")
    }
}

@_cdecl("score_policy_load_adapter")
public func scorePolicyLoadAdapter(_ policy: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> score_status {
    exported("score_policy_load_adapter") {
        let policy = try Policy.handles.object(policy)
        let folder = try Arguments.text(path, "path")
        guard !policy.hasTrainer else {
            throw APIFailure.state("a trainer uses this policy; free it before replacing the adapters")
        }
        let adapters = try LoRAAdapters.load(from: URL(fileURLWithPath: folder), config: policy.model.config)
        try policy.model.attach(adapters)
        Log.write(SCORE_LOG_INFO, "attached LoRA adapters of rank \(adapters.options.rank) from \(folder)")
    }
}

@_cdecl("score_policy_merge_adapter")
public func scorePolicyMergeAdapter(_ policy: OpaquePointer?) -> score_status {
    exported("score_policy_merge_adapter") {
        let policy = try Policy.handles.object(policy)
        guard policy.model.adapters != nil else { throw APIFailure.state("the policy has no LoRA adapters") }
        guard !policy.hasTrainer else {
            throw APIFailure.state("a trainer uses this policy; free it before merging its adapters")
        }
        policy.model.mergeAdapters()
    }
}

@_cdecl("score_policy_adapter_info")
public func scorePolicyAdapterInfo(_ policy: OpaquePointer?, _ rank: UnsafeMutablePointer<Int32>?,
                                   _ parameterCount: UnsafeMutablePointer<Int64>?) -> score_status {
    rank?.pointee = 0
    parameterCount?.pointee = 0
    return exported("score_policy_adapter_info") {
        let policy = try Policy.handles.object(policy)
        guard let adapters = policy.model.adapters else { return }
        rank?.pointee = Int32(clamping: adapters.options.rank)
        parameterCount?.pointee = Int64(adapters.parameterCount)
    }
}
