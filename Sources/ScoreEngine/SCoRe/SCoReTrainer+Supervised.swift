import Foundation

extension SCoReTrainer {
    /// One supervised step on `examples` with the trainer's optimizer: cross-entropy on the trained
    /// segments (mean over their tokens), forwarded in micro-batches like a SCoRe step, clipping as
    /// configured, AdamW at `learningRate`. Returns
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
        try checkAdapters()
        // Micro-batches as in a SCoRe step; each is normalised by the whole step's trained tokens.
        let whole = try SequenceBatch(examples: examples, padID: format.padID, maxSeqLen: policy.config.maxSeqLen)
        let trained = whole.trainedCount
        let size = preparePasses(longestEpisode: whole.seqLen)
        policy.zeroGradients()
        var negativeLogLikelihood = 0.0
        for first in stride(from: 0, to: examples.count, by: size) {
            let part = Array(examples[first..<min(examples.count, first + size)])
            let batch = try SequenceBatch(examples: part, padID: format.padID, maxSeqLen: policy.config.maxSeqLen)
            let logProbs = try policy.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch,
                                              seqLen: batch.seqLen)
            negativeLogLikelihood += try CrossEntropy.sum(logProbs: logProbs, targets: batch.targets).negativeLogLikelihood
            guard negativeLogLikelihood.isFinite else {
                throw ScoreError.nonFinite("supervised step: loss is \(negativeLogLikelihood)")
            }
            try policy.backward(dLogProbs: try CrossEntropy.gradient(targets: batch.targets, normalizer: trained))
        }
        let loss = negativeLogLikelihood / Double(max(1, trained))
        let clipNorm = options.gradientClipNorm > 0 ? options.gradientClipNorm : .infinity
        try GradientClipping.clip(policy, maxNorm: clipNorm)
        try optimizer.step(learningRate: learningRate)
        return Float(loss)
    }
}
