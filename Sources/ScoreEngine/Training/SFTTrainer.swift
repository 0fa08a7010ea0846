import Dispatch

/// Settings of a supervised fine-tuning run.
public struct SFTOptions: Codable, Sendable, Equatable {
    /// Sequences per micro-batch (one forward/backward).
    public var batchSize: Int
    /// Optimizer steps of the run.
    public var steps: Int
    /// Learning rate per step; nil holds `adamW.learningRate` constant.
    public var schedule: LearningRateSchedule?
    /// Optimizer hyperparameters (its learning rate is used only when `schedule` is nil).
    public var adamW: AdamWOptions
    /// Global gradient-norm ceiling; 0 measures the norm without clipping.
    public var gradientClipNorm: Float
    /// Micro-batches per optimizer step; a step sees batchSize × gradientAccumulation examples.
    public var gradientAccumulation: Int
    /// Seed of the example sampler.
    public var seed: UInt64
    /// `train` reports every this many steps (and on the first and last step).
    public var logEvery: Int
    /// Id written after each sequence; it never affects the loss (padding comes after every real
    /// token and causal attention never looks ahead), so any id in the vocabulary will do.
    public var padID: Int

    /// Options with defaults; any argument may be overridden.
    public init(batchSize: Int = 8, steps: Int = 100, schedule: LearningRateSchedule? = nil,
                adamW: AdamWOptions = AdamWOptions(), gradientClipNorm: Float = 1.0,
                gradientAccumulation: Int = 1, seed: UInt64 = 0, logEvery: Int = 10, padID: Int = 0) {
        self.batchSize = batchSize
        self.steps = steps
        self.schedule = schedule
        self.adamW = adamW
        self.gradientClipNorm = gradientClipNorm
        self.gradientAccumulation = gradientAccumulation
        self.seed = seed
        self.logEvery = logEvery
        self.padID = padID
    }

    /// Throws `ScoreError.invalidArgument` naming the first value out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw ScoreError.invalidArgument("SFT options: " + message()) }
        }
        try check(batchSize >= 1, "batch size must be at least 1 (got \(batchSize))")
        try check(steps >= 1, "steps must be at least 1 (got \(steps))")
        try check(gradientAccumulation >= 1, "gradient accumulation must be at least 1 (got \(gradientAccumulation))")
        try check(!gradientClipNorm.isNaN && gradientClipNorm >= 0, "gradient clip norm must be >= 0 (got \(gradientClipNorm))")
        try check(logEvery >= 1, "logEvery must be at least 1 (got \(logEvery))")
        try check(padID >= 0, "pad id must be >= 0 (got \(padID))")
        try adamW.validate()
        try schedule?.validate()
    }

    enum CodingKeys: String, CodingKey {
        case batchSize, steps, schedule, adamW, gradientClipNorm, gradientAccumulation, seed, logEvery, padID
    }

    /// Decodes, taking the default for every missing key.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SFTOptions()
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? d.steps
        schedule = try c.decodeIfPresent(LearningRateSchedule.self, forKey: .schedule)
        adamW = try c.decodeIfPresent(AdamWOptions.self, forKey: .adamW) ?? d.adamW
        gradientClipNorm = try c.decodeIfPresent(Float.self, forKey: .gradientClipNorm) ?? d.gradientClipNorm
        gradientAccumulation = try c.decodeIfPresent(Int.self, forKey: .gradientAccumulation) ?? d.gradientAccumulation
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        logEvery = try c.decodeIfPresent(Int.self, forKey: .logEvery) ?? d.logEvery
        padID = try c.decodeIfPresent(Int.self, forKey: .padID) ?? d.padID
    }
}

/// What one optimizer step did.
public struct SFTStepStats: Codable, Sendable, Equatable {
    /// Steps completed, this one included (1-based).
    public var step: Int
    /// Mean cross-entropy over the step's trained tokens, before the update.
    public var loss: Float
    /// Learning rate the update used.
    public var learningRate: Float
    /// Global gradient norm before clipping.
    public var gradNorm: Float
    /// Non-padding tokens processed (forward and backward).
    public var tokens: Int
    /// Tokens that carried loss.
    public var trainedTokens: Int
    /// `tokens` / `seconds`.
    public var tokensPerSecond: Double
    /// Wall time of the step.
    public var seconds: Double
}

/// Supervised fine-tuning: samples examples without replacement (reshuffled every epoch) from a
/// seeded generator, runs forward/backward over `gradientAccumulation` micro-batches, clips the
/// global gradient norm and applies AdamW.
///
/// The loss of a step is the mean over all trained tokens of all its micro-batches: every
/// micro-batch's dLogProbs is −1/(trained tokens of the whole step), so accumulating k
/// micro-batches of n examples gives the same gradient as one batch of k·n (up to rounding).
public final class SFTTrainer {
    /// Resumable sampler and progress state.
    public struct State: Codable, Sendable, Equatable {
        /// Steps completed.
        public var step: Int
        /// Sampler generator.
        public var generator: RandomGenerator
        /// Current epoch's order of example indices.
        public var order: [Int]
        /// Next position in `order`.
        public var cursor: Int
    }

