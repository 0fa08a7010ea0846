import Foundation
import ScoreEngine

/// The demo runner: builds the base a workload describes, then trains and evaluates every row of
/// the paper-style table from that base.
final class SelfCorrectionDemo {
    let settings: DemoSettings
    let seed: UInt64
    let threads: Int
    let quick: Bool
    /// Only build and evaluate the base.
    let baseOnly: Bool
    let output: URL
    let workload: DemoWorkload
    var format: SelfCorrectionFormat { workload.format }
    var verifier: any Verifier { workload.verifier }
    /// Training problems of every method.
    var train: [SelfCorrectionProblem] { workload.train }
    /// Held-out problems every row is evaluated on.
    var heldOut: [SelfCorrectionProblem] { workload.heldOut }
    let log: MetricsLog
    /// The base and SCoRe models once evaluated, for the inference-time study.
    private(set) var kept = [(name: String, model: Transformer)]()
    private var phase = 0
    private let phases: Int
    private let start = Date()

    init(workload: DemoWorkload, settings: DemoSettings, seed: UInt64, threads: Int, quick: Bool, baseOnly: Bool = false,
         output: URL) throws {
        self.workload = workload
        self.settings = settings
        self.seed = seed
        self.threads = threads
        self.quick = quick
        self.baseOnly = baseOnly
        self.output = output
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        log = try MetricsLog(url: output.appendingPathComponent("metrics.jsonl"))
        let rows = 5 + (settings.ablateShaping ? 1 : 0) + settings.starRounds
        phases = workload.basePhases + 1 + (baseOnly ? 0 : quick ? 1 : rows)
    }

    /// Runs every phase and returns the table rows.
    func run() throws -> [DemoRow] {
        let base = try workload.makeBase(self)
        try workload.save(base, output.appendingPathComponent("base-model"))
        var rows = [try row("base") { base.copy() }]
        if baseOnly {
            log.close()
            return rows
        }
        if !quick {
            rows.append(try selfRefineRow(base))
            rows.append(try row("Pair-SFT") { try pairSFT(from: base) })
            rows.append(try row("STaR") { try star(from: base) })
            rows.append(try row("single-turn RL") { try reinforce(base, name: "single-turn RL",
                plan: .singleTurn(steps: settings.stageISteps + settings.stageIISteps), shaping: .progress) })
            rows.append(try row("SCoRe w/o Stage I") { try reinforce(base, name: "SCoRe w/o Stage I",
                plan: .score(stageI: 0, stageII: settings.stageISteps + settings.stageIISteps, rounds: 1),
                shaping: .progress) })
            if settings.ablateShaping {
                rows.append(try row("SCoRe w/o shaping") { try reinforce(base, name: "SCoRe w/o shaping",
                    plan: settings.scorePlan, shaping: .none) })
            }
        }
        rows.append(try row("SCoRe") { try reinforce(base, name: "SCoRe",
            plan: settings.scorePlan, shaping: .progress,
            plot: true) })
        log.close()
        return rows
    }

    // MARK: Phases

    /// Greedy two-attempt metrics on the workload's validation problems.
    func validation(_ model: Transformer) throws -> SelfCorrectionMetrics {
        try model.evaluateSelfCorrection(problems: workload.validation, format: format, verifier: verifier,
                                         maxNewTokens: settings.maxNewTokens).metrics
    }

    /// Greedy first-attempt accuracy on the validation problems: `validation(_:).accuracyT1` without
    /// generating second attempts (attempt 1 does not depend on them).
    func validationAccuracyT1(_ model: Transformer) throws -> Double {
        try model.evaluateAttempts(problems: workload.validation, format: format, verifier: verifier, attempts: 1,
                                   maxNewTokens: settings.maxNewTokens).accuracies.first ?? 0
    }

    func selfRefineRow(_ base: Transformer) throws -> DemoRow {
        beginPhase("Self-Refine")
        let began = Date()
        let episodes = try base.selfRefine(problems: heldOut, format: format, rounds: settings.selfRefineRounds,
                                           maxNewTokens: settings.maxNewTokens)
        let scores = try format.score(episodes, problems: heldOut, verifier: verifier)
        let row = DemoRow(name: "Self-Refine", metrics: SelfCorrectionMetrics(pairs: scores.pairs), mixed: nil,
                          seconds: Date().timeIntervalSince(began), outcomes: AttemptOutcomes(pairs: scores.pairs).code)
        FileHandle.standardError.write(Data("  \(row.terminal)\n".utf8))
        return row
    }

