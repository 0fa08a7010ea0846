import Foundation

/// The training forward pass: a [batch, seqLen] block of token ids, right-padded, every sequence
/// starting at position 0. Keeps the activations the backward pass needs.
extension Transformer {
    /// Runs the model on `tokens` (row-major [batch, seqLen]) and returns, for each position,
    /// log π(targets[i] | tokens[..i]) — or 0 where `targets[i]` is negative (ignored position).
    /// Only positions with a target get logits (the output projection is skipped elsewhere), unless
    /// `allLogits` is set or no position has a target (a pass run for its logits). At a
    /// `temperature` other than 1 the distribution is softmax(logits / temperature), the one a
    /// sampler at that temperature draws from, and `backward` differentiates that.
    public func forward(tokens: [Int], targets: [Int], batch: Int, seqLen: Int, allLogits: Bool = false,
                        temperature: Float = 1) throws -> [Float] {
        try validateBlock(tokens: tokens, targets: targets, batch: batch, seqLen: seqLen)
        guard temperature.isFinite, temperature > 0 else {
            throw ScoreError.invalidArgument("a forward pass's temperature must be finite and positive (got \(temperature))")
        }
        let shards = shardCount(batch: batch)
        let parts = trainingActivations(batch: batch, seqLen: seqLen, shards: shards)
        var row = 0
        for a in parts {
            a.tokens = tokens[row..<(row + a.rows)].map { Int32($0) }
            a.targets = targets[row..<(row + a.rows)].map { Int32($0) }
            row += a.rows
        }
        let everyRow = allLogits || !targets.contains { $0 >= 0 }
        for a in parts {
            a.logitScale = 1 / temperature
            a.logitRows = (0..<a.rows).filter { everyRow || a.targets[$0] >= 0 }.map { Int32($0) }
            a.logitIndex = [Int32](repeating: -1, count: a.rows)
            for (index, r) in a.logitRows.enumerated() { a.logitIndex[Int(r)] = Int32(index) }
        }
        let inner = shards > 1 ? 1 : threads
        Parallel.forEach(shards, threads: shards) { self.runForward(parts[$0], threads: inner) }
        let v = config.vocabSize
        var logProbs = [Float](repeating: 0, count: tokens.count)
        row = 0
        for a in parts {
            for r in 0..<a.rows where a.targets[r] >= 0 {
                let i = Int(a.logitIndex[r])
                logProbs[row + r] = a.logits.pointer[i * v + Int(a.targets[r])] - a.logPartition.pointer[i]
            }
            row += a.rows
        }
        return logProbs
    }

    /// The logits of the last forward pass (divided by its temperature), [batch·seqLen, vocabSize];
    /// nil before any forward, after `backward` (which reuses their storage for the logit
    /// gradients) and when the pass computed logits only at positions with a target.
    public var lastLogits: [Float]? {
        guard !activations.isEmpty, activations.allSatisfy({ !$0.tokens.isEmpty && $0.allLogits }) else { return nil }
        let v = config.vocabSize
        return activations.flatMap { Array(UnsafeBufferPointer(start: $0.logits.pointer, count: $0.rows * v)) }
    }

    /// With several threads, at least as many sequences and a small model, the batch is split into
    /// shards that run whole passes in parallel on one thread each (data parallelism inside the
    /// process); otherwise one pass spreads each kernel over the threads. Every shard after the
    /// first needs a gradient buffer of its own, so models whose extra copies would exceed
    /// `shardGradientBytes` always run one pass (their products are large enough to split well).
    func shardCount(batch: Int) -> Int {
        guard threads > 1, batch >= threads, adapters == nil else { return 1 }
        return (threads - 1) * layout.count * 4 <= Self.shardGradientBytes ? threads : 1
    }

    /// Most memory the extra gradient buffers of batch shards may take.
    static let shardGradientBytes = 64 << 20

    func validateBlock(tokens: [Int], targets: [Int], batch: Int, seqLen: Int) throws {
        guard batch > 0, seqLen > 0 else {
            throw ScoreError.invalidArgument("batch and sequence length must be positive (got \(batch)x\(seqLen))")
        }
        guard seqLen <= config.maxSeqLen else {
            throw ScoreError.invalidArgument("sequence length \(seqLen) exceeds max_position_embeddings \(config.maxSeqLen)")
        }
        guard tokens.count == batch * seqLen, targets.count == batch * seqLen else {
            throw ScoreError.invalidArgument(
                "expected \(batch * seqLen) tokens and targets, got \(tokens.count) and \(targets.count)")
        }
        let v = config.vocabSize
        if let bad = tokens.first(where: { $0 < 0 || $0 >= v }) {
            throw ScoreError.invalidArgument("token id \(bad) outside the vocabulary 0..<\(v)")
        }
        if let bad = targets.first(where: { $0 >= v }) {
            throw ScoreError.invalidArgument("target id \(bad) outside the vocabulary 0..<\(v)")
        }
    }

