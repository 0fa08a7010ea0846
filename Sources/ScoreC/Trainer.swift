import CScoreHeader
import Foundation
import ScoreEngine

/// What a score_trainer handle stands for: the engine's trainer over a policy, the verifier slot
/// the host fills, and the host's progress callback.
final class Trainer: ExclusivelyUsed {
    let policy: Policy
    let engine: SCoReTrainer
    let verifier: VerifierSlot
    var progress: (function: score_progress_fn, userData: UnsafeMutableRawPointer?)?

    let inUse = UseFlag()
    var usedWith: [any ExclusivelyUsed] { [policy] }

    /// A trainer over `policy`, whose claim (`Policy.claimTrainer`) the caller holds; the trainer
    /// releases it when it goes.
    private init(policy: Policy, engine: SCoReTrainer, verifier: VerifierSlot) {
        self.policy = policy
        self.engine = engine
        self.verifier = verifier
        engine.progress = { [unowned self] phase, done, total in try self.report(phase, done, total) }
    }

    deinit { policy.releaseTrainer() }

    /// Claims `policy`, makes the engine's trainer with `make` and registers the handle; the claim
    /// is released if anything fails.
    static func make(on policy: Policy, _ make: (VerifierSlot) throws -> SCoReTrainer) throws -> OpaquePointer {
        try policy.claimTrainer()
        let slot = VerifierSlot()
        let engine: SCoReTrainer
        do {
            engine = try make(slot)
        } catch {
            policy.releaseTrainer()
            throw error
        }
        return handles.register(Trainer(policy: policy, engine: engine, verifier: slot))
    }

    /// Calls the host's progress callback; a status other than SCORE_OK aborts the call.
    func report(_ phase: TrainingPhase, _ done: Int, _ total: Int) throws {
        guard let progress else { return }
        let status = progress.function(Int32(phase.rawValue), done, total, progress.userData)
        guard status == SCORE_OK else { throw ScoreError.aborted("the progress callback returned \(status)") }
    }

    /// Problems from the host's parallel arrays of prompts and references.
    static func problems(_ prompts: UnsafePointer<UnsafePointer<CChar>?>?,
                         _ references: UnsafePointer<UnsafePointer<CChar>?>?, count: Int) throws -> [SelfCorrectionProblem] {
        let n = try Arguments.count(count, "count")
        let texts = try Arguments.texts(prompts, count: n, "prompts")
        let answers = try Arguments.texts(references, count: n, "references")
        return zip(texts, answers).map { SelfCorrectionProblem(prompt: $0, reference: $1) }
    }

    static let handles = HandleTable<Trainer>(kind: "score_trainer", tag: 2)
}

