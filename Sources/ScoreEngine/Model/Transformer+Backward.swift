import Foundation

/// The backward pass matching `forward(tokens:targets:batch:seqLen:)`.
extension Transformer {
    /// Accumulates into `gradients` the gradient of L = Σᵢ dLogProbs[i] · log π(targets[i] | ·)
    /// for the last forward pass. Supervised cross-entropy passes −wᵢ/Σw; policy gradients pass
    /// −advantage (plus KL terms) per token. Positions with a negative target must carry 0.
    /// Consumes the saved logits: call `forward` again before another `backward`.
    public func backward(dLogProbs: [Float]) throws {
        let parts = activations
        guard !parts.isEmpty, parts.allSatisfy({ !$0.tokens.isEmpty }) else {
            throw ScoreError.invalidArgument("backward called before forward")
        }
        let rows = parts.reduce(0) { $0 + $1.rows }
        guard dLogProbs.count == rows else {
            throw ScoreError.invalidArgument("expected \(rows) log-prob gradients, got \(dLogProbs.count)")
        }
        if let bad = dLogProbs.firstIndex(where: { !$0.isFinite }) {
            throw ScoreError.nonFinite("log-prob gradient at position \(bad) is \(dLogProbs[bad])")
        }
        var row = 0
        for a in parts {
            if let bad = (0..<a.rows).first(where: { dLogProbs[row + $0] != 0 && a.targets[$0] < 0 }) {
                throw ScoreError.invalidArgument("position \(row + bad) has a gradient but no target")
            }
            row += a.rows
        }
        // Shard 0 accumulates into `gradients`; the others into buffers of their own, summed after.
        while store.shardGradients.count < parts.count - 1 { store.shardGradients.append(FloatBuffer(count: layout.count)) }
        let shardGradients = store.shardGradients
        let inner = parts.count > 1 ? 1 : threads
        var starts = [0]
        for a in parts.dropLast() { starts.append((starts.last ?? 0) + a.rows) }
        Parallel.forEach(parts.count, threads: parts.count) { s in
            let target: UnsafeMutablePointer<Float>
            if s == 0 {
                target = self.gradients.pointer
            } else {
                shardGradients[s - 1].zero()
                target = shardGradients[s - 1].pointer
            }
            let slice = Array(dLogProbs[starts[s]..<(starts[s] + parts[s].rows)])
            self.runBackward(parts[s], dLogProbs: slice, threads: inner, gradients: target)
        }
        for extra in shardGradients.prefix(parts.count - 1) {
            Parallel.chunks(layout.count, threads: threads) { start, end in
                Blas.axpy(end - start, 1, extra.pointer + start, self.gradients.pointer + start)
            }
        }
        for a in parts { a.tokens = [] }
    }

