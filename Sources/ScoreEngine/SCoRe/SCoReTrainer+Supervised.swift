import Foundation

extension SCoReTrainer {
    /// One supervised step on `examples` with the trainer's optimizer: cross-entropy on the trained
    /// segments (mean over their tokens), clipping as configured, AdamW at `learningRate`. Returns
    /// the mean token loss. Does not count as a SCoRe step; pending gradients are dropped. A
    /// non-finite loss or gradient norm throws before the weights change.
    @discardableResult
    public func supervisedStep(_ examples: [SFTExample], learningRate: Float) throws -> Float {
        guard learningRate.isFinite, learningRate > 0 else {
            throw ScoreError.invalidArgument("supervised step: learning rate must be positive (got \(learningRate))")
        }
        guard !examples.isEmpty else { throw ScoreError.invalidArgument("supervised step: no examples") }
        for example in examples {
            try example.validate(vocabSize: policy.config.vocabSize, maxSeqLen: policy.config.maxSeqLen)
        }
        discardPendingGradients()
        let batch = try SequenceBatch(examples: examples, padID: format.padID, maxSeqLen: policy.config.maxSeqLen)
        let logProbs = try policy.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch,
                                          seqLen: batch.seqLen)
        let loss = try CrossEntropy.sum(logProbs: logProbs, targets: batch.targets).negativeLogLikelihood
            / Double(max(1, batch.trainedCount))
        guard loss.isFinite else { throw ScoreError.nonFinite("supervised step: loss is \(loss)") }
        policy.zeroGradients()
        try policy.backward(dLogProbs: try CrossEntropy.gradient(targets: batch.targets, normalizer: batch.trainedCount))
        let clipNorm = options.gradientClipNorm > 0 ? options.gradientClipNorm : .infinity
        try GradientClipping.clip(policy, maxNorm: clipNorm)
        try optimizer.step(learningRate: learningRate)
        return Float(loss)
    }
}
