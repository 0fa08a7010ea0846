import CScoreHeader
import ScoreEngine

// Data-parallel hooks: what replicas of one trainer on several processes (MPI ranks,
// torch.distributed workers) need beyond compute/apply_gradients — equal starting values, a
// checksum to compare them, a sampling stream per rank, and one global step's statistics.

@_cdecl("score_trainer_parameters")
public func scoreTrainerParameters(_ trainer: OpaquePointer?, _ outData: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                                   _ outCount: UnsafeMutablePointer<Int>?) -> score_status {
    flatBuffer("score_trainer_parameters", trainer, outData, outCount) { $0.policy.trainableParameters }
}

@_cdecl("score_trainer_checksum")
public func scoreTrainerChecksum(_ trainer: OpaquePointer?, _ outChecksum: UnsafeMutablePointer<UInt64>?) -> score_status {
    outChecksum?.pointee = 0
    return exported("score_trainer_checksum") {
        let trainer = try Trainer.handles.object(trainer)
        let out = try Arguments.required(outChecksum, "out_checksum")
        out.pointee = trainer.engine.policy.trainableParameters.checksum
    }
}

@_cdecl("score_trainer_set_sampling_seed")
public func scoreTrainerSetSamplingSeed(_ trainer: OpaquePointer?, _ seed: UInt64) -> score_status {
    exported("score_trainer_set_sampling_seed") {
        try Trainer.handles.object(trainer).engine.reseedSampling(seed)
    }
}

@_cdecl("score_step_stats_combine")
public func scoreStepStatsCombine(_ parts: UnsafePointer<score_step_stats>?, _ count: Int,
                                  _ out: UnsafeMutablePointer<score_step_stats>?) -> score_status {
    exported("score_step_stats_combine") {
        let n = try Arguments.count(count, "count")
        let array = try Arguments.required(parts, "parts")
        let result = try Arguments.required(out, "out")
        try Arguments.structSize(result.pointee.struct_size, of: "score_step_stats (out)",
                                 expected: MemoryLayout<score_step_stats>.size)
        let stats = try (0..<n).map { i -> score_step_stats in
            try Arguments.structSize(array[i].struct_size, of: "score_step_stats (parts[\(i)])",
                                     expected: MemoryLayout<score_step_stats>.size)
            return array[i]
        }
        result.pointee = try combined(stats)
    }
}

/// One step's statistics from the statistics of its parts (one per replica, each over its own
/// episodes): rates, means and the loss weighted by episodes, standard deviations pooled, the
/// slowest part's time, throughputs summed. Step and stage must agree; the gradient norm and the
/// learning rate are parts[0]'s (the replicas' common state).
func combined(_ parts: [score_step_stats]) throws -> score_step_stats {
    guard var total = parts.first else { throw APIFailure.invalid("no statistics to combine") }
    for (i, part) in parts.enumerated() {
        guard part.step == total.step, part.stage == total.stage else {
            throw APIFailure.invalid("parts[\(i)] is step \(part.step) (stage \(part.stage)), parts[0] step "
                                     + "\(total.step) (stage \(total.stage)): not one step")
        }
        guard part.episodes >= 0 else { throw APIFailure.invalid("parts[\(i)].episodes is \(part.episodes)") }
    }
    let episodes = parts.reduce(0) { $0 + Int64($1.episodes) }
    guard episodes > 0, episodes <= Int64(Int32.max) else {
        throw APIFailure.invalid("the parts hold \(episodes) episodes in all, expected 1...\(Int32.max)")
    }
    let weights = parts.map { Double($0.episodes) / Double(episodes) }
    func mean(_ value: (score_step_stats) -> Double) -> Double {
        zip(parts, weights).reduce(0) { $0 + value($1.0) * $1.1 }
    }
    func pooledStd(_ mean: (score_step_stats) -> Double, _ std: (score_step_stats) -> Double) -> Double {
        let m = zip(parts, weights).reduce(0) { $0 + mean($1.0) * $1.1 }
        let square = zip(parts, weights).reduce(0) { $0 + (std($1.0) * std($1.0) + mean($1.0) * mean($1.0)) * $1.1 }
        return max(0, square - m * m).squareRoot()
    }
    total.episodes = Int32(episodes)
    total.acc_t1_pct = mean(\.acc_t1_pct)
    total.acc_t2_pct = mean(\.acc_t2_pct)
    total.delta_pct = mean(\.delta_pct)
    total.delta_i_to_c_pct = mean(\.delta_i_to_c_pct)
    total.delta_c_to_i_pct = mean(\.delta_c_to_i_pct)
    total.changed_pct = mean(\.changed_pct)
    total.edit_distance_ratio = mean(\.edit_distance_ratio)
    total.reward_std_t1 = pooledStd(\.reward_mean_t1, \.reward_std_t1)
    total.reward_std_t2 = pooledStd(\.reward_mean_t2, \.reward_std_t2)
    total.reward_mean_t1 = mean(\.reward_mean_t1)
    total.reward_mean_t2 = mean(\.reward_mean_t2)
    total.zero_variance_groups_pct = mean(\.zero_variance_groups_pct)
    total.mean_length_t1 = mean(\.mean_length_t1)
    total.mean_length_t2 = mean(\.mean_length_t2)
    total.truncated_t1_pct = mean(\.truncated_t1_pct)
    total.truncated_t2_pct = mean(\.truncated_t2_pct)
    total.loss = mean(\.loss)
    total.kl_t1 = mean(\.kl_t1)
    total.kl_t2 = mean(\.kl_t2)
    total.entropy = mean(\.entropy)
    total.seconds = parts.map(\.seconds).max() ?? 0
    total.rollout_seconds = parts.map(\.rollout_seconds).max() ?? 0
    total.tokens_per_second = parts.reduce(0) { $0 + $1.tokens_per_second }
    return total
}
