import CScoreHeader
import Foundation
import ScoreEngine

@_cdecl("score_trainer_evaluate")
public func scoreTrainerEvaluate(_ trainer: OpaquePointer?, _ prompts: UnsafePointer<UnsafePointer<CChar>?>?,
                                 _ references: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int,
                                 _ protocolKind: Int32, _ seed: UInt64,
                                 _ result: UnsafeMutablePointer<score_eval_result>?) -> score_status {
    exported("score_trainer_evaluate") {
        let trainer = try Trainer.handles.object(trainer)
        let out = try Arguments.required(result, "result")
        try Arguments.structSize(out.pointee.struct_size, of: "score_eval_result",
                                 expected: MemoryLayout<score_eval_result>.size)
        let evaluation: EvaluationProtocol
        switch protocolKind {
        case SCORE_EVAL_GREEDY: evaluation = .greedy
        case SCORE_EVAL_MIXED: evaluation = .mixed
        default: throw APIFailure.invalid("unknown protocol \(protocolKind) (expected SCORE_EVAL_GREEDY or SCORE_EVAL_MIXED)")
        }
        let problems = try Trainer.problems(prompts, references, count: count)
        let model = trainer.engine.policy
        let options = trainer.engine.options
        let limit = model.evaluationBatchLimit(problems: problems, format: trainer.engine.format,
                                               maxNewTokens: options.maxNewTokens, memoryBudget: options.memoryBudget)
        let m = try model.evaluateSelfCorrection(
            problems: problems, format: trainer.engine.format, verifier: trainer.verifier, protocol: evaluation,
            maxNewTokens: options.maxNewTokens, batchSize: min(64, limit), seed: seed,
            progress: { done, total in try trainer.report(.evaluate, done, total) }).metrics
        out.pointee = score_eval_result(
            struct_size: out.pointee.struct_size, count: Int64(m.count), acc_t1_pct: 100 * m.accuracyT1,
            acc_t2_pct: 100 * m.accuracyT2, delta_pct: 100 * m.delta, delta_i_to_c_pct: 100 * m.deltaIncorrectToCorrect,
            delta_c_to_i_pct: 100 * m.deltaCorrectToIncorrect, changed_pct: 100 * m.changedFraction,
            edit_distance_ratio: m.editDistanceRatio, fix_rate_pct: 100 * m.fixRate,
            break_rate_pct: 100 * m.breakRate)
    }
}

@_cdecl("score_trainer_sft_step")
public func scoreTrainerSFTStep(_ trainer: OpaquePointer?, _ examples: UnsafePointer<score_sft_example>?, _ count: Int,
                                _ learningRate: Float, _ loss: UnsafeMutablePointer<Float>?) -> score_status {
    exported("score_trainer_sft_step") {
        let trainer = try Trainer.handles.object(trainer)
        let n = try Arguments.count(count, "count")
        let array = try Arguments.required(examples, "examples")
        let format = trainer.engine.format
        let batch = try (0..<n).map { i -> SFTExample in
            let prompt = format.promptTokens(try Arguments.text(array[i].prompt, "examples[\(i)].prompt"))
            let attempt1 = format.attemptTokens(try Arguments.text(array[i].attempt1, "examples[\(i)].attempt1"))
            guard let second = try Arguments.optionalText(array[i].attempt2, "examples[\(i)].attempt2") else {
                return SFTExample(prompt: prompt, completion: attempt1)
            }
            return SelfCorrectionExchange.example(prompt: prompt, attempt1: attempt1,
                                                  attempt2: format.attemptTokens(second), format: format,
                                                  trained: .attempt2)
        }
        let value = try trainer.engine.supervisedStep(batch, learningRate: try Arguments.finite(learningRate, "learning_rate"))
        loss?.pointee = value
    }
}

@_cdecl("score_trainer_reset_reference")
public func scoreTrainerResetReference(_ trainer: OpaquePointer?) -> score_status {
    exported("score_trainer_reset_reference") {
        try Trainer.handles.object(trainer).engine.resetReference()
    }
}

@_cdecl("score_trainer_save")
public func scoreTrainerSave(_ trainer: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> score_status {
    exported("score_trainer_save") {
        let trainer = try Trainer.handles.object(trainer)
        let folder = try Arguments.text(path, "path")
        try trainer.engine.saveState(to: URL(fileURLWithPath: folder))
        Log.write(SCORE_LOG_INFO, "saved the trainer state to \(folder)")
    }
}

@_cdecl("score_trainer_resume")
public func scoreTrainerResume(_ policy: OpaquePointer?, _ path: UnsafePointer<CChar>?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> score_status {
    out?.pointee = nil
    return exported("score_trainer_resume") {
        let policy = try Policy.handles.object(policy)
        let out = try Arguments.required(out, "out")
        let folder = try Arguments.text(path, "path")
        var steps = 0
        out.pointee = try Trainer.make(on: policy) { slot in
            let engine = try SCoReTrainer.resume(from: URL(fileURLWithPath: folder), format: policy.format,
                                                 verifier: slot, problems: [], threads: policy.model.threads,
                                                 into: policy.model)
            steps = engine.completedSteps
            return engine
        }
        Log.write(SCORE_LOG_INFO, "resumed a trainer at step \(steps) from \(folder)")
    }
}