    func pairSFT(from base: Transformer) throws -> Transformer {
        let model = base.copy()
        var rng = RandomGenerator(seed: seed &+ 31)
        let examples = try SelfCorrectionSFTData.pairs(
            model: base, problems: sample(settings.dataProblems, using: &rng), format: format, verifier: verifier,
            samples: 2, temperature: settings.rl.temperature, maxNewTokens: settings.maxNewTokens, generator: &rng,
            correctAttempt: workload.correctAttempt)
        try supervised(model, examples: examples, steps: settings.pairSFTSteps, batch: settings.sftBatch,
                       learningRate: settings.sftLearningRate, label: "Pair-SFT (\(examples.count) pairs)")
        return model
    }

    func star(from base: Transformer) throws -> Transformer {
        let model = base.copy()
        var rng = RandomGenerator(seed: seed &+ 47)
        for round in 1...settings.starRounds {
            let examples = try SelfCorrectionSFTData.successfulCorrections(
                model: model, problems: sample(settings.dataProblems, using: &rng), format: format, verifier: verifier,
                samples: 2, temperature: settings.rl.temperature, maxNewTokens: settings.maxNewTokens, generator: &rng)
            try supervised(model, examples: examples, steps: settings.starStepsPerRound, batch: settings.sftBatch,
                           learningRate: settings.sftLearningRate, label: "STaR round \(round) (\(examples.count) kept)")
        }
        return model
    }

    func reinforce(_ base: Transformer, name: String, plan: StagePlan, shaping: RewardShaping,
                   plot: Bool = false) throws -> Transformer {
        beginPhase(name)
        let model = base.copy()
        var options = settings.rlOptions(seed: seed &+ 101)
        options.plan = plan
        options.objective.shaping = shaping
        let trainer = try SCoReTrainer(policy: model, problems: train, format: format, verifier: verifier,
                                       options: options)
        let progress = ProgressDisplay("  RL", total: plan.totalSteps)
        var curve = [(step: Double, t1: Double, t2: Double)]()
        let plotSet = Array(heldOut.prefix(settings.plotProblems))
        func record(_ step: Int) throws {
            let m = try model.evaluateSelfCorrection(problems: plotSet, format: format, verifier: verifier,
                                                     maxNewTokens: settings.maxNewTokens).metrics
            curve.append((Double(step), 100 * m.accuracyT1, 100 * m.accuracyT2))
        }
        if plot { try record(0) }
        var selector = try CheckpointSelector(
            selection: settings.selection, every: settings.selectEvery,
            validationScore: workload.validation.isEmpty ? nil : { try self.validation($0).accuracyT2 })
        while !trainer.isFinished {
            let stats = try trainer.step()
            try log.write(VariantStep(variant: name, stats: stats))
            try selector.record(stats, model: model, isLast: trainer.isFinished)
            progress.update(stats.step, detail: String(format: "%@ t1 %.2f t2 %.2f", stats.stage.rawValue,
                                                       stats.metrics.accuracyT1, stats.metrics.accuracyT2))
            if plot, stats.step % settings.plotEvery == 0 || trainer.isFinished { try record(stats.step) }
        }
        if let step = try selector.finish(model) {
            FileHandle.standardError.write(Data("  kept the checkpoint of step \(step)\n".utf8))
        }
        if plot {
            try writePlot(curve, name: name)
            try workload.save(model, output.appendingPathComponent("score-model"))
        }
        return model
    }

    // MARK: Helpers

    func row(_ name: String, _ build: () throws -> Transformer) throws -> DemoRow {
        if name == "base" { beginPhase("evaluate base") }
        let began = Date()
        let model = try build()
        let evaluation = ProgressDisplay("  eval", total: heldOut.count)
        let result = try model.evaluateSelfCorrection(problems: heldOut, format: format, verifier: verifier,
                                                      maxNewTokens: settings.maxNewTokens,
                                                      progress: { done, _ in evaluation.update(done) })
        let mixed = settings.mixedProtocol
            ? try model.evaluateSelfCorrection(problems: heldOut, format: format, verifier: verifier, protocol: .mixed,
                                               maxNewTokens: settings.maxNewTokens, seed: seed &+ 7).metrics
            : nil
        let row = DemoRow(name: name, metrics: result.metrics, mixed: mixed,
                          seconds: Date().timeIntervalSince(began), outcomes: AttemptOutcomes(pairs: result.pairs).code)
        FileHandle.standardError.write(Data("  \(row.terminal)\n".utf8))
        if name == "base" || name == "SCoRe" { kept.append((name, model)) }
        return row
    }

