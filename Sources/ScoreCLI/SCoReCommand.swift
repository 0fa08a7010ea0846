import ArgumentParser
import Foundation
import ScoreEngine

/// Trains a two-attempt base on the arithmetic task, then SCoRe on top of it, and prints the
/// self-correction metrics of both (an experiment driver; the paper-style table builds on it).
struct SCoReCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score", abstract: "Train a two-attempt base and SCoRe on the arithmetic task; print metrics.")

    @Option(help: "Single-turn SFT steps on plain addition before the two-attempt base.") var pretrainSteps = 600
    @Option(help: "Two-attempt base SFT steps.") var baseSteps = 200
    @Option(help: "Base SFT batch size.") var baseBatch = 128
    @Option(help: "Stage I steps.") var stageI = 100
    @Option(help: "Stage II steps.") var stageII = 100
    @Option(help: "Prompts per RL step.") var prompts = 32
    @Option(help: "Samples per prompt.") var samples = 4
    @Option(help: "RL learning rate.") var learningRate: Float = 1e-4
    @Option(help: "β1 (KL weight of both turns in Stage II, turn 2 in Stage I).") var beta1: Float = 0.01
    @Option(help: "β2 (turn-1 KL weight in Stage I).") var beta2: Float = 1.0
    @Option(help: "α (progress reward shaping).") var alpha: Float = 10
    @Option(help: "Reward shaping: progress, flip, none.") var shaping = "progress"
    @Option(help: "Self-correction instruction.") var instruction = SelfCorrectionFormat.defaultInstruction
    @Option(help: "Evaluation problems (held out).") var evalCount = 500
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "Write per-step metrics as JSON lines here.") var metrics: String?

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        let tokenizer = ByteTokenizer()
        let format = try SelfCorrectionFormat(tokenizer: tokenizer, instruction: instruction)
        let task = try ArithmeticTask()
        let verifier = ArithmeticVerifier()
        let model = try Transformer(config: .tiny, seed: seed, threads: threads)
        let plain = task.problems(.train).map {
            SFTExample(prompt: format.promptTokens($0.prompt), completion: format.attemptTokens($0.answer))
        }
        if pretrainSteps > 0 {
            let pre = try SFTTrainer(model: model, examples: plain, options: SFTOptions(
                batchSize: 64, steps: pretrainSteps,
                schedule: LearningRateSchedule(kind: .constant, peakLearningRate: 2e-3, warmupSteps: pretrainSteps / 10,
                                               totalSteps: pretrainSteps),
                adamW: AdamWOptions(learningRate: 2e-3, weightDecay: 0.01), seed: seed, padID: format.padID))
            let preProgress = ProgressDisplay("pre ", total: pretrainSteps)
            for _ in 0..<pretrainSteps {
                let stats = try pre.step()
                preProgress.update(stats.step, detail: String(format: "loss %.3f", stats.loss))
            }
        }
        var rng = RandomGenerator(seed: seed &+ 17)
        let examples = task.problems(.train).map {
            task.selfCorrectionExample($0, format: format, firstCorrect: 0.5, secondCorrect: 0.8, using: &rng)
        }
        let sft = try SFTTrainer(model: model, examples: examples, options: SFTOptions(
            batchSize: baseBatch, steps: baseSteps,
            schedule: LearningRateSchedule(kind: .cosine, peakLearningRate: 2e-3, warmupSteps: baseSteps / 10,
                                           totalSteps: baseSteps),
            adamW: AdamWOptions(learningRate: 2e-3, weightDecay: 0.01), seed: seed, padID: format.padID))
        let sftProgress = ProgressDisplay("base", total: baseSteps)
        for _ in 0..<baseSteps {
            let stats = try sft.step()
            sftProgress.update(stats.step, detail: String(format: "loss %.3f", stats.loss))
        }
        let held = Array(task.selfCorrectionProblems(.test).prefix(evalCount))
        func report(_ label: String) throws {
            let result = try model.evaluateSelfCorrection(problems: held, format: format, verifier: verifier,
                                                          maxNewTokens: 8)
            let m = result.metrics
            print(String(format: "%-8@ t1 %5.1f  t2 %5.1f  Δ %+5.1f  i→c %4.1f  c→i %4.1f  edit %.3f  changed %.2f",
                         label as NSString, 100 * m.accuracyT1, 100 * m.accuracyT2, 100 * m.delta,
                         100 * m.deltaIncorrectToCorrect, 100 * m.deltaCorrectToIncorrect, m.editDistanceRatio,
                         m.changedFraction))
        }
        try report("base")
        var options = SCoReOptions()
        options.promptsPerStep = prompts
        options.samplesPerPrompt = samples
        options.learningRate = learningRate
        options.objective = ObjectiveOptions(beta1: beta1, beta2: beta2, alpha: alpha,
                                             shaping: RewardShaping(rawValue: shaping) ?? .progress)
        options.plan = .score(stageI: stageI, stageII: stageII, rounds: 1)
        options.seed = seed
        let trainer = try SCoReTrainer(policy: model, problems: task.selfCorrectionProblems(.train), format: format,
                                       verifier: verifier, options: options)
        let log = try metrics.map { try MetricsLog(url: URL(fileURLWithPath: $0)) }
        let progress = ProgressDisplay("score", total: options.plan.totalSteps)
        while !trainer.isFinished {
            let stats = try trainer.step()
            try log?.write(stats)
            progress.update(stats.step, detail: String(
                format: "%@ t1 %.2f t2 %.2f kl1 %.3f %.2fs", stats.stage.rawValue, stats.metrics.accuracyT1,
                stats.metrics.accuracyT2, stats.klTurn1, stats.seconds))
            if stats.step == stageI { try report("stage I") }
        }
        try report("SCoRe")
    }
}
