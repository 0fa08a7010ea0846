import ArgumentParser
import Foundation
import ScoreEngine

/// SCoRe on a model folder with the user's problems; saves the trained folder.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "SCoRe (Stage I, then Stage II) on a model folder with your problems and a built-in verifier.")

    @OptionGroup var folder: ModelFolderOptions
    @Option(help: "Training problems as JSON Lines ({\"prompt\": …, \"reference\": …} per line).") var problems: String
    @Option(help: "Folder to save the trained model to (with the source folder's tokenizer files); with LoRA, the adapters (PEFT) too.")
    var out: String
    @Option(help: "Stage I steps per round.") var stageI = 50
    @Option(help: "Stage II steps per round.") var stageII = 50
    @Option(help: "Rounds of --stage-i then --stage-ii steps (more than 1 interleaves the stages and repeats their steps).") var rounds = 1
    @Option(help: "Prompts per step.") var prompts = 8
    @Option(help: "Samples per prompt.") var samples = 4
    @Option(help: "Learning rate (AdamW).") var learningRate: Float = 1e-5
    @Option(help: "Sampling temperature during training; the policy trained is the one sampled, softmax(logits / T) (0: greedy samples, log-probabilities at 1).") var temperature: Float = 1
    @Option(help: "Maximum tokens per attempt.") var maxNewTokens = 128
    @OptionGroup var objective: ObjectiveArguments
    @Option(help: "Checkpoint kept: last, validation (greedy Acc@t2 on --validation) or training-reward (the paper's).")
    var select = "last"
    @Option(help: "Check the checkpoint every this many steps (with --select).") var selectEvery = 10
    @Option(help: "Validation problems as JSON Lines, for --select validation.") var validation: String?
    @Option(help: "Seed of prompt choice and sampling.") var seed: UInt64 = 0
    @Option(help: "Episodes forwarded at once (gradients accumulate; default: as many as --memory-budget allows).")
    var microBatch: Int?
    @Option(help: "GB for the activations of one pass and the KV cache of one rollout chunk.")
    var memoryBudget = 1.0
    @Option(help: "Train LoRA adapters of this rank on the frozen model (0 = train every weight).") var loraRank = 0
    @Option(help: "LoRA alpha (update scale alpha / rank; default 2 × rank).") var loraAlpha: Float?
    @Option(help: "LoRA target layers: comma-separated among q,k,v,o,gate,up,down, or all.") var loraTargets = "all"

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        let bundle = try folder.bundle()
        let format = try bundle.format(instruction: folder.instruction)
        let set = try SelfCorrectionProblem.readJSONLines(from: URL(fileURLWithPath: problems))
        var options = SCoReOptions()
        options.plan = .score(stageI: stageI, stageII: stageII, rounds: rounds)
        options.promptsPerStep = prompts
        options.samplesPerPrompt = samples
        options.learningRate = learningRate
        options.temperature = temperature
        options.maxNewTokens = maxNewTokens
        options.seed = seed
        try objective.apply(to: &options)
        options.microBatch = microBatch
        guard memoryBudget.isFinite, memoryBudget > 0, memoryBudget < 1e9 else {
            throw ValidationError("--memory-budget must be a positive number of GB (got \(memoryBudget))")
        }
        options.memoryBudget = Int(memoryBudget * 1e9)
        guard loraRank >= 0 else { throw ValidationError("--lora-rank must be >= 0 (got \(loraRank))") }
        if loraRank > 0 {
            options.lora = LoRAOptions(rank: loraRank, alpha: loraAlpha, targets: try LoRATarget.parse(loraTargets))
        }
        let trainer = try SCoReTrainer(policy: bundle.model, problems: set, format: format,
                                       verifier: try folder.chosenVerifier(builtInTask: false), options: options)
        let longestPrompt = set.map { format.promptTokens($0.prompt).count }.max() ?? 0
        print("Estimated peak memory: \(MemoryEstimate.describe(trainer.estimatedPeakBytes(longestPrompt: longestPrompt))) "
              + "(\(MemoryEstimate.describe(trainer.stateBytes)) weights and optimizer state).")
        let outFolder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outFolder, withIntermediateDirectories: true)
        let log = try MetricsLog(url: outFolder.appendingPathComponent("metrics.jsonl"))
        let validationProblems = try validation.map { try SelfCorrectionProblem.readJSONLines(from: URL(fileURLWithPath: $0)) }
        let verifier = trainer.verifier
        var selector = try CheckpointSelector(
            selection: try ObjectiveArguments.choice(select, CheckpointSelection.allCases, "--select"), every: selectEvery,
            validationScore: validationProblems.map { problems in { model in
                try model.evaluateSelfCorrection(problems: problems, format: format, verifier: verifier,
                                                 maxNewTokens: options.maxNewTokens).metrics.accuracyT2
            } })
        let progress = ProgressDisplay("train", total: options.plan.totalSteps)
        while !trainer.isFinished {
            let stats = try trainer.step()
            try log.write(stats)
            try selector.record(stats, model: bundle.model, isLast: trainer.isFinished)
            progress.update(stats.step, detail: String(format: "%@ t1 %.2f t2 %.2f", stats.stage.rawValue,
                                                       stats.metrics.accuracyT1, stats.metrics.accuracyT2))
        }
        log.close()
        if let step = try selector.finish(bundle.model) {
            print(String(format: "Kept the checkpoint of step %d (%@ %.3f).", step, select, selector.best.bestScore))
        }
        try bundle.save(to: outFolder)
        if let adapters = bundle.model.adapters {
            try adapters.save(to: outFolder.appendingPathComponent("adapter"), baseModel: folder.model)
            print("Saved the merged model, the LoRA adapters (adapter/) and metrics.jsonl to \(outFolder.path).")
        } else {
            print("Saved the trained model and metrics.jsonl to \(outFolder.path).")
        }
    }
}
