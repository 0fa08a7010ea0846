/// Vectorised transcendental functions for the hot loops (softmax, SwiGLU), written with plain
/// SIMD arithmetic and masked blends only, which the compiler lowers to vector instructions.
package enum VectorMath {
    package typealias Vector = SIMD8<Float>

    /// e^x lane by lane: Cody–Waite range reduction and a degree-6 polynomial, relative error
    /// below 5e-7 for −87.3 ≤ x ≤ 88.37. Below −87.3 (subnormal results) it returns 0; above 88.72, +inf;
    /// in between it saturates at e^88.37 (callers pass shifted arguments ≤ 0 or sigmoid inputs, where
    /// this cannot matter). NaN stays NaN.
    @inline(__always)
    package static func exp(_ x: Vector) -> Vector {
        let magic: Float = 12_582_912  // 1.5 · 2^23: adding it rounds to an integer in the low bits
        let low = Vector(repeating: -87.3), high = Vector(repeating: 88.37)
        var c = x.replacing(with: low, where: x .< low)
        c = c.replacing(with: high, where: x .> high)
        let k = c * 1.442_695_04 + magic
        let n = k - magic
        var r = c - n * 0.693_145_751_953_125
        r = r - n * 1.428_606_765_330_187e-6
        var p = Vector(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let scaleBits = (unsafeBitCast(k, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        var result = p * unsafeBitCast(scaleBits, to: Vector.self)
        result = result.replacing(with: 0, where: x .< low)
        result = result.replacing(with: .infinity, where: x .> 88.72)
        return result.replacing(with: x, where: x .!= x)
    }

    /// y[i] = exp(x[i] − shift) for n values; returns Σ y (accumulated in Double per block).
    @inline(__always)
    package static func expShifted(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                                  shift: Float) -> Float {
        var sum = Vector(repeating: 0)
        var i = 0
        let s = Vector(repeating: shift)
        while i + 8 <= n {
            let v = exp(UnsafeRawPointer(x + i).loadUnaligned(as: Vector.self) - s)
            UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: Vector.self)
            sum += v
            i += 8
        }
        var total = sum.sum()
        while i < n {
            var tail = Vector(repeating: -.infinity)
            let count = min(8, n - i)
            for j in 0..<count { tail[j] = x[i + j] - shift }
            let v = exp(tail)
            for j in 0..<count { y[i + j] = v[j]; total += v[j] }
            i += count
        }
        return total
    }

    /// The largest of n values (−inf for n = 0).
    @inline(__always)
    package static func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var best = Vector(repeating: -.infinity)
        var i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: Vector.self)
            best = best.replacing(with: v, where: v .> best)
            i += 8
        }
        var result = best[0]
        for lane in 1..<8 where best[lane] > result { result = best[lane] }
        while i < n {
            if x[i] > result { result = x[i] }
            i += 1
        }
        return result
    }
}
