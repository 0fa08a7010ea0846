import Testing
@testable import ScoreEngine

/// The threaded matrix products against a plain triple loop: row-split and column-split
/// (few rows, as in batched decode) give the product, the same split gives it bit for bit every
/// time, and another split changes it by rounding only (OpenBLAS's kernels for a block may differ
/// with its width on some CPUs, e.g. with AVX-512).
struct BlasTests {
    static func product(m: Int, n: Int, k: Int, threads: Int, seed: UInt64) -> (result: [Float], reference: [Double]) {
        var rng = RandomGenerator(seed: seed)
        let a = (0..<(m * k)).map { _ in rng.nextNormal() }, b = (0..<(n * k)).map { _ in rng.nextNormal() }
        var c = (0..<(m * n)).map { _ in rng.nextNormal() }
        let start = c
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    Blas.matmulTransB(m: m, n: n, k: k, alpha: 0.5, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: k,
                                      beta: 2, c: c.baseAddress!, ldc: n, threads: threads)
                }
            }
        }
        var reference = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[j * k + p]) }
                reference[i * n + j] = 0.5 * sum + 2 * Double(start[i * n + j])
            }
        }
        return (c, reference)
    }

    @Test(arguments: [(8, 600, 500), (200, 120, 100), (1, 300, 64)])
    func matmulTransBMatchesTheLoopOnAnySplit(m: Int, n: Int, k: Int) {
        let one = Self.product(m: m, n: n, k: k, threads: 1, seed: 3)
        let two = Self.product(m: m, n: n, k: k, threads: 2, seed: 3)
        for (value, expected) in zip(two.result, two.reference) {
            #expect(abs(Double(value) - expected) <= 1e-3 * max(1, abs(expected)))
        }
        // The rounding of a k-term sum of unit-size terms: about k float epsilons.
        let rounding = Float(k) * 1e-6
        for (a, b) in zip(one.result, two.result) {
            #expect(abs(a - b) <= rounding * max(1, abs(a)), "the thread split changed the product beyond rounding")
        }
        let again = Self.product(m: m, n: n, k: k, threads: 2, seed: 3)
        #expect(again.result == two.result, "the same split gave a different product")
    }
}
