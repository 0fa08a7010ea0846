import ArgumentParser
import Foundation
import ScoreEngine

/// The main job: train and evaluate every method of the paper's comparison from one base and print
/// the table. Without `--model`, a tiny model learns 2-digit addition from scratch first; with it,
/// a pretrained model (GGUF file or model folder) is the base, on a real task.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train every method of the paper's comparison from one base and print the paper-style table.",
        discussion: """
            Without --model: a tiny model learns 2-digit addition from scratch, then every method trains from it \
            (about 9–10 minutes on 2 cores; --quick: the base and SCoRe only, about 2–3 minutes). With --model PATH \
            (a GGUF file or a model folder): the pretrained model is the base, on short multi-step arithmetic \
            problems (or --problems and --held-out files), trained with micro-batches and, with --lora-rank, LoRA adapters.
            """)

    @Flag(help: "Only the base and SCoRe, smaller.") var quick = false
    @Flag(help: "Only build and evaluate the base (to check a seed's base before a full run).") var baseOnly = false
    @Flag(help: "The learning check: a smaller quick run that fails unless Δ(SCoRe) − Δ(base) reaches --margin.")
    var check = false
    @Option(help: "With --check: the points Δ(SCoRe) − Δ(base) must reach (default \(DemoSettings.learningCheckMargin)).")
    var margin: Double?
    @Option(help: "Seed of weights, data, sampling.") var seed: UInt64 = 1
    @Option(help: "Threads for the kernels.") var threads = 2
    @Option(help: "Held-out problems to evaluate on (default: 500, or 300 with --model).") var evalCount: Int?
    @Option(help: "Folder for metrics.jsonl, accuracy.svg, table.md, table.json and the base-model and score-model folders (default runs/demo-seed<seed>).")
    var out: String?
    @Option(help: "A pretrained model: GGUF file or model folder (Hugging Face's or libscore's).") var model: String?
    @Option(help: "With --model: training problems as JSON Lines instead of the built-in task (products of a 2-digit and a 1-digit number).")
    var problems: String?
    @Option(help: "With --problems: held-out problems as JSON Lines.") var heldOut: String?
    @Option(help: "With --model: LoRA rank (default 16; 0 = train every weight).") var loraRank: Int?
    @Option(help: "KL penalty of the RL rows: k1-in-reward (default: the paper's KL(π‖π_ref), in the return), k3, k2, k1.") var kl: String?
    @Option(help: "Prompts per step of the RL rows (default 32; with --model 4).") var prompts: Int?
    @Option(help: "First attempts sampled per prompt in the RL rows, 2...1024 (default 4; the leave-one-out baseline needs two).")
    var samples: Int?
    @Option(help: "Second attempts per first attempt in the RL rows (default 1; from 2 on, a per-state turn-2 baseline).")
    var secondAttempts: Int?
    @Option(help: "Sampling temperature of the RL rows in training (default 0.5; with --model 0.7); the policy trained is the one sampled, softmax(logits / T).")
    var temperature: Float?
    @Option(help: "Temperature of attempt 1 in the two-attempt RL rows (default: the RL temperature); when it differs, turn 1's policy-gradient term is masked.")
    var firstTemperature: Float?
    @Option(help: "Checkpoint each RL row keeps: last (default), validation (built-in task only) or training-reward.")
    var select: String?
    @Option(help: "Learning rate of the RL rows (default 1e-4; Pair-SFT and STaR keep 5e-4); with --model, of every trained row (default 1e-4 with LoRA, 1e-5 without).")
    var learningRate: Float?
    @Option(help: "Stage II: subtract λ from the turn-2 reward when a right first attempt was broken (not in the paper; default 0).")
    var breakPenalty: Float?
    @Option(help: "Stage I: KL weight β2 holding attempt 1 near the base (default 0.1, the paper's for MATH; with --model 1).")
    var beta2: Float?
    @Option(help: "Built-in task: digits per operand, 2 (default) or 3 (harder: more carries).") var digits: Int?
    @Option(help: "Built-in task: transformer layers of the model trained from scratch (default 4).") var layers: Int?
    @Option(help: "Built-in task: width of that model, a multiple of 8 in 16...1024 (default 128; its MLP is 3 times as wide).")
    var width: Int?
    @Option(help: "Attempts per episode the RL rows train on (default 2; the table still evaluates two; `score-cli eval --attempts N` on the saved score-model measures the rest).")
    var attempts: Int?
    @Flag(help: "With --attempts above 2: Stage I holds only attempt 1 near the reference and rewards every later attempt.")
    var stage1HoldsFirstOnly = false
    @Option(help: "Built-in task: the validation fix rate (%) the base's two-attempt phase must also reach (default 0: none).")
    var baseFixTarget: Double?
    @Option(help: "Built-in task: the chance (%) that the base's two-attempt data keeps a right first attempt (default 90; otherwise it breaks it).")
    var baseKeep: Double?
    @Option(help: "Built-in task: most steps of the base's plain-addition phase (default 2000; it stops earlier at its target; its warm-up is a tenth of this).")
    var pretrainSteps: Int?
    @Option(help: "Built-in task: most steps of the base's two-attempt phase (default 200; it stops earlier at its targets; its cosine schedule spans this).")
    var baseSteps: Int?
    @Option(help: "Stage I steps of SCoRe and its ablations (default 150; quick 70; with --model 20).")
    var stage1Steps: Int?
    @Option(help: "Stage II steps of SCoRe and its ablations (default 50; quick 30; with --model 20).")
    var stage2Steps: Int?
    @Option(help: "Rounds SCoRe and w/o shaping split their Stage I and Stage II steps into, alternating the stages (default 1).")
    var rounds: Int?

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        var settings: DemoSettings
        let workload: DemoWorkload
        if model != nil, check || margin != nil { throw ValidationError("--check runs the built-in task (no --model)") }
        if margin != nil, !check { throw ValidationError("--margin needs --check") }
        if let learningRate, !(learningRate.isFinite && learningRate > 0) {
            throw ValidationError("--learning-rate must be finite and > 0")
        }
        if let model {
            guard digits == nil, baseFixTarget == nil, baseKeep == nil, pretrainSteps == nil, baseSteps == nil,
                  layers == nil, width == nil else {
                throw ValidationError("--digits, --base-fix-target, --base-keep, --pretrain-steps, --base-steps, --layers "
                                      + "and --width are for the built-in task (no --model)")
            }
            settings = DemoSettings.pretrained()
            if quick { settings.stageISteps = settings.stageISteps / 2; settings.stageIISteps = settings.stageIISteps / 2 }
            if let evalCount { settings.evalCount = evalCount }
            if let loraRank {
                guard loraRank >= 0 else { throw ValidationError("--lora-rank must be >= 0 (got \(loraRank))") }
                settings.useLoRA(rank: loraRank)
            }
            if let learningRate {
                settings.rl.learningRate = learningRate
                settings.sftLearningRate = learningRate
            }
            workload = try pretrainedWorkload(model, settings: &settings)
        } else {
            guard !(check && baseOnly) else { throw ValidationError("--check and --base-only exclude each other") }
            guard problems == nil, heldOut == nil, loraRank == nil else {
                throw ValidationError("--problems, --held-out and --lora-rank need --model")
            }
            settings = check ? DemoSettings.check() : quick ? DemoSettings.quick() : DemoSettings()
            if let evalCount { settings.evalCount = evalCount }
            if let pretrainSteps {
                guard (200...100_000).contains(pretrainSteps) else {
                    throw ValidationError("--pretrain-steps must be in 200...100000 (got \(pretrainSteps))")
                }
                settings.pretrainSteps = pretrainSteps
            }
            if let baseSteps {
                guard (settings.baseMinSteps...100_000).contains(baseSteps) else {
                    throw ValidationError("--base-steps must be in \(settings.baseMinSteps)...100000 (got \(baseSteps))")
                }
                settings.baseSteps = baseSteps
            }
            if let baseFixTarget {
                guard (0...100).contains(baseFixTarget) else { throw ValidationError("--base-fix-target must be in 0...100") }
                settings.baseTargetFix = baseFixTarget / 100
            }
            if let baseKeep {
                guard (0...100).contains(baseKeep) else { throw ValidationError("--base-keep must be in 0...100") }
                settings.baseKeep = baseKeep / 100
            }
            if let digits {
                guard (2...3).contains(digits) else { throw ValidationError("--digits must be 2 or 3 (got \(digits))") }
                settings.digits = digits
            }
            if let layers {
                guard (1...32).contains(layers) else { throw ValidationError("--layers must be in 1...32 (got \(layers))") }
                settings.model.nLayers = layers
            }
            if let width {
                guard (16...1024).contains(width), width % 8 == 0 else {
                    throw ValidationError("--width must be a multiple of 8 in 16...1024 (got \(width))")
                }
                settings.model.dim = width
                settings.model.hiddenDim = 3 * width
                settings.model.headDim = width / settings.model.nHeads
            }
            if let learningRate { settings.rl.learningRate = learningRate }
            workload = try DemoWorkload.arithmetic(settings: settings, seed: seed, threads: threads)
        }
        if let kl { settings.rl.objective.klEstimator = try ObjectiveArguments.choice(kl, KLEstimator.allCases, "--kl") }
        if let prompts {
            guard prompts >= 1 else { throw ValidationError("--prompts must be at least 1 (got \(prompts))") }
            settings.rl.promptsPerStep = prompts
        }
        if let samples {
            guard (2...1024).contains(samples) else { throw ValidationError("--samples must be in 2...1024 (got \(samples))") }
            settings.rl.samplesPerPrompt = samples
        }
        if let secondAttempts {
            guard secondAttempts >= 1 else { throw ValidationError("--second-attempts must be at least 1") }
            settings.rl.secondAttemptsPerFirst = secondAttempts
        }
        if let attempts {
            guard (2...Transformer.maximumAttempts).contains(attempts) else {
                throw ValidationError("--attempts must be in 2...\(Transformer.maximumAttempts) (got \(attempts))")
            }
            settings.rl.attempts = attempts
        }
        settings.rl.objective.stageIHoldsFirstOnly = stage1HoldsFirstOnly
        if let temperature {
            guard temperature.isFinite, temperature > 0 else { throw ValidationError("--temperature must be finite and > 0") }
            settings.rl.temperature = temperature
        }
        if let firstTemperature {
            guard firstTemperature.isFinite, firstTemperature >= 0 else {
                throw ValidationError("--first-temperature must be finite and >= 0")
            }
            settings.rl.firstAttemptTemperature = firstTemperature
        }
        for (name, steps) in [("--stage1-steps", stage1Steps), ("--stage2-steps", stage2Steps)] {
            if let steps, !(0...100_000).contains(steps) { throw ValidationError("\(name) must be in 0...100000 (got \(steps))") }
        }
        if let breakPenalty {
            guard breakPenalty.isFinite, breakPenalty >= 0 else { throw ValidationError("--break-penalty must be finite and >= 0") }
            settings.rl.objective.breakPenalty = breakPenalty
        }
        if let beta2 {
            guard beta2.isFinite, beta2 >= 0 else { throw ValidationError("--beta2 must be finite and >= 0") }
            settings.rl.objective.beta2 = beta2
        }
        if let stage1Steps { settings.stageISteps = stage1Steps }
        if let stage2Steps { settings.stageIISteps = stage2Steps }
        guard settings.stageISteps + settings.stageIISteps > 0 else { throw ValidationError("SCoRe needs at least one RL step") }
        if let rounds {
            guard rounds >= 1, settings.stageISteps % rounds == 0, settings.stageIISteps % rounds == 0 else {
                throw ValidationError("--rounds must be at least 1 and divide the Stage I and Stage II steps "
                                      + "(\(settings.stageISteps) and \(settings.stageIISteps))")
            }
            settings.rounds = rounds
        }
        if let select { settings.selection = try ObjectiveArguments.choice(select, CheckpointSelection.allCases, "--select") }
        let folder = URL(fileURLWithPath: out ?? "runs/demo-seed\(seed)")
        let mode = check ? "learning check" : baseOnly ? "base only" : quick ? "quick" : "full"
        print("libscore \(LibraryVersion.string) SCoRe demo (\(mode), seed \(seed), "
              + "\(threads) threads): \(workload.title), \(workload.heldOut.count) held-out problems")
        let began = Date()
        let demo = try SelfCorrectionDemo(workload: workload, settings: settings, seed: seed, threads: threads,
                                          quick: quick || check, baseOnly: baseOnly, output: folder)
        let rows = try demo.run()
        print("\n" + DemoRow.terminalHeader)
        for row in rows { print(row.terminal) }
        var table = [DemoRow.header, DemoRow.rule] + rows.map(\.markdown)
        if rows.contains(where: { $0.mixed != nil }) {
            print("\nMixed protocol (attempt 1 sampled at temperature 1, attempt 2 greedy):")
            print(DemoRow.terminalHeader)
            for row in rows { if let mixed = row.mixed { print(DemoRow.terminal(row.name, mixed, seconds: nil)) } }
            table += ["", "Mixed protocol:", "", DemoRow.header, DemoRow.rule]
                + rows.compactMap { row in row.mixed.map { DemoRow.markdown(row.name, $0) } }
        }
        let seconds = Date().timeIntervalSince(began)
        table += ["", String(format: "Wall time %@ (%.0f s).", ProgressDisplay.clock(seconds), seconds)]
        try (table.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("table.md"), atomically: true,
                                                         encoding: .utf8)
        let rowsJSON = try JSONEncoder().encode(DemoTable(rows: rows, seconds: seconds, seed: seed))
        try rowsJSON.write(to: folder.appendingPathComponent("table.json"), options: .atomic)
        print("\nAccuracies in % of \(workload.heldOut.count) held-out problems, greedy; Δ = Acc@t2 − Acc@t1. "
              + "Total \(ProgressDisplay.clock(seconds)).")
        print("Wrote \(folder.path)/table.md, table.json, metrics.jsonl, "
              + (baseOnly ? "and base-model/." : "accuracy.svg, base-model/ and score-model/."))
        if model == nil, !check, !baseOnly, demo.kept.count == 2 {
            let study = InferenceStudy(models: demo.kept, problems: workload.heldOut, format: workload.format,
                                       verifier: workload.verifier, maxNewTokens: settings.maxNewTokens, seed: seed,
                                       attempts: max(3, settings.rl.attempts + 1))
            let studyBegan = Date()
            print("\n" + (try study.run(writingTo: folder)))
            print("Wrote \(folder.path)/inference.md, inference.json and scaling.svg (\(ProgressDisplay.clock(Date().timeIntervalSince(studyBegan)))).")
        }
        if check, let base = rows.first, let score = rows.last, score.name == "SCoRe" {
            let gain = 100 * (score.metrics.delta - base.metrics.delta)
            let margin = self.margin ?? DemoSettings.learningCheckMargin
            guard gain >= margin else { throw DemoError.learningCheckFailed(gain: gain, margin: margin) }
            print(String(format: "Learning check passed: Δ(SCoRe) − Δ(base) = %+.1f points (margin %.1f).", gain, margin))
        }
    }

    /// The pretrained-model workload: the built-in real task, or the given problem files.
    private func pretrainedWorkload(_ path: String, settings: inout DemoSettings) throws -> DemoWorkload {
        let bundle = try ModelBundle.load(from: URL(fileURLWithPath: path), threads: threads)
        let name = URL(fileURLWithPath: path).lastPathComponent
        if let problems {
            guard let heldOut else { throw ValidationError("--problems needs --held-out") }
            let train = try SelfCorrectionProblem.readJSONLines(from: URL(fileURLWithPath: problems))
            let test = try SelfCorrectionProblem.readJSONLines(from: URL(fileURLWithPath: heldOut))
            return try DemoWorkload.pretrained(
                bundle: bundle, title: "\(name), \(problems)", verifier: FinalAnswerVerifier(), train: train,
                validation: [], heldOut: Array(test.prefix(settings.evalCount)), formatExamples: [], settings: settings)
        }
        let task = try MentalArithmeticTask(options: MentalArithmeticTaskOptions.preset(named: DemoSettings.pretrainedTaskName))
        let trainProblems = try task.problems(.train, count: nil, seed: 0x7EA1)
        let testProblems = try task.problems(.test, count: nil, seed: 0x7E57)
        let train = trainProblems.map(task.selfCorrectionProblem), test = testProblems.map(task.selfCorrectionProblem)
        var statements = [String: String]()
        for problem in trainProblems + testProblems { statements[task.selfCorrectionProblem(problem).prompt] = problem.statement }
        guard test.count >= settings.evalCount else {
            throw ValidationError("the task holds \(test.count) held-out problems (--eval-count \(settings.evalCount))")
        }
        let ranges = task.options.operandRanges.map { "\($0.lowerBound)–\($0.upperBound)" }
        return try DemoWorkload.pretrained(
            bundle: bundle, title: "\(name), products a × b (a, b in \(ranges.joined(separator: ", ")))",
            verifier: task.verifier, train: train, validation: [], heldOut: Array(test.prefix(settings.evalCount)),
            formatExamples: [], correctAttempt: { statements[$0.prompt] ?? $0.reference }, settings: settings)
    }
}

/// What `table.json` holds: the rows, the wall time and the seed.
struct DemoTable: Codable {
    let rows: [DemoRow]
    let seconds: Double
    let seed: UInt64
}
