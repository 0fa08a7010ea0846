import CScoreHeader
import Foundation
import ScoreEngine

@_cdecl("score_trainer_options_init")
public func scoreTrainerOptionsInit(_ options: UnsafeMutablePointer<score_trainer_options>?) {
    guard let options else { return }
    let d = SCoReOptions()
    var stageI = 0, stageII = 0, rounds = 1
    if case .score(let first, let second, let repeats) = d.plan { (stageI, stageII, rounds) = (first, second, repeats) }
    options.pointee = score_trainer_options(
        struct_size: UInt32(MemoryLayout<score_trainer_options>.size), plan: SCORE_PLAN_SCORE,
        stage_i_steps: Int32(stageI), stage_ii_steps: Int32(stageII), rounds: Int32(rounds),
        single_turn_steps: Int32(StagePlan.defaultSingleTurnSteps), beta1: d.objective.beta1, beta2: d.objective.beta2,
        alpha: d.objective.alpha, shaping: SCORE_SHAPING_PROGRESS, kl_estimator: SCORE_KL_K3,
        baseline: SCORE_BASELINE_LEAVE_ONE_OUT, turn2_state_baseline: d.objective.turn2StateBaseline,
        learning_rate: d.learningRate, weight_decay: d.adamW.weightDecay,
        grad_clip: d.gradientClipNorm, samples_per_prompt: Int32(d.samplesPerPrompt), temperature: d.temperature,
        first_temperature: -1, max_new_tokens: Int32(d.maxNewTokens), seed: d.seed,
        micro_batch: Int32(d.microBatch ?? -1), memory_budget: UInt64(d.memoryBudget), lora_rank: 0, lora_alpha: 0,
        lora_targets: 0, second_attempts: Int32(d.secondAttemptsPerFirst), attempts: Int32(d.attempts),
        stage_i_holds_first_only: d.objective.stageIHoldsFirstOnly)
}

/// The engine's options for a score_trainer_options (NULL: defaults); every enum and range checked.
func scoreOptions(_ options: UnsafePointer<score_trainer_options>?) throws -> SCoReOptions {
    let o = try Arguments.options(options, "score_trainer_options", structSize: \.struct_size,
                                  defaults: scoreTrainerOptionsInit)
    var result = SCoReOptions()
    switch o.plan {
    case SCORE_PLAN_SCORE:
        result.plan = .score(stageI: Int(o.stage_i_steps), stageII: Int(o.stage_ii_steps), rounds: Int(o.rounds))
    case SCORE_PLAN_SINGLE_TURN:
        result.plan = .singleTurn(steps: Int(o.single_turn_steps))
    default:
        throw APIFailure.invalid("unknown plan \(o.plan) (expected SCORE_PLAN_SCORE or SCORE_PLAN_SINGLE_TURN)")
    }
    let shaping: RewardShaping
    switch o.shaping {
    case SCORE_SHAPING_PROGRESS: shaping = .progress
    case SCORE_SHAPING_FLIP: shaping = .flip
    case SCORE_SHAPING_NONE: shaping = .none
    default: throw APIFailure.invalid("unknown shaping \(o.shaping) (expected SCORE_SHAPING_*)")
    }
    let estimator: KLEstimator
    switch o.kl_estimator {
    case SCORE_KL_K1: estimator = .k1
    case SCORE_KL_K2: estimator = .k2
    case SCORE_KL_K3: estimator = .k3
    case SCORE_KL_K1_IN_REWARD: estimator = .k1InReward
    default:
        throw APIFailure.invalid(
            "unknown KL estimator \(o.kl_estimator) (expected SCORE_KL_K1, SCORE_KL_K2, SCORE_KL_K3 or SCORE_KL_K1_IN_REWARD)")
    }
    let baseline: BaselineKind
    switch o.baseline {
    case SCORE_BASELINE_LEAVE_ONE_OUT: baseline = .leaveOneOut
    case SCORE_BASELINE_BATCH_MEAN: baseline = .batchMean
    case SCORE_BASELINE_NONE: baseline = .none
    default: throw APIFailure.invalid("unknown baseline \(o.baseline) (expected SCORE_BASELINE_*)")
    }
    result.objective = ObjectiveOptions(beta1: o.beta1, beta2: o.beta2, alpha: o.alpha, shaping: shaping,
                                        klEstimator: estimator, baseline: baseline,
                                        turn2StateBaseline: o.turn2_state_baseline,
                                        stageIHoldsFirstOnly: o.stage_i_holds_first_only)
    result.learningRate = o.learning_rate
    result.adamW.weightDecay = o.weight_decay
    result.gradientClipNorm = o.grad_clip
    guard o.samples_per_prompt <= 1024 else {
        throw APIFailure.invalid("samples_per_prompt is \(o.samples_per_prompt), at most 1024")
    }
    result.samplesPerPrompt = Int(o.samples_per_prompt)
    guard o.second_attempts <= 64 else {
        throw APIFailure.invalid("second_attempts is \(o.second_attempts), at most 64")
    }
    result.secondAttemptsPerFirst = Int(o.second_attempts)
    result.attempts = Int(o.attempts)
    result.temperature = o.temperature
    if o.first_temperature.isNaN {
        throw APIFailure.invalid("first_temperature is NaN (use a negative value for 'same as temperature')")
    }
    result.firstAttemptTemperature = o.first_temperature < 0 ? nil : o.first_temperature
    result.maxNewTokens = Int(o.max_new_tokens)
    result.seed = o.seed
    guard o.micro_batch >= 1 || o.micro_batch == -1 else {
        throw APIFailure.invalid("micro_batch is \(o.micro_batch), expected >= 1 (or -1 to choose it from memory_budget)")
    }
    result.microBatch = o.micro_batch == -1 ? nil : Int(o.micro_batch)
    guard o.memory_budget >= 1, o.memory_budget <= UInt64(Int.max) else {
        throw APIFailure.invalid("memory_budget is \(o.memory_budget) bytes, expected 1...\(Int.max)")
    }
    result.memoryBudget = Int(o.memory_budget)
    result.lora = try loraOptions(rank: o.lora_rank, alpha: o.lora_alpha, targets: o.lora_targets)
    try result.validate()
    return result
}

/// The LoRA options of score_trainer_options' lora_* fields (nil for rank 0).
func loraOptions(rank: Int32, alpha: Float, targets bits: UInt32) throws -> LoRAOptions? {
    guard rank != 0 else { return nil }
    guard rank > 0 else { throw APIFailure.invalid("lora_rank is \(rank), expected >= 0") }
    guard !alpha.isNaN else { throw APIFailure.invalid("lora_alpha is NaN (use <= 0 for 2 x rank)") }
    guard bits & ~SCORE_LORA_ALL == 0 else {
        throw APIFailure.invalid("lora_targets has unknown bits 0x\(String(bits & ~SCORE_LORA_ALL, radix: 16)) "
                                 + "(expected SCORE_LORA_* flags)")
    }
    let chosen = bits == 0 ? SCORE_LORA_ALL : bits
    let targets = LoRATarget.allCases.enumerated().filter { chosen & (1 << UInt32($0.offset)) != 0 }.map(\.element)
    return LoRAOptions(rank: Int(rank), alpha: alpha > 0 ? alpha : nil, targets: targets)
}
