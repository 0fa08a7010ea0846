/// Everything the training forward pass keeps for the backward pass, allocated for a capacity of
/// rows (and of attention probabilities) and reused by every smaller [batch, seqLen] block, so the
/// micro-batches of a step share one allocation.
final class TrainingActivations {
    /// Per-block saved tensors.
    final class Block {
        let input, invRMS1, norm1, q, k, v, probs, attention, middle, invRMS2, norm2, gate, up, act: FloatBuffer
        /// x·Aᵀ of each adapter ([rows, rank] per target), kept for the adapters' backward pass.
        let loraHidden: FloatBuffer
        let rowCapacity, loraRank: Int
        init(n: Int, config c: ModelConfig, probabilities: Int, loraRank: Int) {
            rowCapacity = n
            self.loraRank = loraRank
            loraHidden = FloatBuffer(count: loraRank > 0 ? n * loraRank * LoRATarget.allCases.count : 0)
            input = FloatBuffer(count: n * c.dim)
            invRMS1 = FloatBuffer(count: n)
            norm1 = FloatBuffer(count: n * c.dim)
            q = FloatBuffer(count: n * c.qDim)
            k = FloatBuffer(count: n * c.kvDim)
            v = FloatBuffer(count: n * c.kvDim)
            probs = FloatBuffer(count: probabilities)
            attention = FloatBuffer(count: n * c.qDim)
            middle = FloatBuffer(count: n * c.dim)
            invRMS2 = FloatBuffer(count: n)
            norm2 = FloatBuffer(count: n * c.dim)
            gate = FloatBuffer(count: n * c.hiddenDim)
            up = FloatBuffer(count: n * c.hiddenDim)
            act = FloatBuffer(count: n * c.hiddenDim)
        }

        /// Where the adapter of `target` keeps its hidden rows.
        func hidden(_ target: LoRATarget) -> UnsafeMutablePointer<Float> {
            let index = LoRATarget.allCases.firstIndex(of: target) ?? 0
            return loraHidden.pointer + index * rowCapacity * loraRank
        }
    }

    /// The block of the last forward pass.
    var batch, seqLen: Int
    var rows: Int { batch * seqLen }
    /// Rows and attention probabilities the buffers hold.
    let rowCapacity, probabilityCapacity: Int
    /// Per-block saved tensors: one per block, or with `checkpointed` a single one that each block
    /// fills in turn (forward, and again when the backward pass recomputes it).
    let blocks: [Block]
    /// Whether only each block's input is kept (`layerInputs`) and the rest recomputed in backward.
    let checkpointed: Bool
    /// The input of every block, when checkpointed.
    let layerInputs: [FloatBuffer]
    let output, invRMSFinal, normFinal, logits, logPartition: FloatBuffer
    var tokens: [Int32]
    var targets: [Int32]
    /// The rows whose logits the last forward pass computed (those with a target, or all), in order;
    /// `logits` and `logPartition` hold one entry per listed row.
    var logitRows: [Int32] = []
    /// For each row, its index in `logitRows`, or −1.
    var logitIndex: [Int32] = []
    /// Whether `logitRows` is every row (then no gathering is needed).
    var allLogits: Bool { logitRows.count == rows }
    /// 1 / temperature of the last forward pass: the saved logits are the raw ones times this.
    var logitScale: Float = 1
    /// Whether the last forward pass applied adapters (its backward must then go through them).
    var adapted = false
    let loraRank: Int
    // Backward scratch.
    let dResidual, dNorm, dQ, dK, dV, dAttention, dAct, dGate, dUp, loraScratch, normScratch: FloatBuffer
    /// The final norm's rows of `logitRows`, gathered, and their gradients.
    let gatheredNorm, gatheredGrad: FloatBuffer

    init(config c: ModelConfig, batch: Int, seqLen: Int, loraRank: Int = 0, checkpointed: Bool = false) {
        self.batch = batch
        self.seqLen = seqLen
        let n = batch * seqLen
        rowCapacity = n
        let probabilities = Self.probabilities(config: c, batch: batch, seqLen: seqLen)
        probabilityCapacity = probabilities
        self.loraRank = loraRank
        self.checkpointed = checkpointed
        blocks = (0..<(checkpointed ? 1 : c.nLayers)).map { _ in
            Block(n: n, config: c, probabilities: probabilities, loraRank: loraRank)
        }
        layerInputs = checkpointed ? (0..<c.nLayers).map { _ in FloatBuffer(count: n * c.dim) } : []
        output = FloatBuffer(count: n * c.dim)
        invRMSFinal = FloatBuffer(count: n)
        normFinal = FloatBuffer(count: n * c.dim)
        logits = FloatBuffer(count: n * c.vocabSize)
        logPartition = FloatBuffer(count: n)
        tokens = []
        targets = []
        dResidual = FloatBuffer(count: n * c.dim)
        dNorm = FloatBuffer(count: n * c.dim)
        dQ = FloatBuffer(count: n * c.qDim)
        dK = FloatBuffer(count: n * c.kvDim)
        dV = FloatBuffer(count: n * c.kvDim)
        dAttention = FloatBuffer(count: n * c.qDim)
        dAct = FloatBuffer(count: n * c.hiddenDim)
        dGate = FloatBuffer(count: n * c.hiddenDim)
        dUp = FloatBuffer(count: n * c.hiddenDim)
        loraScratch = FloatBuffer(count: n * loraRank)
        normScratch = FloatBuffer(count: c.dim)
        gatheredNorm = FloatBuffer(count: n * c.dim)
        gatheredGrad = FloatBuffer(count: n * c.dim)
    }

    /// Attention probabilities of a [batch, seqLen] block.
    static func probabilities(config c: ModelConfig, batch: Int, seqLen: Int) -> Int {
        batch * c.nHeads * seqLen * seqLen
    }

    /// Whether a [batch, seqLen] block fits in these buffers.
    func fits(config c: ModelConfig, batch: Int, seqLen: Int, loraRank: Int, checkpointed: Bool) -> Bool {
        loraRank == self.loraRank && checkpointed == self.checkpointed && batch * seqLen <= rowCapacity && Self.probabilities(config: c, batch: batch, seqLen: seqLen) <= probabilityCapacity
    }

    /// The saved tensors of block `l`.
    func block(_ l: Int) -> Block { blocks[checkpointed ? 0 : l] }

    /// The input of block `l` (where the forward pass left it).
    func input(_ l: Int) -> FloatBuffer { checkpointed ? layerInputs[l] : blocks[l].input }
}
