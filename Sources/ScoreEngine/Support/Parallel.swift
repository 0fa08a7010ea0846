import Dispatch

/// How many threads the engine's kernels may use. OpenBLAS itself always runs single-threaded
/// (set once in `Blas.configure`); the engine splits work across threads itself, so BLAS calls
/// never nest inside OpenBLAS's own pool.
package enum Parallel {
    /// Splits `count` independent work items over at most `threads` workers and waits for all.
    /// With one thread (or one item) the body runs inline on the caller's thread.
    @inlinable
    package static func forEach(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        if threads <= 1 || count <= 1 {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: count) { body($0) }
        }
    }

    /// Splits the range 0..<count into at most `threads` contiguous chunks and runs
    /// `body(start, end)` on each, in parallel when `threads > 1`.
    @inlinable
    package static func chunks(_ count: Int, threads: Int, _ body: (Int, Int) -> Void) {
        let pieces = max(1, min(threads, count))
        if pieces == 1 {
            body(0, count)
            return
        }
        forEach(pieces, threads: pieces) { piece in
            let start = count * piece / pieces
            let end = count * (piece + 1) / pieces
            if start < end { body(start, end) }
        }
    }
}
