import Foundation

/// Picks the next token from one row of logits according to `SamplingOptions`.
///
/// Filters apply in Hugging Face's order — temperature, top-k, top-p, min-p — and the token is
/// drawn from what is left, renormalised. Greedy options (temperature 0) take the argmax, the
/// lowest index on ties, and draw no random number; every other call draws exactly one
/// `nextUnitDouble()`, so a sequence of calls is fully determined by the generator state.
///
/// The returned `logProb` is the log-probability of the chosen token under the model's
/// UNMODIFIED distribution: log_softmax of the raw logits, temperature 1, no truncation. That is
/// the quantity the RL trainer needs (the policy's own probability of the action), whatever
/// filters were used to choose the token.
///
/// Non-finite logits: NaN counts as -infinity (the token can never be picked); if every logit is
/// NaN or -infinity, or one is +infinity, `sample` throws `ScoreError.nonFinite`.
///
/// A sampler keeps scratch buffers it reuses between calls, so it is a class and is NOT
/// thread-safe: give each thread its own sampler.
public final class Sampler {
    /// The validated options this sampler applies.
    public let options: SamplingOptions

    /// Per-token weights exp((logit − max) / temperature); zero for removed tokens.
    private var weights: UnsafeMutablePointer<Float>
    /// Candidate indices: a max-heap while filtering, popped tokens stored from the end.
    private var order: UnsafeMutablePointer<Int32>
    /// Number of elements both scratch buffers hold.
    private var capacity: Int

    /// Creates a sampler; throws `ScoreError.invalidArgument` if the options are out of range.
    public init(_ options: SamplingOptions) throws {
        try options.validate()
        self.options = options
        capacity = 0
        weights = .allocate(capacity: 1)
        order = .allocate(capacity: 1)
    }

    deinit {
        weights.deallocate()
        order.deallocate()
    }

    /// Samples one token from `count` raw logits, drawing from `generator` (see the type's
    /// documentation for the exact contract).
    public func sample(
        logits: UnsafePointer<Float>, count: Int, generator: inout RandomGenerator
    ) throws -> (token: Int, logProb: Float) {
        guard count > 0 else { throw ScoreError.invalidArgument("sampling needs at least one logit") }
        guard count <= Int(Int32.max) else {
            throw ScoreError.invalidArgument("sampling supports at most \(Int32.max) logits, got \(count)")
        }
        // Argmax (lowest index on ties); NaN never compares greater so it is skipped.
        var maximum = -Float.infinity
        var best = -1
        for i in 0..<count where logits[i] > maximum {
            maximum = logits[i]
            best = i
        }
        guard best >= 0 else { throw ScoreError.nonFinite("every logit is NaN or -infinity") }
        guard maximum < .infinity else { throw ScoreError.nonFinite("logit \(best) is +infinity") }

        if options.temperature == 0 {
            let rawSum = Self.sumOfExponentials(logits, count, maximum: maximum)
            return (best, Self.logProbability(logits[best], maximum: maximum, sum: rawSum))
        }

        ensureCapacity(count)
        let w = weights, temperature = options.temperature
        // Σ exp(x − max) over every non-NaN logit; the max contributes exactly 1.
        var total: Double = 0
        for i in 0..<count {
            let x = logits[i]
            let e: Float = x.isNaN ? 0 : Foundation.exp((x - maximum) / temperature)
            w[i] = e
            total += Double(e)
        }
        let rawSum = temperature == 1 ? total : Self.sumOfExponentials(logits, count, maximum: maximum)

        let token: Int
        if options.topK == 0 && options.topP >= 1 {
            token = drawUnsorted(count: count, total: total, generator: &generator)
        } else {
            token = drawSorted(logits: logits, count: count, total: total, generator: &generator)
        }
        return (token, Self.logProbability(logits[token], maximum: maximum, sum: rawSum))
    }