    /// Buffers for a [batch, seqLen] block split into `shards`: the saved ones when they are large
    /// enough (a smaller micro-batch reuses them), new ones otherwise.
    func trainingActivations(batch: Int, seqLen: Int, shards: Int) -> [TrainingActivations] {
        let sizes = (0..<shards).map { batch * ($0 + 1) / shards - batch * $0 / shards }
        let rank = adapters?.options.rank ?? 0
        if activations.count == shards,
           zip(activations, sizes).allSatisfy({
               $0.fits(config: config, batch: $1, seqLen: seqLen, loraRank: rank, checkpointed: checkpointsActivations)
           }) {
            for (a, size) in zip(activations, sizes) {
                a.batch = size
                a.seqLen = seqLen
            }
            return activations
        }
        activations = []  // release the old buffers before allocating the new ones
        activations = sizes.map {
            TrainingActivations(config: config, batch: $0, seqLen: seqLen, loraRank: rank, checkpointed: checkpointsActivations)
        }
        return activations
    }

    func runForward(_ a: TrainingActivations, threads: Int) {
        let c = config, n = a.rows, d = c.dim
        a.adapted = adaptersEnabled && adapters != nil
        let embedding = weight(layout.embedding)
        let first = a.input(0).pointer
        for r in 0..<n {
            (first + r * d).update(from: embedding + Int(a.tokens[r]) * d, count: d)
        }
        for l in 0..<c.nLayers {
            let block = a.block(l)
            if a.checkpointed { block.input.copy(from: a.input(l), count: n * d) }
            blockForward(l, a, block, output: l + 1 < c.nLayers ? a.input(l + 1) : a.output, threads: threads)
        }
        rowChunks(n, threads) { s, e in
            Kernels.rmsNormForward(rows: e - s, n: d, x: a.output.pointer + s * d, weight: self.weight(self.layout.finalNorm),
                                   eps: c.normEps, y: a.normFinal.pointer + s * d, invRMS: a.invRMSFinal.pointer + s)
        }
        // Logits only for the rows that need them (prompt and instruction rows have no target).
        let v = c.vocabSize, m = a.logitRows.count
        guard m > 0 else { return }
        let normRows = a.allLogits ? a.normFinal.pointer : a.gatheredNorm.pointer
        if !a.allLogits {
            for (i, r) in a.logitRows.enumerated() {
                (a.gatheredNorm.pointer + i * d).update(from: a.normFinal.pointer + Int(r) * d, count: d)
            }
        }
        Blas.matmulTransB(m: m, n: v, k: d, alpha: a.logitScale, a: normRows, lda: d, b: weight(layout.output),
                          ldb: d, c: a.logits.pointer, ldc: v, threads: threads)
        rowChunks(m, threads) { s, e in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: v)
            defer { scratch.deallocate() }
            for i in s..<e {
                a.logPartition.pointer[i] = Kernels.logSumExp(a.logits.pointer + i * v, v, scratch: scratch)
            }
        }
    }

    /// Block `l` on `block.input`, keeping its intermediates in `block` and writing its output (the
    /// next block's input) to `output`. Deterministic, so the backward pass of a checkpointed
    /// forward recomputes exactly what the forward computed.
    func blockForward(_ l: Int, _ a: TrainingActivations, _ block: TrainingActivations.Block, output next: FloatBuffer,
                      threads: Int) {
        let c = config, n = a.rows, d = c.dim, f = c.hiddenDim, t = a.seqLen
        let shape = AttentionShape(batch: a.batch, seqLen: t, nHeads: c.nHeads, nKVHeads: c.nKVHeads,
                                   headDim: c.headDim)
        let o = layout.layers[l]
        rowChunks(n, threads) { s, e in
            Kernels.rmsNormForward(rows: e - s, n: d, x: block.input.pointer + s * d, weight: self.weight(o.attnNorm),
                                   eps: c.normEps, y: block.norm1.pointer + s * d, invRMS: block.invRMS1.pointer + s)
        }
        func adapt(_ target: LoRATarget, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
            guard a.adapted, let adapters, let site = adapters.site(layer: l, target: target) else { return }
            loraForward(site, rows: n, input: input, output: output, hidden: block.hidden(target), threads: threads)
        }
        linear(threads: threads, rows: n, input: block.norm1.pointer, inWidth: d, weightOffset: o.wq, biasOffset: o.bq,
               output: block.q.pointer, outWidth: c.qDim)
        adapt(.q, input: block.norm1.pointer, output: block.q.pointer)
        linear(threads: threads, rows: n, input: block.norm1.pointer, inWidth: d, weightOffset: o.wk, biasOffset: o.bk,
               output: block.k.pointer, outWidth: c.kvDim)
        adapt(.k, input: block.norm1.pointer, output: block.k.pointer)
        linear(threads: threads, rows: n, input: block.norm1.pointer, inWidth: d, weightOffset: o.wv, biasOffset: o.bv,
               output: block.v.pointer, outWidth: c.kvDim)
        adapt(.v, input: block.norm1.pointer, output: block.v.pointer)
        rowChunks(n, threads) { s, e in
            for r in s..<e {
                Kernels.rope(row: block.q.pointer + r * c.qDim, heads: c.nHeads, headDim: c.headDim,
                             position: r % t, cos: self.ropeCos.pointer, sin: self.ropeSin.pointer)
                Kernels.rope(row: block.k.pointer + r * c.kvDim, heads: c.nKVHeads, headDim: c.headDim,
                             position: r % t, cos: self.ropeCos.pointer, sin: self.ropeSin.pointer)
            }
        }
        Attention.forward(shape, q: block.q.pointer, k: block.k.pointer, v: block.v.pointer,
                          probs: block.probs.pointer, out: block.attention.pointer, threads: threads)
        block.middle.copy(from: block.input, count: n * d)
        Blas.matmulTransB(m: n, n: d, k: c.qDim, a: block.attention.pointer, lda: c.qDim, b: weight(o.wo),
                          ldb: c.qDim, beta: 1, c: block.middle.pointer, ldc: d, threads: threads)
        adapt(.o, input: block.attention.pointer, output: block.middle.pointer)
        rowChunks(n, threads) { s, e in
            Kernels.rmsNormForward(rows: e - s, n: d, x: block.middle.pointer + s * d, weight: self.weight(o.mlpNorm),
                                   eps: c.normEps, y: block.norm2.pointer + s * d, invRMS: block.invRMS2.pointer + s)
        }
        linear(threads: threads, rows: n, input: block.norm2.pointer, inWidth: d, weightOffset: o.wGate, biasOffset: -1,
               output: block.gate.pointer, outWidth: f)
        adapt(.gate, input: block.norm2.pointer, output: block.gate.pointer)
        linear(threads: threads, rows: n, input: block.norm2.pointer, inWidth: d, weightOffset: o.wUp, biasOffset: -1,
               output: block.up.pointer, outWidth: f)
        adapt(.up, input: block.norm2.pointer, output: block.up.pointer)
        rowChunks(n, threads) { s, e in
            Kernels.swigluForward(n: (e - s) * f, gate: block.gate.pointer + s * f, up: block.up.pointer + s * f,
                                  out: block.act.pointer + s * f)
        }
        next.copy(from: block.middle, count: n * d)
        Blas.matmulTransB(m: n, n: d, k: f, a: block.act.pointer, lda: f, b: weight(o.wDown), ldb: f,
                          beta: 1, c: next.pointer, ldc: d, threads: threads)
        adapt(.down, input: block.act.pointer, output: next.pointer)
    }

    /// output[rows, outWidth] = input · Wᵀ (+ bias when `biasOffset >= 0`).
    func linear(threads: Int, rows: Int, input: UnsafePointer<Float>, inWidth: Int, weightOffset: Int, biasOffset: Int,
                output: UnsafeMutablePointer<Float>, outWidth: Int) {
        Blas.matmulTransB(m: rows, n: outWidth, k: inWidth, a: input, lda: inWidth, b: weight(weightOffset),
                          ldb: inWidth, c: output, ldc: outWidth, threads: threads)
        if biasOffset >= 0 {
            Kernels.addBias(rows: rows, n: outWidth, bias: weight(biasOffset), y: output)
        }
    }

    /// Runs a row-wise kernel over 0..<rows, split across `threads` when it pays.
    @inline(__always)
    func rowChunks(_ rows: Int, _ threads: Int, _ body: (Int, Int) -> Void) {
        Parallel.chunks(rows, threads: rows >= 64 ? threads : 1, body)
    }
}

