/// Causal grouped-query attention over a [batch, seqLen] block, with the probabilities kept for
/// the backward pass. Q is [N, nHeads·headDim], K and V are [N, nKVHeads·headDim] (N = batch·seqLen,
/// rows of one sequence contiguous); each head is a strided view, so no data is copied.
package struct AttentionShape: Sendable {
    package let batch, seqLen, nHeads, nKVHeads, headDim: Int

    package init(batch: Int, seqLen: Int, nHeads: Int, nKVHeads: Int, headDim: Int) {
        self.batch = batch
        self.seqLen = seqLen
        self.nHeads = nHeads
        self.nKVHeads = nKVHeads
        self.headDim = headDim
    }
    var qStride: Int { nHeads * headDim }
    var kvStride: Int { nKVHeads * headDim }
    var group: Int { nHeads / nKVHeads }
    var scale: Float { 1 / Float(headDim).squareRoot() }
}

package enum Attention {
    /// Query rows are processed in blocks of this many; a block needs keys only up to its last
    /// row, so the masked upper triangle is mostly never computed.
    static let blockRows = 64

    /// out = softmax(Q Kᵀ · scale + causal mask) V for every (sequence, head); probabilities saved
    /// in `probs` ([batch, nHeads, seqLen, seqLen], zero above the diagonal).
    package static func forward(
        _ s: AttentionShape, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let t = s.seqLen
        Parallel.chunks(s.batch * s.nHeads, threads: threads) { start, end in
            for item in start..<end {
                let b = item / s.nHeads, h = item % s.nHeads, kvh = h / s.group
                let qh = q + b * t * s.qStride + h * s.headDim
                let kh = k + b * t * s.kvStride + kvh * s.headDim
                let vh = v + b * t * s.kvStride + kvh * s.headDim
                let oh = out + b * t * s.qStride + h * s.headDim
                let p = probs + item * t * t
                for r0 in stride(from: 0, to: t, by: blockRows) {
                    let r1 = min(t, r0 + blockRows)
                    Blas.matmulTransB(m: r1 - r0, n: r1, k: s.headDim, alpha: s.scale, a: qh + r0 * s.qStride,
                                      lda: s.qStride, b: kh, ldb: s.kvStride, c: p + r0 * t, ldc: t)
                    for row in r0..<r1 {
                        let pr = p + row * t
                        Kernels.softmaxInPlace(pr, row + 1)
                        (pr + row + 1).update(repeating: 0, count: t - row - 1)
                    }
                    Blas.matmul(m: r1 - r0, n: s.headDim, k: r1, a: p + r0 * t, lda: t, b: vh, ldb: s.kvStride,
                                c: oh + r0 * s.qStride, ldc: s.qStride)
                }
            }
        }
    }

    /// Backward of `forward`: writes dQ (overwriting) and accumulates dK, dV (which must start at
    /// zero). Work is split by (sequence, KV head) so heads sharing a KV head never race.
    package static func backward(
        _ s: AttentionShape, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        probs: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
        dQ: UnsafeMutablePointer<Float>, dK: UnsafeMutablePointer<Float>, dV: UnsafeMutablePointer<Float>,
        threads: Int
    ) {
        let t = s.seqLen
        Parallel.chunks(s.batch * s.nKVHeads, threads: threads) { start, end in
            let dP = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
            defer { dP.deallocate() }
            for item in start..<end {
                let b = item / s.nKVHeads, kvh = item % s.nKVHeads
                let kh = k + b * t * s.kvStride + kvh * s.headDim
                let vh = v + b * t * s.kvStride + kvh * s.headDim
                let dKh = dK + b * t * s.kvStride + kvh * s.headDim
                let dVh = dV + b * t * s.kvStride + kvh * s.headDim
                for h in (kvh * s.group)..<((kvh + 1) * s.group) {
                    let qOffset = b * t * s.qStride + h * s.headDim
                    let p = probs + (b * s.nHeads + h) * t * t
                    for r0 in stride(from: 0, to: t, by: blockRows) {
                        let r1 = min(t, r0 + blockRows), rows = r1 - r0
                        let dOb = dOut + qOffset + r0 * s.qStride, qb = q + qOffset + r0 * s.qStride
                        let pb = p + r0 * t, dPb = dP + r0 * t
                        // dP = dO Vᵀ ; dV += Pᵀ dO
                        Blas.matmulTransB(m: rows, n: r1, k: s.headDim, a: dOb, lda: s.qStride, b: vh,
                                          ldb: s.kvStride, c: dPb, ldc: t)
                        Blas.matmulTransA(m: r1, n: s.headDim, k: rows, a: pb, lda: t, b: dOb, ldb: s.qStride,
                                          beta: 1, c: dVh, ldc: s.kvStride)
                        // dS = P ∘ (dP − rowsum(dP ∘ P)) · scale, zero above the diagonal
                        for row in r0..<r1 {
                            let pr = p + row * t, dr = dP + row * t
                            let dot = Blas.dot(row + 1, pr, dr)
                            for j in 0...row { dr[j] = pr[j] * (dr[j] - dot) * s.scale }
                            (dr + row + 1).update(repeating: 0, count: r1 - row - 1)
                        }
                        // dQ = dS K ; dK += dSᵀ Q
                        Blas.matmul(m: rows, n: s.headDim, k: r1, a: dPb, lda: t, b: kh, ldb: s.kvStride,
                                    c: dQ + qOffset + r0 * s.qStride, ldc: s.qStride)
                        Blas.matmulTransA(m: r1, n: s.headDim, k: rows, a: dPb, lda: t, b: qb, ldb: s.qStride,
                                          beta: 1, c: dKh, ldc: s.kvStride)
                    }
                }
            }
        }
    }
}
