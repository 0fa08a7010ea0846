/// Causal grouped-query attention over a [batch, seqLen] block, with the probabilities kept for
/// the backward pass. Q is [N, nHeads·headDim], K and V are [N, nKVHeads·headDim] (N = batch·seqLen,
/// rows of one sequence contiguous); each head is a strided view, so no data is copied.
public struct AttentionShape: Sendable {
    public let batch, seqLen, nHeads, nKVHeads, headDim: Int

    public init(batch: Int, seqLen: Int, nHeads: Int, nKVHeads: Int, headDim: Int) {
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

public enum Attention {
    /// out = softmax(Q Kᵀ · scale + causal mask) V for every (sequence, head); probabilities saved
    /// in `probs` ([batch, nHeads, seqLen, seqLen]).
    public static func forward(
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
                let p = probs + item * t * t
                Blas.matmulTransB(m: t, n: t, k: s.headDim, alpha: s.scale, a: qh, lda: s.qStride,
                                  b: kh, ldb: s.kvStride, c: p, ldc: t)
                for row in 0..<t {
                    let pr = p + row * t
                    Kernels.softmaxInPlace(pr, row + 1)
                    for j in (row + 1)..<max(row + 1, t) { pr[j] = 0 }
                }
                Blas.matmul(m: t, n: s.headDim, k: t, a: p, lda: t, b: vh, ldb: s.kvStride,
                            c: out + b * t * s.qStride + h * s.headDim, ldc: s.qStride)
            }
        }
    }

    /// Backward of `forward`: writes dQ (overwriting) and accumulates dK, dV (which must start at
    /// zero). Work is split by (sequence, KV head) so heads sharing a KV head never race.
    public static func backward(
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
                    let dOh = dOut + qOffset
                    // dP = dO Vᵀ ; dV += Pᵀ dO
                    Blas.matmulTransB(m: t, n: t, k: s.headDim, a: dOh, lda: s.qStride, b: vh, ldb: s.kvStride,
                                      c: dP, ldc: t)
                    Blas.matmulTransA(m: t, n: s.headDim, k: t, a: p, lda: t, b: dOh, ldb: s.qStride,
                                      beta: 1, c: dVh, ldc: s.kvStride)
                    // dS = P ∘ (dP − rowsum(dP ∘ P)) · scale
                    for row in 0..<t {
                        let pr = p + row * t, dr = dP + row * t
                        var dot: Float = 0
                        for j in 0...row { dot += pr[j] * dr[j] }
                        for j in 0...row { dr[j] = pr[j] * (dr[j] - dot) * s.scale }
                        for j in (row + 1)..<max(row + 1, t) { dr[j] = 0 }
                    }
                    // dQ = dS K ; dK += dSᵀ Q
                    Blas.matmul(m: t, n: s.headDim, k: t, a: dP, lda: t, b: kh, ldb: s.kvStride,
                                c: dQ + qOffset, ldc: s.qStride)
                    Blas.matmulTransA(m: t, n: s.headDim, k: t, a: dP, lda: t, b: q + qOffset, ldb: s.qStride,
                                      beta: 1, c: dKh, ldc: s.kvStride)
                }
            }
        }
    }
}
