import Foundation

/// Elementwise and row-wise kernels of the transformer, each a forward/backward pair over
/// contiguous row-major buffers. Matrix products live in `Blas`; attention in `Attention`.
package enum Kernels {
    // MARK: RMSNorm

    /// y = x / sqrt(mean(x²) + eps) * weight, for `rows` rows of width `n`.
    /// Writes each row's reciprocal RMS to `invRMS` (kept for the backward pass).
    package static func rmsNormForward(
        rows: Int, n: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
        y: UnsafeMutablePointer<Float>, invRMS: UnsafeMutablePointer<Float>?
    ) {
        for r in 0..<rows {
            let xr = x + r * n, yr = y + r * n
            var sum: Float = 0
            for i in 0..<n { sum += xr[i] * xr[i] }
            let inv = 1 / (sum / Float(n) + eps).squareRoot()
            invRMS?[r] = inv
            for i in 0..<n { yr[i] = xr[i] * inv * weight[i] }
        }
    }

    /// Backward of `rmsNormForward`: dx += ∂L/∂x, dWeight += ∂L/∂weight.
    package static func rmsNormBackward(
        rows: Int, n: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        invRMS: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let xr = x + r * n, dyr = dy + r * n, dxr = dx + r * n
            let inv = invRMS[r]
            var dot: Float = 0
            for i in 0..<n {
                dot += dyr[i] * weight[i] * xr[i]
                dWeight[i] += dyr[i] * xr[i] * inv
            }
            let coefficient = dot * inv * inv * inv / Float(n)
            for i in 0..<n { dxr[i] += dyr[i] * weight[i] * inv - xr[i] * coefficient }
        }
    }

    // MARK: Rotary position embedding

    /// Rotates each head of a row in place by its position, Hugging Face `rotate_half` layout:
    /// pairs (i, i + headDim/2). `cos`/`sin` tables are [maxSeqLen, headDim/2].
    /// `inverse` applies the transpose rotation (the backward pass).
    @inline(__always)
    package static func rope(
        row: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, inverse: Bool = false
    ) {
        let half = headDim / 2
        let c = cos + position * half, s = sin + position * half
        let sign: Float = inverse ? -1 : 1
        for h in 0..<heads {
            let v = row + h * headDim
            for i in 0..<half {
                let a = v[i], b = v[i + half]
                let si = sign * s[i]
                v[i] = a * c[i] - b * si
                v[i + half] = b * c[i] + a * si
            }
        }
    }

    /// The [maxSeqLen, headDim/2] cosine and sine tables for rotary embeddings with base `theta`.
    package static func ropeTables(maxSeqLen: Int, headDim: Int, theta: Float) -> (cos: FloatBuffer, sin: FloatBuffer) {
        ropeTables(maxSeqLen: maxSeqLen, inverseFrequencies: ropeInverseFrequencies(headDim: headDim, theta: theta))
    }

    /// The unscaled rotary inverse frequencies θ^(−2i/headDim), i < headDim/2, rounded to float32.
    package static func ropeInverseFrequencies(headDim: Int, theta: Float) -> [Float] {
        (0..<(headDim / 2)).map { i in Float(1.0 / pow(Double(theta), Double(2 * i) / Double(headDim))) }
    }

    /// The [maxSeqLen, inverseFrequencies.count] cosine and sine tables for rotary embeddings
    /// whose pair i turns by `inverseFrequencies[i]` radians per position.
    package static func ropeTables(maxSeqLen: Int, inverseFrequencies: [Float]) -> (cos: FloatBuffer, sin: FloatBuffer) {
        let half = inverseFrequencies.count
        let cosTable = FloatBuffer(count: maxSeqLen * half), sinTable = FloatBuffer(count: maxSeqLen * half)
        for (i, invFreq) in inverseFrequencies.enumerated() {
            // As transformers: inv_freq in float32, angle = position * inv_freq.
            for p in 0..<maxSeqLen {
                let angle = Float(p) * invFreq
                cosTable.pointer[p * half + i] = Float(Foundation.cos(Double(angle)))
                sinTable.pointer[p * half + i] = Float(Foundation.sin(Double(angle)))
            }
        }
        return (cosTable, sinTable)
    }

    // MARK: SwiGLU

    /// out = silu(gate) * up, elementwise over `n` values (`out` may alias `gate`).
    package static func swigluForward(
        n: Int, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        typealias V = VectorMath.Vector
        var i = 0
        while i + 8 <= n {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: V.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: V.self)
            let sigmoid = 1 / (1 + VectorMath.exp(-g))
            UnsafeMutableRawPointer(out + i).storeBytes(of: g * sigmoid * u, as: V.self)
            i += 8
        }
        while i < n {
            let g = gate[i]
            out[i] = g / (1 + Foundation.exp(-g)) * up[i]
            i += 1
        }
    }

    /// Backward of `swigluForward`: writes dGate and dUp (overwriting).
    package static func swigluBackward(
        n: Int, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
        dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>
    ) {
        typealias V = VectorMath.Vector
        var i = 0
        while i + 8 <= n {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: V.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: V.self)
            let d = UnsafeRawPointer(dOut + i).loadUnaligned(as: V.self)
            let sigmoid = 1 / (1 + VectorMath.exp(-g))
            UnsafeMutableRawPointer(dUp + i).storeBytes(of: d * g * sigmoid, as: V.self)
            UnsafeMutableRawPointer(dGate + i).storeBytes(of: d * u * sigmoid * (1 + g * (1 - sigmoid)), as: V.self)
            i += 8
        }
        while i < n {
            let g = gate[i]
            let sigmoid = 1 / (1 + Foundation.exp(-g))
            dUp[i] = dOut[i] * g * sigmoid
            dGate[i] = dOut[i] * up[i] * sigmoid * (1 + g * (1 - sigmoid))
            i += 1
        }
    }

    // MARK: Softmax and cross-entropy

    /// In-place softmax of one row of `n` logits; returns log Σ exp (the log-partition).
    @discardableResult
    package static func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        let maximum = VectorMath.maximum(x, n)
        let sum = VectorMath.expShifted(x, x, n, shift: maximum)
        let inv = 1 / sum
        for i in 0..<n { x[i] *= inv }
        return maximum + Foundation.log(sum)
    }

    /// log Σ exp of one row, without modifying it; `scratch` holds at least n values.
    package static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int, scratch: UnsafeMutablePointer<Float>) -> Float {
        let maximum = VectorMath.maximum(x, n)
        return maximum + Foundation.log(VectorMath.expShifted(x, scratch, n, shift: maximum))
    }

    /// Adds a bias vector to each of `rows` rows of width `n`.
    package static func addBias(rows: Int, n: Int, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let yr = y + r * n
            for i in 0..<n { yr[i] += bias[i] }
        }
    }

    /// dBias += column sums of dy ([rows, n]).
    package static func addColumnSums(rows: Int, n: Int, dy: UnsafePointer<Float>, dBias: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = dy + r * n
            for i in 0..<n { dBias[i] += row[i] }
        }
    }
}
