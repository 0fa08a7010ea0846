import CBLAS

/// Incremental inference with a KV cache: prefill, batched decode and continuation share one
/// entry point that appends tokens to any set of cache slots at once.
extension Transformer {
    /// A cache for `slots` sequences of up to `capacity` positions (default: max_position_embeddings).
    public func makeCache(slots: Int, capacity: Int? = nil) throws -> KVCache {
        let capacity = capacity ?? config.maxSeqLen
        guard slots > 0, capacity > 0, capacity <= config.maxSeqLen else {
            throw ScoreError.invalidArgument(
                "cache needs slots > 0 and 0 < capacity <= \(config.maxSeqLen) (got \(slots), \(capacity))")
        }
        let (elements, overflow) = ModelConfig.multiplyChecked([slots, capacity, config.kvDim, config.nLayers, 2])
        guard !overflow, elements < 1 << 34 else {
            throw ScoreError.invalidArgument("a cache of \(slots) x \(capacity) positions is too large")
        }
        return KVCache(config: config, slots: slots, capacity: capacity)
    }

    /// Appends `tokens[i]` to cache slot `slots[i]` (all entries in one pass: rows of every entry
    /// share the matrix products) and returns the logits after the last appended token of each
    /// entry, [entries, vocabSize] row-major. A token at position p attends to positions 0...p
    /// of its own slot. Slots must be distinct; every entry needs at least one token.
    public func decode(slots: [Int], tokens: [[Int]], cache: KVCache) throws -> [Float] {
        let rows = try validateDecode(slots: slots, tokens: tokens, cache: cache)
        let c = config, d = c.dim, f = c.hiddenDim, v = c.vocabSize
        let w = decodeWorkspace(cache: cache, rows: rows)
        var rowSlot = [Int](), rowPosition = [Int]()
        rowSlot.reserveCapacity(rows)
        rowPosition.reserveCapacity(rows)
        for (entry, slot) in slots.enumerated() {
            for (i, token) in tokens[entry].enumerated() {
                (w.x.pointer + rowSlot.count * d).update(from: weight(layout.embedding) + token * d, count: d)
                rowSlot.append(slot)
                rowPosition.append(cache.lengths[slot] + i)
            }
        }
        for l in 0..<c.nLayers {
            let o = layout.layers[l]
            func adapt(_ target: LoRATarget, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
                guard let site = activeSite(layer: l, target: target) else { return }
                loraForward(site, rows: rows, input: input, output: output, hidden: w.loraHidden.pointer, threads: threads)
            }
            Kernels.rmsNormForward(rows: rows, n: d, x: w.x.pointer, weight: weight(o.attnNorm), eps: c.normEps,
                                   y: w.norm.pointer, invRMS: nil)
            linear(threads: threads, rows: rows, input: w.norm.pointer, inWidth: d, weightOffset: o.wq, biasOffset: o.bq,
                   output: w.q.pointer, outWidth: c.qDim)
            adapt(.q, input: w.norm.pointer, output: w.q.pointer)
            linear(threads: threads, rows: rows, input: w.norm.pointer, inWidth: d, weightOffset: o.wk, biasOffset: o.bk,
                   output: w.k.pointer, outWidth: c.kvDim)
            adapt(.k, input: w.norm.pointer, output: w.k.pointer)
            linear(threads: threads, rows: rows, input: w.norm.pointer, inWidth: d, weightOffset: o.wv, biasOffset: o.bv,
                   output: w.v.pointer, outWidth: c.kvDim)
            adapt(.v, input: w.norm.pointer, output: w.v.pointer)
            for r in 0..<rows {
                Kernels.rope(row: w.q.pointer + r * c.qDim, heads: c.nHeads, headDim: c.headDim,
                             position: rowPosition[r], cos: ropeCos.pointer, sin: ropeSin.pointer)
                Kernels.rope(row: w.k.pointer + r * c.kvDim, heads: c.nKVHeads, headDim: c.headDim,
                             position: rowPosition[r], cos: ropeCos.pointer, sin: ropeSin.pointer)
                cache.keyRow(layer: l, slot: rowSlot[r], position: rowPosition[r])
                    .update(from: w.k.pointer + r * c.kvDim, count: c.kvDim)
                cache.valueRow(layer: l, slot: rowSlot[r], position: rowPosition[r])
                    .update(from: w.v.pointer + r * c.kvDim, count: c.kvDim)
            }
            cachedAttention(layer: l, rows: rows, rowSlot: rowSlot, rowPosition: rowPosition, cache: cache, w: w)
            Blas.matmulTransB(m: rows, n: d, k: c.qDim, a: w.attention.pointer, lda: c.qDim, b: weight(o.wo),
                              ldb: c.qDim, beta: 1, c: w.x.pointer, ldc: d, threads: threads)
            adapt(.o, input: w.attention.pointer, output: w.x.pointer)
            Kernels.rmsNormForward(rows: rows, n: d, x: w.x.pointer, weight: weight(o.mlpNorm), eps: c.normEps,
                                   y: w.norm.pointer, invRMS: nil)
            linear(threads: threads, rows: rows, input: w.norm.pointer, inWidth: d, weightOffset: o.wGate, biasOffset: -1,
                   output: w.gate.pointer, outWidth: f)
            adapt(.gate, input: w.norm.pointer, output: w.gate.pointer)
            linear(threads: threads, rows: rows, input: w.norm.pointer, inWidth: d, weightOffset: o.wUp, biasOffset: -1,
                   output: w.up.pointer, outWidth: f)
            adapt(.up, input: w.norm.pointer, output: w.up.pointer)
            Kernels.swigluForward(n: rows * f, gate: w.gate.pointer, up: w.up.pointer, out: w.gate.pointer)
            Blas.matmulTransB(m: rows, n: d, k: f, a: w.gate.pointer, lda: f, b: weight(o.wDown), ldb: f,
                              beta: 1, c: w.x.pointer, ldc: d, threads: threads)
            adapt(.down, input: w.gate.pointer, output: w.x.pointer)
        }
        // Final norm and logits for the last row of each entry only.
        var row = 0
        for (entry, slot) in slots.enumerated() {
            row += tokens[entry].count
            Kernels.rmsNormForward(rows: 1, n: d, x: w.x.pointer + (row - 1) * d, weight: weight(layout.finalNorm),
                                   eps: c.normEps, y: w.last.pointer + entry * d, invRMS: nil)
            cache.advance(slot: slot, by: tokens[entry].count)
        }
        Blas.matmulTransB(m: slots.count, n: v, k: d, a: w.last.pointer, lda: d, b: weight(layout.output), ldb: d,
                          c: w.logits.pointer, ldc: v, threads: threads)
        return Array(UnsafeBufferPointer(start: w.logits.pointer, count: slots.count * v))
    }