@_cdecl("score_trainer_create")
public func scoreTrainerCreate(_ policy: OpaquePointer?, _ options: UnsafePointer<score_trainer_options>?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> score_status {
    out?.pointee = nil
    return exported("score_trainer_create") {
        let policy = try Policy.handles.object(policy)
        let out = try Arguments.required(out, "out")
        let settings = try scoreOptions(options)
        out.pointee = try Trainer.make(on: policy) { slot in
            try SCoReTrainer(policy: policy.model, format: policy.format, verifier: slot, options: settings)
        }
    }
}

@_cdecl("score_trainer_free")
public func scoreTrainerFree(_ trainer: OpaquePointer?) {
    Trainer.handles.free(trainer)
}

@_cdecl("score_trainer_set_verifier")
public func scoreTrainerSetVerifier(_ trainer: OpaquePointer?, _ verifier: score_verifier_fn?,
                                    _ userData: UnsafeMutableRawPointer?) -> score_status {
    exported("score_trainer_set_verifier") {
        let trainer = try Trainer.handles.object(trainer)
        let function = try Arguments.required(verifier, "verifier")
        trainer.verifier.current = HostVerifier(function: function, userData: userData)
    }
}

@_cdecl("score_trainer_set_builtin_verifier")
public func scoreTrainerSetBuiltinVerifier(_ trainer: OpaquePointer?, _ kind: Int32) -> score_status {
    exported("score_trainer_set_builtin_verifier") {
        let trainer = try Trainer.handles.object(trainer)
        trainer.verifier.current = try VerifierSlot.builtin(kind)
    }
}

@_cdecl("score_trainer_set_progress")
public func scoreTrainerSetProgress(_ trainer: OpaquePointer?, _ progress: score_progress_fn?,
                                    _ userData: UnsafeMutableRawPointer?) -> score_status {
    exported("score_trainer_set_progress") {
        let trainer = try Trainer.handles.object(trainer)
        trainer.progress = progress.map { ($0, userData) }
    }
}

/// Copies a step's statistics into the host's struct (whose struct_size is checked).
func write(_ stats: SCoReStepStats, episodes: Int, to out: UnsafeMutablePointer<score_step_stats>?) throws {
    guard let out else { return }
    let m = stats.metrics
    let stage: Int32
    switch stats.stage {
    case .stageI: stage = SCORE_STAGE_I
    case .stageII: stage = SCORE_STAGE_II
    case .singleTurn: stage = SCORE_STAGE_SINGLE_TURN
    }
    out.pointee = score_step_stats(
        struct_size: out.pointee.struct_size, step: Int64(stats.step), stage: stage, episodes: Int32(clamping: episodes),
        acc_t1_pct: 100 * m.accuracyT1, acc_t2_pct: 100 * m.accuracyT2, delta_pct: 100 * m.delta,
        delta_i_to_c_pct: 100 * m.deltaIncorrectToCorrect, delta_c_to_i_pct: 100 * m.deltaCorrectToIncorrect,
        changed_pct: 100 * m.changedFraction, edit_distance_ratio: m.editDistanceRatio,
        reward_mean_t1: m.rewardMeanT1, reward_std_t1: m.rewardStdT1, reward_mean_t2: m.rewardMeanT2,
        reward_std_t2: m.rewardStdT2, zero_variance_groups_pct: 100 * m.zeroVarianceGroupFraction,
        mean_length_t1: m.meanLengthT1, mean_length_t2: m.meanLengthT2,
        truncated_t1_pct: 100 * m.truncationRateT1, truncated_t2_pct: 100 * m.truncationRateT2,
        loss: Double(stats.loss), kl_t1: Double(stats.klTurn1), kl_t2: Double(stats.klTurn2),
        entropy: Double(stats.entropy), grad_norm: Double(stats.gradNorm), learning_rate: Double(stats.learningRate),
        seconds: stats.seconds, rollout_seconds: stats.rolloutSeconds, tokens_per_second: stats.tokensPerSecond)
}

/// Runs `body` (a whole step, or its first half) on the host's problems and writes its statistics;
/// a bad stats struct_size fails before any work.
private func stepCall(_ function: String, _ trainer: OpaquePointer?, _ prompts: UnsafePointer<UnsafePointer<CChar>?>?,
                      _ references: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int,
                      _ stats: UnsafeMutablePointer<score_step_stats>?,
                      _ body: (SCoReTrainer, [SelfCorrectionProblem]) throws -> SCoReStepStats) -> score_status {
    exported(function) {
        let trainer = try Trainer.handles.object(trainer)
        if let stats {
            try Arguments.structSize(stats.pointee.struct_size, of: "score_step_stats",
                                     expected: MemoryLayout<score_step_stats>.size)
        }
        // The engine's episode limit first, so that a count larger than the caller's arrays is refused unread.
        try trainer.engine.checkEpisodeCount(prompts: count)
        let problems = try Trainer.problems(prompts, references, count: count)
        let result = try body(trainer.engine, problems)
        try write(result, episodes: result.metrics.count, to: stats)
    }
}

@_cdecl("score_trainer_step")
public func scoreTrainerStep(_ trainer: OpaquePointer?, _ prompts: UnsafePointer<UnsafePointer<CChar>?>?,
                             _ references: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int,
                             _ stats: UnsafeMutablePointer<score_step_stats>?) -> score_status {
    stepCall("score_trainer_step", trainer, prompts, references, count, stats) { engine, problems in
        let result = try engine.step(on: problems)
        let m = result.metrics
        Log.write(SCORE_LOG_INFO, String(format: "step %d (%@): Acc@t1 %.1f Acc@t2 %.1f loss %.4f %.2fs", result.step,
                                         result.stage.rawValue, 100 * m.accuracyT1, 100 * m.accuracyT2,
                                         result.loss, result.seconds))
        return result
    }
}

@_cdecl("score_trainer_compute_gradients")
public func scoreTrainerComputeGradients(_ trainer: OpaquePointer?, _ prompts: UnsafePointer<UnsafePointer<CChar>?>?,
                                         _ references: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int,
                                         _ stats: UnsafeMutablePointer<score_step_stats>?) -> score_status {
    stepCall("score_trainer_compute_gradients", trainer, prompts, references, count, stats) { engine, problems in
        try engine.computeGradients(on: problems)
    }
}

@_cdecl("score_trainer_gradients")
public func scoreTrainerGradients(_ trainer: OpaquePointer?, _ outData: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                                  _ outCount: UnsafeMutablePointer<Int>?) -> score_status {
    flatBuffer("score_trainer_gradients", trainer, outData, outCount) { $0.policy.trainableGradients }
}

/// Hands the host one of the trainer's flat buffers (pointer and length) for `function`.
func flatBuffer(_ function: String, _ trainer: OpaquePointer?, _ outData: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                _ outCount: UnsafeMutablePointer<Int>?, _ buffer: (SCoReTrainer) -> FloatBuffer) -> score_status {
    outData?.pointee = nil
    outCount?.pointee = 0
    return exported(function) {
        let trainer = try Trainer.handles.object(trainer)
        let data = try Arguments.required(outData, "out_data")
        let count = try Arguments.required(outCount, "out_count")
        let values = buffer(trainer.engine)
        data.pointee = values.pointer
        count.pointee = values.count
    }
}

@_cdecl("score_trainer_apply_gradients")
public func scoreTrainerApplyGradients(_ trainer: OpaquePointer?, _ gradNorm: UnsafeMutablePointer<Double>?) -> score_status {
    exported("score_trainer_apply_gradients") {
        let trainer = try Trainer.handles.object(trainer)
        guard trainer.engine.hasPendingGradients else {
            throw APIFailure.state("no computed gradients to apply (call score_trainer_compute_gradients first)")
        }
        let norm = try trainer.engine.applyGradients()
        gradNorm?.pointee = Double(norm)
    }
}

@_cdecl("score_trainer_progress")
public func scoreTrainerProgress(_ trainer: OpaquePointer?, _ nextStage: UnsafeMutablePointer<Int32>?,
                                 _ completedSteps: UnsafeMutablePointer<Int64>?) -> score_status {
    exported("score_trainer_progress") {
        let trainer = try Trainer.handles.object(trainer)
        switch trainer.engine.nextStage {
        case .stageI: nextStage?.pointee = SCORE_STAGE_I
        case .stageII: nextStage?.pointee = SCORE_STAGE_II
        case .singleTurn: nextStage?.pointee = SCORE_STAGE_SINGLE_TURN
        }
        completedSteps?.pointee = Int64(trainer.engine.completedSteps)
    }
}
