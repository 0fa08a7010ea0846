/// Keys and values of past positions for a set of independent sequences ("slots"), per layer,
/// laid out [slot, position, kvDim]. Sequences in different slots may have different lengths;
/// `Transformer.decode` appends to them. One cache belongs to one model and one thread.
public final class KVCache {
    /// Number of sequences the cache holds.
    public let slots: Int
    /// Positions each slot can hold.
    public let capacity: Int
    let kvDim: Int
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    /// Filled positions per slot.
    public private(set) var lengths: [Int]
    var workspace: DecodeWorkspace?

    init(config: ModelConfig, slots: Int, capacity: Int) {
        self.slots = slots
        self.capacity = capacity
        kvDim = config.kvDim
        keys = (0..<config.nLayers).map { _ in FloatBuffer(count: slots * capacity * config.kvDim) }
        values = (0..<config.nLayers).map { _ in FloatBuffer(count: slots * capacity * config.kvDim) }
        lengths = Array(repeating: 0, count: slots)
    }

    /// Forgets the contents of one slot.
    public func reset(slot: Int) throws {
        try checkSlot(slot)
        lengths[slot] = 0
    }

    /// Forgets every slot.
    public func resetAll() { lengths = Array(repeating: 0, count: slots) }

    /// Copies the filled positions of `source` into `destination` (e.g. one prompt prefilled once,
    /// then sampled several times).
    public func copySlot(_ source: Int, to destination: Int) throws {
        try checkSlot(source)
        try checkSlot(destination)
        guard source != destination else { return }
        let count = lengths[source] * kvDim
        for layer in keys.indices {
            (keys[layer].pointer + destination * capacity * kvDim)
                .update(from: keys[layer].pointer + source * capacity * kvDim, count: count)
            (values[layer].pointer + destination * capacity * kvDim)
                .update(from: values[layer].pointer + source * capacity * kvDim, count: count)
        }
        lengths[destination] = lengths[source]
    }

    /// Shortens a slot to its first `length` positions (e.g. to drop a rejected continuation).
    public func truncate(slot: Int, to length: Int) throws {
        try checkSlot(slot)
        guard length >= 0, length <= lengths[slot] else {
            throw ScoreError.invalidArgument("cannot truncate slot \(slot) of length \(lengths[slot]) to \(length)")
        }
        lengths[slot] = length
    }

    func advance(slot: Int, by count: Int) { lengths[slot] += count }

    func checkSlot(_ slot: Int) throws {
        guard slot >= 0, slot < slots else {
            throw ScoreError.invalidArgument("cache slot \(slot) outside 0..<\(slots)")
        }
    }

    @inline(__always) func keyRow(layer: Int, slot: Int, position: Int) -> UnsafeMutablePointer<Float> {
        keys[layer].pointer + (slot * capacity + position) * kvDim
    }

    @inline(__always) func valueRow(layer: Int, slot: Int, position: Int) -> UnsafeMutablePointer<Float> {
        values[layer].pointer + (slot * capacity + position) * kvDim
    }
}

/// Scratch buffers for one decode call, grown on demand and kept with the cache.
final class DecodeWorkspace {
    let rows: Int
    let x, norm, q, k, v, attention, gate, up, last, logits, scores: FloatBuffer
    /// x·Aᵀ of the adapter being applied, [rows, loraRank].
    let loraHidden: FloatBuffer
    let loraRank: Int

    init(config c: ModelConfig, rows: Int, capacity: Int, threads: Int, loraRank: Int = 0) {
        self.rows = rows
        self.loraRank = loraRank
        loraHidden = FloatBuffer(count: rows * loraRank)
        x = FloatBuffer(count: rows * c.dim)
        norm = FloatBuffer(count: rows * c.dim)
        q = FloatBuffer(count: rows * c.qDim)
        k = FloatBuffer(count: rows * c.kvDim)
        v = FloatBuffer(count: rows * c.kvDim)
        attention = FloatBuffer(count: rows * c.qDim)
        gate = FloatBuffer(count: rows * c.hiddenDim)
        up = FloatBuffer(count: rows * c.hiddenDim)
        last = FloatBuffer(count: rows * c.dim)
        logits = FloatBuffer(count: rows * c.vocabSize)
        scores = FloatBuffer(count: max(threads, 1) * capacity)
    }
}