extension Transformer {
    /// Entropy (nats) of the model's next-token distribution at each position of the last forward
    /// pass whose `mask` entry is true; 0 elsewhere. Reads the saved logits, so call it after
    /// `forward` and before `backward`.
    public func lastEntropies(mask: [Bool]) throws -> [Float] {
        guard !activations.isEmpty, activations.allSatisfy({ !$0.tokens.isEmpty }) else {
            throw ScoreError.invalidArgument("entropies need a forward pass whose logits are still saved")
        }
        let rows = activations.reduce(0) { $0 + $1.rows }
        guard mask.count == rows else {
            throw ScoreError.invalidArgument("expected a mask of \(rows) positions, got \(mask.count)")
        }
        let v = config.vocabSize
        var result = [Float](repeating: 0, count: rows)
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: v)
        defer { probabilities.deallocate() }
        var row = 0
        for a in activations {
            for r in 0..<a.rows where mask[row + r] {
                let i = Int(a.logitIndex[r])
                guard i >= 0 else {
                    throw ScoreError.invalidArgument(
                        "position \(row + r) has no logits (it has no target; pass allLogits to keep them)")
                }
                // H = log Z − Σ p·logit, with p = exp(logit − log Z).
                let logits = a.logits.pointer + i * v, logZ = a.logPartition.pointer[i]
                _ = VectorMath.expShifted(logits, probabilities, v, shift: logZ)
                result[row + r] = logZ - Blas.dot(v, probabilities, logits)
            }
            row += a.rows
        }
        return result
    }
}