    /// The model being trained.
    public let model: Transformer
    /// The run's settings.
    public let options: SFTOptions
    /// The optimizer (its moments and step belong in a checkpoint with `state`).
    public let optimizer: AdamW
    /// The training set.
    public let examples: [SFTExample]
    /// Sampler and progress; save with the optimizer to resume a run exactly.
    public private(set) var state: State

    /// A trainer over `model` and `examples`; throws on invalid options or examples.
    public init(model: Transformer, examples: [SFTExample], options: SFTOptions) throws {
        try options.validate()
        guard !examples.isEmpty else { throw ScoreError.invalidArgument("SFT needs at least one example") }
        guard options.padID < model.config.vocabSize else {
            throw ScoreError.invalidArgument("pad id \(options.padID) outside the vocabulary 0..<\(model.config.vocabSize)")
        }
        for (index, example) in examples.enumerated() {
            do {
                try example.validate(vocabSize: model.config.vocabSize, maxSeqLen: model.config.maxSeqLen)
            } catch ScoreError.invalidArgument(let message) {
                throw ScoreError.invalidArgument("example \(index): \(message)")
            }
        }
        self.model = model
        self.options = options
        self.examples = examples
        optimizer = try AdamW(model: model, options: options.adamW)
        state = State(step: 0, generator: RandomGenerator(seed: options.seed), order: [], cursor: 0)
    }

    /// Steps completed.
    public var completedSteps: Int { state.step }

    /// The learning rate of the 0-based step `step`.
    public func learningRate(at step: Int) -> Float {
        options.schedule?.learningRate(at: step) ?? options.adamW.learningRate
    }

    /// Restores sampler and progress saved from `state` (restore the optimizer separately).
    public func restore(state saved: State) throws {
        guard saved.step >= 0, saved.cursor >= 0, saved.cursor <= saved.order.count else {
            throw ScoreError.invalidArgument("SFT state: step \(saved.step) or cursor \(saved.cursor) out of range")
        }
        guard saved.order.isEmpty || saved.order.sorted() == Array(examples.indices) else {
            throw ScoreError.invalidArgument("SFT state: order is not a permutation of the \(examples.count) examples")
        }
        state = saved
    }

    /// Runs one optimizer step and returns its statistics. A non-finite gradient norm throws
    /// `ScoreError.nonFinite` before the weights change (the sampled examples are consumed).
    public func step() throws -> SFTStepStats {
        let start = DispatchTime.now().uptimeNanoseconds
        let learningRate = learningRate(at: state.step)
        let size = options.batchSize
        let picks = (0..<(size * options.gradientAccumulation)).map { _ in nextExample() }
        var blocks = [SequenceBatch]()
        for micro in 0..<options.gradientAccumulation {
            let chosen = picks[(micro * size)..<((micro + 1) * size)].map { examples[$0] }
            blocks.append(try SequenceBatch(examples: chosen, padID: options.padID, maxSeqLen: model.config.maxSeqLen))
        }
        let trained = blocks.reduce(0) { $0 + $1.trainedCount }
        guard trained > 0 else { throw ScoreError.invalidArgument("SFT step has no trained tokens") }
        model.zeroGradients()
        var negativeLogLikelihood: Double = 0
        for block in blocks {
            let logProbs = try model.forward(tokens: block.tokens, targets: block.targets,
                                             batch: block.batch, seqLen: block.seqLen)
            negativeLogLikelihood += try CrossEntropy.sum(logProbs: logProbs, targets: block.targets).negativeLogLikelihood
            try model.backward(dLogProbs: try CrossEntropy.gradient(targets: block.targets, normalizer: trained))
        }
        let maxNorm = options.gradientClipNorm > 0 ? options.gradientClipNorm : .infinity
        let norm = try GradientClipping.clip(model, maxNorm: maxNorm)
        try optimizer.step(learningRate: learningRate)
        state.step += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let tokens = blocks.reduce(0) { $0 + $1.tokenCount }
        return SFTStepStats(step: state.step, loss: Float(negativeLogLikelihood / Double(trained)),
                            learningRate: learningRate, gradNorm: norm, tokens: tokens, trainedTokens: trained,
                            tokensPerSecond: seconds > 0 ? Double(tokens) / seconds : 0, seconds: seconds)
    }

    /// Runs the remaining steps up to `options.steps`, calling `progress` on the first step, every
    /// `logEvery` steps and the last; returns every step's statistics. An error thrown by
    /// `progress` stops the run after that step.
    @discardableResult
    public func train(progress: (SFTStepStats) throws -> Void = { _ in }) throws -> [SFTStepStats] {
        var history = [SFTStepStats]()
        while state.step < options.steps {
            let stats = try step()
            history.append(stats)
            if stats.step == 1 || stats.step % options.logEvery == 0 || stats.step == options.steps {
                try progress(stats)
            }
        }
        return history
    }

    /// Next example index: a fresh shuffle of all examples at each epoch boundary.
    private func nextExample() -> Int {
        if state.cursor >= state.order.count {
            var order = Array(examples.indices)
            if order.count > 1 {
                for i in stride(from: order.count - 1, to: 0, by: -1) {
                    order.swapAt(i, state.generator.nextIndex(below: i + 1))
                }
            }
            state.order = order
            state.cursor = 0
        }
        defer { state.cursor += 1 }
        return state.order[state.cursor]
    }
}
