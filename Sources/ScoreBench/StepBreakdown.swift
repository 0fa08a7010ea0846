import Foundation
import ScoreEngine

/// Times the pieces of one training step of a shape separately, with the engine's own kernels on
/// buffers of the step's sizes, to show where the step's time goes.
enum StepBreakdown {
    static func run(_ shape: BenchShape, threads: Int, runs: Int) throws {
        let c = shape.modelConfig
        let n = shape.trainBatch * shape.trainSeqLen, d = c.dim, f = c.hiddenDim, v = c.vocabSize
        let big = max(n * max(f, v, c.qDim), f * d)
        let x = FloatBuffer(count: big), y = FloatBuffer(count: big), z = FloatBuffer(count: big)
        let w = FloatBuffer(count: big), probs = FloatBuffer(count: shape.trainBatch * c.nHeads * shape.trainSeqLen * shape.trainSeqLen)
        for i in 0..<big { x.pointer[i] = Float(i % 13) * 0.01; w.pointer[i] = Float(i % 7) * 0.01 }
        func time(_ label: String, _ body: () throws -> Void) rethrows {
            var samples = [Double]()
            for run in 0..<(runs + 1) {
                let s = try seconds(body)
                if run > 0 { samples.append(s * 1000) }
            }
            print("  " + label.padding(toLength: 46, withPad: " ", startingAt: 0) + format(median(samples), 2).leftPad(8) + " ms")
        }
        print("step breakdown (\(threads) thr), per step:")
        let linears: [(Int, Int)] = [(c.qDim, d), (c.kvDim, d), (c.kvDim, d), (d, c.qDim), (f, d), (f, d), (d, f)]
        time("linear layers forward (x Wᵀ), all layers") {
            for _ in 0..<c.nLayers {
                for (out, inp) in linears {
                    Blas.matmulTransB(m: n, n: out, k: inp, a: x.pointer, lda: inp, b: w.pointer, ldb: inp,
                                      c: y.pointer, ldc: out, threads: threads)
                }
            }
        }
        time("linear layers backward (dX and dW), all layers") {
            for _ in 0..<c.nLayers {
                for (out, inp) in linears {
                    Blas.matmul(m: n, n: inp, k: out, a: x.pointer, lda: out, b: w.pointer, ldb: inp,
                                c: y.pointer, ldc: inp, threads: threads)
                    Blas.matmulTransA(m: out, n: inp, k: n, a: x.pointer, lda: out, b: z.pointer, ldb: inp,
                                      beta: 1, c: y.pointer, ldc: inp, threads: threads)
                }
            }
        }
        let attention = AttentionShape(batch: shape.trainBatch, seqLen: shape.trainSeqLen, nHeads: c.nHeads,
                                       nKVHeads: c.nKVHeads, headDim: c.headDim)
        time("attention forward, all layers") {
            for _ in 0..<c.nLayers {
                Attention.forward(attention, q: x.pointer, k: w.pointer, v: w.pointer, probs: probs.pointer,
                                  out: y.pointer, threads: threads)
            }
        }
        time("attention backward, all layers") {
            for _ in 0..<c.nLayers {
                z.zero()
                Attention.backward(attention, q: x.pointer, k: w.pointer, v: w.pointer, probs: probs.pointer,
                                   dOut: x.pointer, dQ: y.pointer, dK: z.pointer, dV: z.pointer, threads: threads)
            }
        }
        time("output projection forward + backward") {
            Blas.matmulTransB(m: n, n: v, k: d, a: x.pointer, lda: d, b: w.pointer, ldb: d, c: y.pointer, ldc: v, threads: threads)
            Blas.matmul(m: n, n: d, k: v, a: y.pointer, lda: v, b: w.pointer, ldb: d, c: z.pointer, ldc: d, threads: threads)
            Blas.matmulTransA(m: v, n: d, k: n, a: y.pointer, lda: v, b: x.pointer, ldb: d, beta: 1, c: z.pointer,
                              ldc: d, threads: threads)
        }
        time("softmax / log-partition over the logits (x2)") {
            for r in 0..<n { _ = Kernels.logSumExp(y.pointer + r * v, v, scratch: z.pointer) }
            for r in 0..<n { Kernels.softmaxInPlace(y.pointer + r * v, v) }
        }
        time("SwiGLU forward + backward, all layers") {
            for _ in 0..<c.nLayers {
                Kernels.swigluForward(n: n * f, gate: x.pointer, up: w.pointer, out: y.pointer)
                Kernels.swigluBackward(n: n * f, gate: x.pointer, up: w.pointer, dOut: w.pointer, dGate: y.pointer,
                                       dUp: z.pointer)
            }
        }
        time("RMSNorm forward + backward, all norms") {
            for _ in 0..<(2 * c.nLayers + 1) {
                Kernels.rmsNormForward(rows: n, n: d, x: x.pointer, weight: w.pointer, eps: 1e-5, y: y.pointer,
                                       invRMS: z.pointer)
                Kernels.rmsNormBackward(rows: n, n: d, x: x.pointer, weight: w.pointer, invRMS: z.pointer,
                                        dy: x.pointer, dx: y.pointer, dWeight: w.pointer + big - d)
            }
        }
        let model = try Transformer(config: c, seed: 1, threads: threads)
        let optimizer = try AdamW(model: model, options: AdamWOptions(learningRate: 1e-4))
        time("AdamW") { try? optimizer.step(learningRate: 1e-4) }
    }
}