    /// Attention of each new row against its slot's cached keys and values (positions 0...p).
    private func cachedAttention(layer: Int, rows: Int, rowSlot: [Int], rowPosition: [Int], cache: KVCache,
                                 w: DecodeWorkspace) {
        let c = config, hd = c.headDim, group = c.nHeads / c.nKVHeads
        let scale = 1 / Float(hd).squareRoot()
        let work = rowPosition.reduce(0, +) * c.nHeads * hd
        let pieces = work >= 1 << 19 ? min(threads, rows) : 1
        Parallel.forEach(pieces, threads: pieces) { piece in
            let scores = w.scores.pointer + piece * cache.capacity
            for r in stride(from: piece, to: rows, by: pieces) {
                let length = rowPosition[r] + 1
                let keys = cache.keyRow(layer: layer, slot: rowSlot[r], position: 0)
                let values = cache.valueRow(layer: layer, slot: rowSlot[r], position: 0)
                for h in 0..<c.nHeads {
                    let kvOffset = (h / group) * hd
                    let q = w.q.pointer + r * c.qDim + h * hd
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(length), Int32(hd), scale, keys + kvOffset,
                                Int32(c.kvDim), q, 1, 0, scores, 1)
                    Kernels.softmaxInPlace(scores, length)
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(length), Int32(hd), 1, values + kvOffset,
                                Int32(c.kvDim), scores, 1, 0, w.attention.pointer + r * c.qDim + h * hd, 1)
                }
            }
        }
    }

    private func validateDecode(slots: [Int], tokens: [[Int]], cache: KVCache) throws -> Int {
        guard cache.kvDim == config.kvDim, cache.keys.count == config.nLayers else {
            throw ScoreError.invalidArgument("the cache was made for a different model")
        }
        guard !slots.isEmpty, slots.count == tokens.count else {
            throw ScoreError.invalidArgument("decode needs one token list per slot (got \(slots.count) slots, \(tokens.count) lists)")
        }
        guard Set(slots).count == slots.count else { throw ScoreError.invalidArgument("decode slots must be distinct") }
        var rows = 0
        for (slot, list) in zip(slots, tokens) {
            try cache.checkSlot(slot)
            guard !list.isEmpty else { throw ScoreError.invalidArgument("slot \(slot): no tokens to append") }
            guard cache.lengths[slot] + list.count <= cache.capacity else {
                throw ScoreError.invalidArgument(
                    "slot \(slot): \(cache.lengths[slot]) + \(list.count) tokens exceed the cache capacity \(cache.capacity)")
            }
            if let bad = list.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw ScoreError.invalidArgument("token id \(bad) outside the vocabulary 0..<\(config.vocabSize)")
            }
            rows += list.count
        }
        return rows
    }

    private func decodeWorkspace(cache: KVCache, rows: Int) -> DecodeWorkspace {
        let rank = adapters?.options.rank ?? 0
        if let w = cache.workspace, w.rows >= rows, w.loraRank >= rank,
           w.scores.count >= max(threads, 1) * cache.capacity { return w }
        let w = DecodeWorkspace(config: config, rows: max(rows, cache.slots), capacity: cache.capacity, threads: threads,
                                loraRank: rank)
        cache.workspace = w
        return w
    }
}