    func runBackward(_ a: TrainingActivations, dLogProbs: [Float], threads: Int,
                     gradients: UnsafeMutablePointer<Float>) {
        func grad(_ offset: Int) -> UnsafeMutablePointer<Float> { gradients + offset }
        let c = config, n = a.rows, d = c.dim, f = c.hiddenDim, v = c.vocabSize, t = a.seqLen
        // A frozen base (adapters attached) gets no weight gradients: its norm-weight gradients go
        // to scratch and its matrix gradients are not computed.
        let trainBase = trainsBase
        func normGrad(_ offset: Int) -> UnsafeMutablePointer<Float> { trainBase ? grad(offset) : a.normScratch.pointer }
        func adapt(_ layer: Int, _ target: LoRATarget, _ block: TrainingActivations.Block, dOutput: UnsafePointer<Float>,
                   input: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>) {
            guard a.adapted, let adapters, let site = adapters.site(layer: layer, target: target) else { return }
            loraBackward(site, rows: n, dOutput: dOutput, input: input, hidden: block.hidden(target), dInput: dInput,
                         scratch: a.loraScratch.pointer, gradients: adapters.gradients.pointer, threads: threads)
        }
        let shape = AttentionShape(batch: a.batch, seqLen: t, nHeads: c.nHeads, nKVHeads: c.nKVHeads,
                                   headDim: c.headDim)
        // dLogits = g · (onehot(target) − softmax) / T, in place over the logits of the rows that have
        // them (the saved logits are already divided by the temperature T).
        let logits = a.logits.pointer, m = a.logitRows.count
        dLogProbs.withUnsafeBufferPointer { g in
            rowChunks(m, threads) { s, e in
                for i in s..<e {
                    let r = Int(a.logitRows[i])
                    let row = logits + i * v
                    let scale = g[r] * a.logitScale
                    if scale == 0 {
                        row.update(repeating: 0, count: v)
                        continue
                    }
                    let logZ = a.logPartition.pointer[i]
                    _ = VectorMath.expShifted(row, row, v, shift: logZ)
                    for j in 0..<v { row[j] *= -scale }
                    row[Int(a.targets[r])] += scale
                }
            }
        }
        // Output projection (over the rows with logits; the others get no gradient) and final norm.
        if a.allLogits {
            Blas.matmul(m: n, n: d, k: v, a: logits, lda: v, b: weight(layout.output), ldb: d,
                        c: a.dNorm.pointer, ldc: d, threads: threads)
        } else {
            a.dNorm.zero(count: n * d)
            if m > 0 {
                Blas.matmul(m: m, n: d, k: v, a: logits, lda: v, b: weight(layout.output), ldb: d,
                            c: a.gatheredGrad.pointer, ldc: d, threads: threads)
            }
            for (i, r) in a.logitRows.enumerated() {
                (a.dNorm.pointer + Int(r) * d).update(from: a.gatheredGrad.pointer + i * d, count: d)
            }
        }
        if trainBase && m > 0 {
            Blas.matmulTransA(m: v, n: d, k: m, a: logits, lda: v, b: a.allLogits ? a.normFinal.pointer : a.gatheredNorm.pointer,
                              ldb: d, beta: 1, c: grad(layout.output), ldc: d, threads: threads)
        }
        a.dResidual.zero(count: n * d)
        Kernels.rmsNormBackward(rows: n, n: d, x: a.output.pointer, weight: weight(layout.finalNorm),
                                invRMS: a.invRMSFinal.pointer, dy: a.dNorm.pointer, dx: a.dResidual.pointer,
                                dWeight: normGrad(layout.finalNorm))
        for l in (0..<c.nLayers).reversed() {
            let block = a.block(l)
            if a.checkpointed {
                // Recompute the block from its saved input; its output is not needed (dNorm is free here).
                block.input.copy(from: a.input(l), count: n * d)
                blockForward(l, a, block, output: a.dNorm, threads: threads)
            }
            let o = layout.layers[l]
            // MLP: next = middle + act · Wdownᵀ
            Blas.matmul(m: n, n: f, k: d, a: a.dResidual.pointer, lda: d, b: weight(o.wDown), ldb: f,
                        c: a.dAct.pointer, ldc: f, threads: threads)
            if trainBase {
                Blas.matmulTransA(m: d, n: f, k: n, a: a.dResidual.pointer, lda: d, b: block.act.pointer, ldb: f,
                                  beta: 1, c: grad(o.wDown), ldc: f, threads: threads)
            }
            adapt(l, .down, block, dOutput: a.dResidual.pointer, input: block.act.pointer, dInput: a.dAct.pointer)
            rowChunks(n, threads) { s, e in
                Kernels.swigluBackward(n: (e - s) * f, gate: block.gate.pointer + s * f, up: block.up.pointer + s * f,
                                       dOut: a.dAct.pointer + s * f, dGate: a.dGate.pointer + s * f,
                                       dUp: a.dUp.pointer + s * f)
            }
            Blas.matmul(m: n, n: d, k: f, a: a.dGate.pointer, lda: f, b: weight(o.wGate), ldb: d,
                        c: a.dNorm.pointer, ldc: d, threads: threads)
            Blas.matmul(m: n, n: d, k: f, a: a.dUp.pointer, lda: f, b: weight(o.wUp), ldb: d,
                        beta: 1, c: a.dNorm.pointer, ldc: d, threads: threads)
            if trainBase {
                Blas.matmulTransA(m: f, n: d, k: n, a: a.dGate.pointer, lda: f, b: block.norm2.pointer, ldb: d,
                                  beta: 1, c: grad(o.wGate), ldc: d, threads: threads)
                Blas.matmulTransA(m: f, n: d, k: n, a: a.dUp.pointer, lda: f, b: block.norm2.pointer, ldb: d,
                                  beta: 1, c: grad(o.wUp), ldc: d, threads: threads)
            }
            adapt(l, .gate, block, dOutput: a.dGate.pointer, input: block.norm2.pointer, dInput: a.dNorm.pointer)
            adapt(l, .up, block, dOutput: a.dUp.pointer, input: block.norm2.pointer, dInput: a.dNorm.pointer)
            Kernels.rmsNormBackward(rows: n, n: d, x: block.middle.pointer, weight: weight(o.mlpNorm),
                                    invRMS: block.invRMS2.pointer, dy: a.dNorm.pointer, dx: a.dResidual.pointer,
                                    dWeight: normGrad(o.mlpNorm))
            // Attention: middle = input + attention · Woᵀ
            Blas.matmul(m: n, n: c.qDim, k: d, a: a.dResidual.pointer, lda: d, b: weight(o.wo), ldb: c.qDim,
                        c: a.dAttention.pointer, ldc: c.qDim, threads: threads)
            if trainBase {
                Blas.matmulTransA(m: d, n: c.qDim, k: n, a: a.dResidual.pointer, lda: d, b: block.attention.pointer,
                                  ldb: c.qDim, beta: 1, c: grad(o.wo), ldc: c.qDim, threads: threads)
            }
            adapt(l, .o, block, dOutput: a.dResidual.pointer, input: block.attention.pointer, dInput: a.dAttention.pointer)
            a.dK.zero(count: n * c.kvDim)
            a.dV.zero(count: n * c.kvDim)
            Attention.backward(shape, q: block.q.pointer, k: block.k.pointer, v: block.v.pointer,
                               probs: block.probs.pointer, dOut: a.dAttention.pointer, dQ: a.dQ.pointer,
                               dK: a.dK.pointer, dV: a.dV.pointer, threads: threads)
            rowChunks(n, threads) { s, e in
                for r in s..<e {
                    Kernels.rope(row: a.dQ.pointer + r * c.qDim, heads: c.nHeads, headDim: c.headDim, position: r % t,
                                 cos: self.ropeCos.pointer, sin: self.ropeSin.pointer, inverse: true)
                    Kernels.rope(row: a.dK.pointer + r * c.kvDim, heads: c.nKVHeads, headDim: c.headDim, position: r % t,
                                 cos: self.ropeCos.pointer, sin: self.ropeSin.pointer, inverse: true)
                }
            }
            linearBackward(threads: threads, gradients: gradients, rows: n, dOutput: a.dQ.pointer, outWidth: c.qDim, input: block.norm1.pointer, inWidth: d,
                           weightOffset: o.wq, biasOffset: o.bq, dInput: a.dNorm.pointer, accumulate: false)
            linearBackward(threads: threads, gradients: gradients, rows: n, dOutput: a.dK.pointer, outWidth: c.kvDim, input: block.norm1.pointer, inWidth: d,
                           weightOffset: o.wk, biasOffset: o.bk, dInput: a.dNorm.pointer, accumulate: true)
            linearBackward(threads: threads, gradients: gradients, rows: n, dOutput: a.dV.pointer, outWidth: c.kvDim, input: block.norm1.pointer, inWidth: d,
                           weightOffset: o.wv, biasOffset: o.bv, dInput: a.dNorm.pointer, accumulate: true)
            adapt(l, .q, block, dOutput: a.dQ.pointer, input: block.norm1.pointer, dInput: a.dNorm.pointer)
            adapt(l, .k, block, dOutput: a.dK.pointer, input: block.norm1.pointer, dInput: a.dNorm.pointer)
            adapt(l, .v, block, dOutput: a.dV.pointer, input: block.norm1.pointer, dInput: a.dNorm.pointer)
            Kernels.rmsNormBackward(rows: n, n: d, x: block.input.pointer, weight: weight(o.attnNorm),
                                    invRMS: block.invRMS1.pointer, dy: a.dNorm.pointer, dx: a.dResidual.pointer,
                                    dWeight: normGrad(o.attnNorm))
        }
        guard trainBase else { return }
        let dEmbedding = grad(layout.embedding)
        for r in 0..<n {
            Blas.axpy(d, 1, a.dResidual.pointer + r * d, dEmbedding + Int(a.tokens[r]) * d)
        }
    }

    /// Backward of `linear`: dW += dYᵀ X, db += Σ dY, dX (+)= dY W.
    func linearBackward(threads: Int, gradients: UnsafeMutablePointer<Float>, rows: Int, dOutput: UnsafePointer<Float>, outWidth: Int, input: UnsafePointer<Float>,
                        inWidth: Int, weightOffset: Int, biasOffset: Int, dInput: UnsafeMutablePointer<Float>,
                        accumulate: Bool) {
        func grad(_ offset: Int) -> UnsafeMutablePointer<Float> { gradients + offset }
        Blas.matmul(m: rows, n: inWidth, k: outWidth, a: dOutput, lda: outWidth, b: weight(weightOffset),
                    ldb: inWidth, beta: accumulate ? 1 : 0, c: dInput, ldc: inWidth, threads: threads)
        guard trainsBase else { return }
        Blas.matmulTransA(m: outWidth, n: inWidth, k: rows, a: dOutput, lda: outWidth, b: input, ldb: inWidth,
                          beta: 1, c: grad(weightOffset), ldc: inWidth, threads: threads)
        if biasOffset >= 0 {
            Kernels.addColumnSums(rows: rows, n: outWidth, dy: dOutput, dBias: grad(biasOffset))
        }
    }
}