    /// Samples one token from an array of raw logits (convenience over the pointer form).
    public func sample(logits: [Float], generator: inout RandomGenerator) throws -> (token: Int, logProb: Float) {
        try logits.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else {
                throw ScoreError.invalidArgument("sampling needs at least one logit")
            }
            return try sample(logits: base, count: buffer.count, generator: &generator)
        }
    }

    // MARK: Drawing

    /// No top-k or top-p: min-p is a threshold on the weights (the largest weight is 1), then
    /// one draw over the whole row in index order.
    private func drawUnsorted(count: Int, total: Double, generator: inout RandomGenerator) -> Int {
        let w = weights
        var mass = total
        if options.minP > 0 {
            let minP = options.minP
            mass = 0
            for i in 0..<count {
                if w[i] < minP { w[i] = 0 }
                mass += Double(w[i])
            }
        }
        let target = generator.nextUnitDouble() * mass
        var cumulative: Double = 0
        var lastPositive = 0
        for i in 0..<count where w[i] > 0 {
            cumulative += Double(w[i])
            if cumulative > target { return i }
            lastPositive = i
        }
        return lastPositive  // only reached through rounding
    }

    /// Top-k and/or top-p: pops candidates from a max-heap (logit descending, index ascending)
    /// until the filters are satisfied, trims by min-p, then draws over the kept prefix.
    private func drawSorted(
        logits: UnsafePointer<Float>, count: Int, total: Double, generator: inout RandomGenerator
    ) -> Int {
        let w = weights, heap = order
        var size = 0
        for i in 0..<count where logits[i] > -Float.infinity {  // excludes NaN and -inf
            heap[size] = Int32(truncatingIfNeeded: i)
            size += 1
        }
        let candidates = size
        let topK = options.topK, topP = Double(options.topP)
        let useTopK = topK > 0 && topK < candidates
        if !useTopK && topP >= 1 {
            // Top-k keeps every candidate and there is no top-p: nothing to sort.
            return drawUnsorted(count: count, total: total, generator: &generator)
        }
        var index = candidates / 2 - 1
        while index >= 0 {
            Self.siftDown(heap, index, size, logits)
            index -= 1
        }
        // Popped tokens land at heap[candidates - 1], heap[candidates - 2], …: the j-th most
        // likely is heap[candidates - 1 - j].
        var kept = 0
        func pop() -> Int32 {
            let top = heap[0]
            size -= 1
            heap[0] = heap[size]
            heap[size] = top
            Self.siftDown(heap, 0, size, logits)
            kept += 1
            return top
        }
        func keptToken(_ j: Int) -> Int { Int(heap[candidates - 1 - j]) }

        if useTopK {
            var last: Int32 = 0
            while kept < topK { last = pop() }
            // As Hugging Face: tokens tied with the k-th logit stay.
            while size > 0 && logits[Int(heap[0])] == logits[Int(last)] { _ = pop() }
            if topP < 1 {
                var mass: Double = 0
                for j in 0..<kept { mass += Double(w[keptToken(j)]) }
                let threshold = topP * mass
                var cumulative: Double = 0
                var nucleus = 0
                while nucleus < kept && (nucleus == 0 || cumulative < threshold) {
                    cumulative += Double(w[keptToken(nucleus)])
                    nucleus += 1
                }
                kept = nucleus
            }
        } else {
            let threshold = topP * total
            var cumulative: Double = 0
            while size > 0 && (kept == 0 || cumulative < threshold) {
                cumulative += Double(w[Int(pop())])
            }
        }
        if options.minP > 0 {
            // The first kept token is the argmax, whose weight is exactly 1.
            var trimmed = 1
            while trimmed < kept && w[keptToken(trimmed)] >= options.minP { trimmed += 1 }
            kept = trimmed
        }

        var mass: Double = 0
        for j in 0..<kept { mass += Double(w[keptToken(j)]) }
        let target = generator.nextUnitDouble() * mass
        var cumulative: Double = 0
        var chosen = keptToken(0)
        for j in 0..<kept {
            let token = keptToken(j)
            guard w[token] > 0 else { continue }
            cumulative += Double(w[token])
            chosen = token
            if cumulative > target { break }
        }
        return chosen
    }

    // MARK: Helpers

    /// Grows the scratch buffers to hold `count` elements.
    private func ensureCapacity(_ count: Int) {
        guard count > capacity else { return }
        weights.deallocate()
        order.deallocate()
        weights = .allocate(capacity: count)
        order = .allocate(capacity: count)
        capacity = count
    }

    /// Σ exp(x − maximum) over the non-NaN logits, accumulated in double precision.
    private static func sumOfExponentials(_ logits: UnsafePointer<Float>, _ count: Int, maximum: Float) -> Double {
        var sum: Double = 0
        for i in 0..<count where !logits[i].isNaN {
            sum += Double(Foundation.exp(logits[i] - maximum))
        }
        return sum
    }

    /// log_softmax of one logit given the row maximum and Σ exp(x − maximum).
    private static func logProbability(_ logit: Float, maximum: Float, sum: Double) -> Float {
        Float(Double(logit - maximum) - Foundation.log(sum))
    }

    /// True when token `a` ranks before token `b`: higher logit, then lower index.
    @inline(__always)
    private static func precedes(_ a: Int32, _ b: Int32, _ logits: UnsafePointer<Float>) -> Bool {
        let la = logits[Int(a)], lb = logits[Int(b)]
        return la > lb || (la == lb && a < b)
    }

    /// Restores the max-heap property below `start` in `heap[0..<size]`.
    @inline(__always)
    private static func siftDown(
        _ heap: UnsafeMutablePointer<Int32>, _ start: Int, _ size: Int, _ logits: UnsafePointer<Float>
    ) {
        let item = heap[start]
        var parent = start
        while true {
            var child = 2 * parent + 1
            if child >= size { break }
            if child + 1 < size && precedes(heap[child + 1], heap[child], logits) { child += 1 }
            if !precedes(heap[child], item, logits) { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = item
    }
}
