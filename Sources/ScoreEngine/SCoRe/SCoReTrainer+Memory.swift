/// How a SCoRe step sizes its work to memory: how many prompts are sampled at once, how many
/// episodes are forwarded at once, and the check that refuses a step that cannot fit.
extension SCoReTrainer {
    /// Longest episode a step on prompts of `longestPrompt` tokens can produce.
    func longestEpisode(longestPrompt: Int) -> Int {
        format.longestEpisode(promptLength: longestPrompt, maxNewTokens: options.maxNewTokens, attempts: options.attempts)
    }

    /// Prompts sampled at once: as many as keep their rollout within the memory budget (at least 1).
    func rolloutPrompts(longestPrompt: Int) -> Int {
        let one = MemoryEstimate.rollout(config: policy.config, slots: options.largestEpisodesPerPrompt,
                                         capacity: longestEpisode(longestPrompt: longestPrompt), prefillRows: longestPrompt)
        return max(1, options.memoryBudget / max(1, one))
    }

    /// Whether training passes checkpoint activations: when a micro-batch (`options.microBatch`, or a
    /// single episode when it is chosen automatically) would not fit the memory budget otherwise.
    func checkpointsActivations(longestEpisode: Int) -> Bool {
        let episodes = options.microBatch ?? 1
        return MemoryEstimate.trainingPass(config: policy.config, sequences: episodes, seqLen: longestEpisode)
            > options.memoryBudget
    }

    /// Episodes forwarded at once: `options.microBatch`, or as many as fit the memory budget.
    func microBatchSize(longestEpisode: Int) -> Int {
        if let fixed = options.microBatch { return fixed }
        return MemoryEstimate.sequencesFitting(config: policy.config, seqLen: longestEpisode, budget: options.memoryBudget,
                                               checkpointed: checkpointsActivations(longestEpisode: longestEpisode))
    }

    /// Sets the policy's (and a separate reference's) checkpointing for passes over episodes of up
    /// to `longestEpisode` tokens; returns the micro-batch.
    func preparePasses(longestEpisode: Int) -> Int {
        let checkpoint = checkpointsActivations(longestEpisode: longestEpisode)
        policy.checkpointsActivations = checkpoint
        reference.checkpointsActivations = checkpoint
        return microBatchSize(longestEpisode: longestEpisode)
    }

    /// Bytes the trainer holds whatever the batch: the policy's weights and gradients, the two
    /// AdamW moments and the reference's weights; with LoRA the frozen weights and the adapters'
    /// values, gradients and moments.
    public var stateBytes: Int { Self.stateBytes(parameters: policy.parameterCount, lora: options.lora, config: policy.config) }

    static func stateBytes(parameters: Int, lora: LoRAOptions?, config: ModelConfig) -> Int {
        guard let lora else { return parameters * MemoryEstimate.float * 5 }
        let adapters = LoRAOptions.parameterCount(lora, config: config)
        return (parameters + 4 * adapters) * MemoryEstimate.float
    }

    /// Estimated peak bytes of a step on prompts of up to `longestPrompt` tokens: the state plus the
    /// larger of one rollout chunk and one training pass (micro-batch) at the longest episode.
    public func estimatedPeakBytes(longestPrompt: Int) -> Int {
        let episode = longestEpisode(longestPrompt: longestPrompt)
        let prompts = min(rolloutPrompts(longestPrompt: longestPrompt), options.promptsPerStep)
        let rollout = MemoryEstimate.rollout(config: policy.config, slots: prompts * options.largestEpisodesPerPrompt,
                                             capacity: episode, prefillRows: prompts * longestPrompt)
        let episodes = options.promptsPerStep * options.largestEpisodesPerPrompt
        let pass = MemoryEstimate.trainingPass(config: policy.config,
                                               sequences: min(episodes, microBatchSize(longestEpisode: episode)),
                                               seqLen: episode, checkpointed: checkpointsActivations(longestEpisode: episode))
        return stateBytes + max(rollout, pass)
    }

    /// Throws `ScoreError.invalidArgument`, before anything is sampled, when a step on prompts of up
    /// to `longestPrompt` tokens would need more memory than this machine has, with the estimate
    /// and what would make it fit.
    func checkMemory(longestPrompt: Int) throws {
        let available = availableMemory
        let peak = estimatedPeakBytes(longestPrompt: longestPrompt)
        guard peak > available else { return }
        let episode = longestEpisode(longestPrompt: longestPrompt)
        let single = MemoryEstimate.trainingPass(config: policy.config, sequences: 1, seqLen: episode, checkpointed: true)
        var advice: String
        if stateBytes + single > available {
            advice = "even one episode of \(episode) tokens does not fit: lower maxNewTokens (max_new_tokens, "
                + "--max-new-tokens) or use a smaller model"
        } else {
            let fitting = max(1, (available - stateBytes) / max(1, single) / 2)
            advice = "set microBatch (micro_batch, --micro-batch) to \(fitting) or less, or lower memoryBudget"
        }
        throw ScoreError.invalidArgument(
            "a SCoRe step would need about \(MemoryEstimate.describe(peak)) (\(MemoryEstimate.describe(stateBytes)) of "
            + "weights, gradients, optimizer moments and reference, plus activations), more than the "
            + "\(MemoryEstimate.describe(available)) this machine has; \(advice)")
    }
}
