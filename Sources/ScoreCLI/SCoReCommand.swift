import ArgumentParser
import Foundation
import ScoreEngine

/// Trains a two-attempt base on the arithmetic task, then SCoRe on top of it, and prints the
/// self-correction metrics of both (an experiment driver; the paper-style table builds on it).
struct SCoReCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score", abstract: "Train a two-attempt base and SCoRe on the arithmetic task; print metrics.")

    @Option(help: "Single-turn SFT steps on plain addition before the two-attempt base.") var pretrainSteps = 600
    @Option(help: "Stop plain SFT once greedy Acc@t1 on validation problems reaches this (1 = never).")
    var pretrainTarget = 1.0
    @Option(help: "Check plain-SFT validation every this many steps, from --pretrain-check-from on.") var pretrainCheckEvery = 10
    @Option(help: "First plain-SFT step at which validation is checked.") var pretrainCheckFrom = 200
    @Option(help: "Two-attempt base SFT steps (at most; stops early at --base-target).") var baseSteps = 200
    @Option(help: "Stop the base once greedy Acc@t1 on validation problems reaches this.") var baseTarget = 0.5
    @Option(help: "Also require validation Acc@t2 to reach this before stopping the base (0 = no condition).")
    var baseTargetT2 = 0.0
    @Option(help: "Never stop the two-attempt base before this many steps (turn 2 must learn to edit).")
    var baseMinSteps = 0
    @Option(help: "Base SFT batch size.") var baseBatch = 128
    @Option(help: "Base SFT peak learning rate.") var baseLearningRate: Float = 2e-3
    @Option(help: "Base SFT schedule: cosine or constant (10% warmup).") var baseSchedule = "cosine"
    @Option(help: "Share of plain single-turn examples mixed into the base SFT data (0...1).") var plainMix = 0.0
    @Option(help: "Probability that the base's first attempt is right.") var firstCorrect = 0.5
    @Option(help: "Probability that the base's second attempt is right (independently).") var secondCorrect = 0.8
    @Option(help: "Wrong answers are the sum moved by a non-zero offset within ±this.") var wrongOffset = 10
    @Flag(help: "Zero-pad answers to digits + 1 characters (46 → \"046\") everywhere, references included.")
    var fixedWidth = false
    @Option(help: "Validation problems (from the training split, excluded from base SFT data).") var validationCount = 300
    @Option(help: "Check validation every this many base steps.") var validationEvery = 10
    @Option(help: "Stage I steps per round.") var stageI = 100
    @Option(help: "Stage II steps per round.") var stageII = 100
    @Option(help: "Rounds of --stage-i then --stage-ii steps (more than 1 interleaves the stages and repeats their steps).") var rounds = 1
    @Option(help: "Prompts per RL step.") var prompts = 32
    @Option(help: "Samples per prompt.") var samples = 4
    @Option(help: "RL learning rate.") var learningRate: Float = 1e-4
    @OptionGroup var objective: ObjectiveArguments
    @Option(help: "Report held-out metrics every this many RL steps (0 = only after each stage).") var reportEvery = 0
    @Option(help: "Self-correction instruction.") var instruction = SelfCorrectionFormat.defaultInstruction
    @Option(help: "Evaluation problems (held out).") var evalCount = 500
    @Flag(help: "Evaluate on the first --eval-count held-out problems in (a, b) order instead of a fixed random sample.")
    var evalPrefix = false
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "Write per-step metrics as JSON lines here.") var metrics: String?

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        let clock = Date()
        func elapsed() -> Double { Date().timeIntervalSince(clock) }
        let tokenizer = ByteTokenizer()
        let format = try SelfCorrectionFormat(tokenizer: tokenizer, instruction: instruction)
        let task = try ArithmeticTask()
        let verifier = ArithmeticVerifier()
        let model = try Transformer(config: .tiny, seed: seed, threads: threads)
        // Validation problems come from the training split (a fixed random sample, independent of
        // --seed) and are left out of the base SFT data; the held-out split is only for reporting.
        var splitRNG = RandomGenerator(seed: 0xBA5E)
        let shuffledTrain = task.problems(.train).shuffled(using: &splitRNG)
        let validationProblems = Array(shuffledTrain.prefix(validationCount))
        let sftProblems = Array(shuffledTrain.dropFirst(validationCount)).sorted { ($0.a, $0.b) < ($1.a, $1.b) }
        func reference(_ p: ArithmeticProblem) -> String { task.answerText(p.a + p.b, fixedWidth: fixedWidth) }
        let validation = validationProblems.map { SelfCorrectionProblem(prompt: $0.prompt, reference: reference($0)) }
        let plain = sftProblems.map {
            SFTExample(prompt: format.promptTokens($0.prompt), completion: format.attemptTokens(reference($0)))
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
                if pretrainTarget < 1, stats.step >= pretrainCheckFrom, stats.step % pretrainCheckEvery == 0 {
                    let check = try model.evaluateSelfCorrection(problems: validation, format: format,
                                                                 verifier: verifier, maxNewTokens: 8)
                    print(String(format: "  plain step %d validation t1 %.1f  (%.0fs)", stats.step,
                                 100 * check.metrics.accuracyT1, elapsed()))
                    if check.metrics.accuracyT1 >= pretrainTarget { break }
                }
            }
            print(String(format: "plain SFT done at %.1fs", elapsed()))
        }
        var rng = RandomGenerator(seed: seed &+ 17)
        var examples = sftProblems.map {
            task.selfCorrectionExample($0, format: format, firstCorrect: firstCorrect, secondCorrect: secondCorrect,
                                       maxOffset: wrongOffset, fixedWidth: fixedWidth, using: &rng)
        }
        if plainMix > 0 {
            // plainMix of the final set is plain: add plain examples (cycled) in that proportion.
            let extra = Int((Double(examples.count) * plainMix / max(1e-9, 1 - plainMix)).rounded())
            examples += (0..<extra).map { plain[$0 % plain.count] }
        }
        let kind: LearningRateSchedule.Kind = baseSchedule == "constant" ? .constant : .cosine
        let sft = try SFTTrainer(model: model, examples: examples, options: SFTOptions(
            batchSize: baseBatch, steps: baseSteps,
            schedule: LearningRateSchedule(kind: kind, peakLearningRate: baseLearningRate, warmupSteps: baseSteps / 10,
                                           totalSteps: baseSteps),
            adamW: AdamWOptions(learningRate: baseLearningRate, weightDecay: 0.01), seed: seed, padID: format.padID))
        let sftProgress = ProgressDisplay("base", total: baseSteps)
        var baseStepsRun = 0
        for _ in 0..<baseSteps {
            let stats = try sft.step()
            baseStepsRun = stats.step
            sftProgress.update(stats.step, detail: String(format: "loss %.3f", stats.loss))
            if validationEvery > 0, stats.step % validationEvery == 0 {
                let check = try model.evaluateSelfCorrection(problems: validation, format: format, verifier: verifier,
                                                             maxNewTokens: 8)
                print(String(format: "  step %d validation t1 %.1f t2 %.1f  (%.0fs)", stats.step,
                             100 * check.metrics.accuracyT1, 100 * check.metrics.accuracyT2, elapsed()))
                if stats.step >= baseMinSteps, check.metrics.accuracyT1 >= baseTarget,
                   check.metrics.accuracyT2 >= baseTargetT2 { break }
            }
        }
        let baseSeconds = elapsed()
        print(String(format: "base built in %.1fs (%d two-attempt steps)", baseSeconds, baseStepsRun))
        var heldRNG = RandomGenerator(seed: 0x7E57)
        let testProblems = task.selfCorrectionProblems(.test, fixedWidth: fixedWidth)
        let held = evalPrefix ? Array(testProblems.prefix(evalCount))
            : Array(testProblems.shuffled(using: &heldRNG).prefix(evalCount))
        func report(_ label: String) throws {
            let result = try model.evaluateSelfCorrection(problems: held, format: format, verifier: verifier,
                                                          maxNewTokens: 8)
            let m = result.metrics
            print(String(format: "%-8@ t1 %5.1f  t2 %5.1f  Δ %+5.1f  i→c %4.1f  c→i %4.1f  edit %.3f  changed %.2f  (%.0fs)",
                         label as NSString, 100 * m.accuracyT1, 100 * m.accuracyT2, 100 * m.delta,
                         100 * m.deltaIncorrectToCorrect, 100 * m.deltaCorrectToIncorrect, m.editDistanceRatio,
                         m.changedFraction, elapsed()))
        }
        try report("base")
        guard stageI + stageII > 0 else { return }
        var options = SCoReOptions()
        options.promptsPerStep = prompts
        options.samplesPerPrompt = samples
        options.learningRate = learningRate
        try objective.apply(to: &options)
        options.plan = .score(stageI: stageI, stageII: stageII, rounds: rounds)
        options.seed = seed
        let trainer = try SCoReTrainer(policy: model, problems: task.selfCorrectionProblems(.train, fixedWidth: fixedWidth),
                                       format: format, verifier: verifier, options: options)
        let log = try metrics.map { try MetricsLog(url: URL(fileURLWithPath: $0)) }
        let progress = ProgressDisplay("score", total: options.plan.totalSteps)
        let period = stageI + stageII
        while !trainer.isFinished {
            let stats = try trainer.step()
            try log?.write(stats)
            progress.update(stats.step, detail: String(
                format: "%@ t1 %.2f t2 %.2f kl1 %.3f %.2fs", stats.stage.rawValue, stats.metrics.accuracyT1,
                stats.metrics.accuracyT2, stats.klTurn1, stats.seconds))
            let inPeriod = stats.step % period
            if trainer.isFinished { break }
            if stageI > 0, stageII > 0, inPeriod == stageI { try report("stage I") }
            else if reportEvery > 0, stats.step % reportEvery == 0 { try report("step \(stats.step)") }
        }
        try report("SCoRe")
        print(String(format: "RL took %.1fs", elapsed() - baseSeconds))
    }
}
