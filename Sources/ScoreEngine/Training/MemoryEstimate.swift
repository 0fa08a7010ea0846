import Foundation

/// Byte estimates of what training and sampling hold in memory, from the model's shape alone:
/// enough to choose micro-batches and rollout chunks that fit a budget, and to refuse a step that
/// cannot fit the machine before it starts (rather than being killed halfway).
public enum MemoryEstimate {
    /// Bytes of one f32 value.
    static let float = 4

    /// Floats the training forward and backward pass keep per row (token) of a block whose rows
    /// are `seqLen` long: every saved activation of `TrainingActivations` (of every block, or with
    /// checkpointing of one block plus each block's input), the attention probabilities (a row sees
    /// up to `seqLen` keys per head) and the backward scratch.
    static func floatsPerRow(config c: ModelConfig, seqLen: Int, checkpointed: Bool) -> Int {
        let perLayer = 4 * c.dim + 2 * c.qDim + 2 * c.kvDim + 3 * c.hiddenDim + 2 + c.nHeads * seqLen
        let final = 2 * c.dim + 2 + c.vocabSize
        let scratch = 2 * c.dim + 2 * c.qDim + 2 * c.kvDim + 3 * c.hiddenDim
        let layers = checkpointed ? perLayer + c.nLayers * c.dim : c.nLayers * perLayer
        return layers + final + scratch
    }

    /// Bytes a training pass (forward kept for backward) over `sequences` rows of `seqLen` tokens holds.
    public static func trainingPass(config: ModelConfig, sequences: Int, seqLen: Int, checkpointed: Bool = false) -> Int {
        sequences * seqLen * floatsPerRow(config: config, seqLen: seqLen, checkpointed: checkpointed) * float
    }

    /// Bytes a rollout over `slots` sequences of up to `capacity` positions holds: the KV cache and
    /// the decode workspace of its prefill (`prefillRows` prompt tokens decoded at once).
    public static func rollout(config c: ModelConfig, slots: Int, capacity: Int, prefillRows: Int) -> Int {
        let cache = 2 * c.nLayers * slots * capacity * c.kvDim
        let rowFloats = 4 * c.dim + 2 * c.qDim + 2 * c.kvDim + 2 * c.hiddenDim + c.vocabSize
        let workspace = max(prefillRows, slots) * rowFloats + slots * c.vocabSize
        return (cache + workspace) * float
    }

    /// The most sequences of `seqLen` tokens whose training pass fits `budget` bytes (at least 1).
    public static func sequencesFitting(config: ModelConfig, seqLen: Int, budget: Int, checkpointed: Bool = false) -> Int {
        max(1, budget / max(1, trainingPass(config: config, sequences: 1, seqLen: seqLen, checkpointed: checkpointed)))
    }

    /// Memory this process may use: the machine's physical memory, or the control group's limit
    /// when that is lower.
    public static var availableBytes: Int {
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0 {
                return min(physical, limit)
            }
        }
        return physical
    }

    /// "3.2 GB".
    public static func describe(_ bytes: Int) -> String {
        String(format: "%.1f GB", Double(bytes) / 1e9)
    }
}
