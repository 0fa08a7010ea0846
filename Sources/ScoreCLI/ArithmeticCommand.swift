import ArgumentParser
import Foundation
import ScoreEngine

/// Supervised learning alone: train a tiny model from scratch on the built-in arithmetic task and
/// report its accuracy on held-out problems (single attempt, no self-correction).
struct ArithmeticCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arithmetic",
        abstract: "Train a tiny model from scratch on 2-digit addition and print held-out accuracy.")

    @Option(help: "Optimizer steps.") var steps = 1500
    @Option(help: "Examples per step.") var batchSize = 64
    @Option(help: "Peak learning rate.") var learningRate: Float = 2e-3
    @Option(help: "Threads for the kernels.") var threads = 2
    @Option(help: "Seed for weights, data order and splits.") var seed: UInt64 = 1
    @Option(help: "Save the trained model to this folder.") var out: String?

    func run() throws {
        let tokenizer = ByteTokenizer()
        let task = try ArithmeticTask()
        var config = ModelConfig.tiny
        config.maxSeqLen = 32
        let model = try Transformer(config: config, seed: seed, threads: threads)
        let train = task.problems(.train), test = task.problems(.test)
        print("libscore \(LibraryVersion.string) demo: \(model.parameterCount) parameters "
              + "(dim \(config.dim), \(config.nLayers) layers), \(train.count) training and \(test.count) held-out problems")

        let options = SFTOptions(
            batchSize: batchSize, steps: steps,
            schedule: LearningRateSchedule(kind: .cosine, peakLearningRate: learningRate, warmupSteps: steps / 20,
                                           totalSteps: steps),
            adamW: AdamWOptions(learningRate: learningRate, weightDecay: 0.01), seed: seed,
            padID: tokenizer.specialTokens.pad ?? 0)
        let trainer = try SFTTrainer(model: model, examples: train.map { task.example($0, tokenizer: tokenizer) },
                                     options: options)
        let progress = ProgressDisplay("train", total: steps)
        var last: SFTStepStats?
        var tokensPerSecond = [Double]()
        for _ in 0..<steps {
            let stats = try trainer.step()
            last = stats
            tokensPerSecond.append(stats.tokensPerSecond)
            if stats.step % 10 == 0 || stats.step == steps {
                progress.update(stats.step, detail: String(format: "loss %.3f", stats.loss))
            }
        }
        if let last {
            let rate = tokensPerSecond.sorted()[tokensPerSecond.count / 2]
            print(String(format: "trained %d steps: final loss %.4f, median %.0f tokens/s", last.step, last.loss, rate))
        }

        let evalProgress = ProgressDisplay("eval ", total: test.count)
        let result = try model.evaluate(
            prompts: test.map { task.promptTokens($0, tokenizer: tokenizer) },
            options: task.answerSampling(tokenizer: tokenizer), tokenizer: tokenizer,
            check: { task.check(response: $1, problem: test[$0]) },
            progress: { done, _ in evalProgress.update(done) })
        print(String(format: "held-out accuracy (greedy): %.1f%% of %d problems", 100 * result.accuracy, result.count))
        for i in 0..<min(5, test.count) {
            let mark = result.correct[i] ? "ok " : "bad"
            print("  \(mark) \(test[i].prompt)\(result.generations[i].text)   (answer \(test[i].answer))")
        }
        if let out {
            try model.save(to: URL(fileURLWithPath: out))
            print("saved to \(out)")
        }
    }
}
