/// Everything the training forward pass keeps for the backward pass, sized for one
/// [batch, seqLen] shape and reused while the shape stays the same.
final class TrainingActivations {
    /// Per-block saved tensors.
    final class Block {
        let input, invRMS1, norm1, q, k, v, probs, attention, middle, invRMS2, norm2, gate, up, act: FloatBuffer
        init(n: Int, config c: ModelConfig, batch: Int, seqLen: Int) {
            input = FloatBuffer(count: n * c.dim)
            invRMS1 = FloatBuffer(count: n)
            norm1 = FloatBuffer(count: n * c.dim)
            q = FloatBuffer(count: n * c.qDim)
            k = FloatBuffer(count: n * c.kvDim)
            v = FloatBuffer(count: n * c.kvDim)
            probs = FloatBuffer(count: batch * c.nHeads * seqLen * seqLen)
            attention = FloatBuffer(count: n * c.qDim)
            middle = FloatBuffer(count: n * c.dim)
            invRMS2 = FloatBuffer(count: n)
            norm2 = FloatBuffer(count: n * c.dim)
            gate = FloatBuffer(count: n * c.hiddenDim)
            up = FloatBuffer(count: n * c.hiddenDim)
            act = FloatBuffer(count: n * c.hiddenDim)
        }
    }

    let batch, seqLen: Int
    var rows: Int { batch * seqLen }
    let blocks: [Block]
    let output, invRMSFinal, normFinal, logits, logPartition: FloatBuffer
    var tokens: [Int32]
    var targets: [Int32]
    // Backward scratch.
    let dResidual, dNorm, dQ, dK, dV, dAttention, dAct, dGate, dUp: FloatBuffer

    init(config c: ModelConfig, batch: Int, seqLen: Int) {
        self.batch = batch
        self.seqLen = seqLen
        let n = batch * seqLen
        blocks = (0..<c.nLayers).map { _ in Block(n: n, config: c, batch: batch, seqLen: seqLen) }
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
    }
}