    /// SFT for at most `steps` steps; `stop(step)` may end it early. Returns whether it did.
    @discardableResult
    func supervised(_ model: Transformer, examples: [SFTExample], steps: Int, batch: Int, learningRate: Float,
                    schedule: LearningRateSchedule.Kind = .constant, label: String,
                    stop: (Int) throws -> Bool = { _ in false }) throws -> Bool {
        beginPhase(label)
        guard steps > 0, !examples.isEmpty else { return false }
        if let lora = settings.rl.lora {
            return try supervisedAdapters(model, lora: lora, examples: examples, steps: steps, batch: batch,
                                          learningRate: learningRate, stop: stop)
        }
        let trainer = try SFTTrainer(model: model, examples: examples, options: SFTOptions(
            batchSize: batch, steps: steps,
            schedule: LearningRateSchedule(kind: schedule, peakLearningRate: learningRate,
                                           warmupSteps: steps / 10, totalSteps: steps),
            adamW: AdamWOptions(learningRate: learningRate, weightDecay: 0.01), seed: seed, padID: format.padID))
        let progress = ProgressDisplay("  SFT", total: steps)
        for _ in 0..<steps {
            let stats = try trainer.step()
            progress.update(stats.step, detail: String(format: "loss %.3f", stats.loss))
            if try stop(stats.step) {
                progress.update(steps, detail: "stopped at step \(stats.step)")
                return true
            }
        }
        return false
    }

    /// `supervised` with LoRA adapters (the RL rows' rank and targets) on the frozen model,
    /// merged into its weights at the end: random batches, constant learning rate.
    private func supervisedAdapters(_ model: Transformer, lora: LoRAOptions, examples: [SFTExample], steps: Int,
                                    batch: Int, learningRate: Float, stop: (Int) throws -> Bool) throws -> Bool {
        var options = settings.rlOptions(seed: seed)
        options.lora = lora
        let trainer = try SCoReTrainer(policy: model, format: format, verifier: verifier, options: options)
        var rng = RandomGenerator(seed: seed &+ 59)
        let progress = ProgressDisplay("  SFT", total: steps)
        for step in 1...steps {
            let chosen = (0..<batch).map { _ in examples[rng.nextIndex(below: examples.count)] }
            let loss = try trainer.supervisedStep(chosen, learningRate: learningRate)
            progress.update(step, detail: String(format: "loss %.3f", loss))
            if try stop(step) {
                progress.update(steps, detail: "stopped at step \(step)")
                model.mergeAdapters()
                return true
            }
        }
        model.mergeAdapters()
        return false
    }

    func sample(_ count: Int, using rng: inout RandomGenerator) -> [SelfCorrectionProblem] {
        (0..<count).map { _ in train[rng.nextIndex(below: train.count)] }
    }

    func beginPhase(_ label: String) {
        phase += 1
        let elapsed = Date().timeIntervalSince(start)
        FileHandle.standardError.write(Data(
            "[\(phase)/\(phases)] \(label)  (elapsed \(ProgressDisplay.clock(elapsed)))\n".utf8))
    }

    func writePlot(_ curve: [(step: Double, t1: Double, t2: Double)], name: String) throws {
        var plot = SVGPlot(title: "\(name): held-out accuracy during training (seed \(seed))",
                           xLabel: "training step", yLabel: "accuracy (%)")
        plot.series.append(.init(name: "Acc@t1", color: "#1f77b4", points: curve.map { ($0.step, $0.t1) }))
        plot.series.append(.init(name: "Acc@t2", color: "#d62728", points: curve.map { ($0.step, $0.t2) }))
        try plot.render().write(to: output.appendingPathComponent("accuracy.svg"), atomically: true, encoding: .utf8)
    }
}

/// One JSON line of the demo's metrics log: a training step of one table row.
struct VariantStep: Encodable {
    let variant: String
    let stats: SCoReStepStats
}
