import CBLAS

/// Row-major matrix products over raw pointers, all through OpenBLAS. Large products are split
/// into row (or column) blocks run on the engine's threads; each block is one single-threaded
/// BLAS call, so results do not depend on OpenBLAS's own threading.
package enum Blas {
    /// Puts OpenBLAS in single-threaded mode; the engine parallelises around it.
    /// Called once, lazily, before the first product.
    package static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Below this many multiply-adds (about 40 µs of work) a product is not worth splitting across
    /// threads: waking a second thread costs more than it saves.
    static let splitThreshold = 1 << 21

    /// C[m,n] = alpha * A[m,k] · B[n,k]ᵀ + beta * C — the linear layer `x Wᵀ` with W stored as
    /// [out, in] (Hugging Face layout). `lda`, `ldb`, `ldc` are row strides.
    package static func matmulTransB(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = 1
    ) {
        _ = configured
        if m == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb),
                        a, 1, beta, c, 1)
            return
        }
        let pieces = m * n * k >= splitThreshold ? threads : 1
        if pieces > 1 && m < columnSplitRows && n >= m {
            // Few rows (batched decode): split the weight's rows (C's columns) instead, so each
            // thread reads and packs only its part of the weight rather than all of it.
            Parallel.chunks(n, threads: pieces) { start, end in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(end - start), Int32(k),
                            alpha, a, Int32(lda), b + start * ldb, Int32(ldb), beta, c + start, Int32(ldc))
            }
            return
        }
        Parallel.chunks(m, threads: pieces) { start, end in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(end - start), Int32(n), Int32(k),
                        alpha, a + start * lda, Int32(lda), b, Int32(ldb), beta, c + start * ldc, Int32(ldc))
        }
    }

    /// Below this many rows, `matmulTransB` splits its work by output columns: each of its row
    /// blocks would otherwise read the whole weight matrix.
    static let columnSplitRows = 128

    /// C[m,n] = alpha * A[m,k] · B[k,n] + beta * C.
    package static func matmul(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = 1
    ) {
        _ = configured
        if m == 1 {
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb),
                        a, 1, beta, c, 1)
            return
        }
        let pieces = m * n * k >= splitThreshold ? threads : 1
        Parallel.chunks(m, threads: pieces) { start, end in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(end - start), Int32(n), Int32(k),
                        alpha, a + start * lda, Int32(lda), b, Int32(ldb), beta, c + start * ldc, Int32(ldc))
        }
    }

    /// C[m,n] = alpha * A[k,m]ᵀ · B[k,n] + beta * C — weight gradients `dYᵀ X`, a reduction over
    /// the k rows. Split across threads by output rows (m), so no two threads write the same element.
    package static func matmulTransA(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = 1
    ) {
        _ = configured
        let pieces = m * n * k >= splitThreshold ? threads : 1
        Parallel.chunks(m, threads: pieces) { start, end in
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(end - start), Int32(n), Int32(k),
                        alpha, a + start, Int32(lda), b, Int32(ldb), beta, c + start * ldc, Int32(ldc))
        }
    }

    /// y[n] += alpha * x[n].
    @inline(__always)
    package static func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(Int32(n), alpha, x, 1, y, 1)
    }

    /// Σ x[i]·y[i].
    @inline(__always)
    package static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        cblas_sdot(Int32(n), x, 1, y, 1)
    }
}
