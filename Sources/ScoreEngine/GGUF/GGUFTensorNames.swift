/// Tensor names in GGUF files (llama.cpp's `blk.N.attn_q.weight`, ...) against the Hugging Face
/// names the engine's parameter layout uses, and the Q/K row order of llama.cpp's converter.
enum GGUFTensorNames {
    /// The GGUF name of the Hugging Face tensor `name`, or nil when GGUF has no such tensor.
    static func ggufName(forHuggingFace name: String) -> String? {
        switch name {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) else { return nil }
        let rest = parts[3...].joined(separator: ".")
        let table: [String: String] = [
            "input_layernorm.weight": "attn_norm.weight",
            "post_attention_layernorm.weight": "ffn_norm.weight",
            "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
            "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
            "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
            "self_attn.o_proj.weight": "attn_output.weight",
            "mlp.gate_proj.weight": "ffn_gate.weight",
            "mlp.up_proj.weight": "ffn_up.weight",
            "mlp.down_proj.weight": "ffn_down.weight",
        ]
        return table[rest].map { "blk.\(layer).\($0)" }
    }

    /// For the llama architecture, how many heads the rows of tensor `ggufName` are permuted
    /// over (query: all heads, key: the key/value heads); nil for every other tensor.
    ///
    /// llama.cpp's converter reorders each head's rows from Hugging Face's rotate-half layout
    /// (first halves of all pairs, then second halves) to interleaved pairs, because its RoPE
    /// rotates adjacent values. `unpermuteRows` undoes it.
    static func permutedHeads(_ ggufName: String, config: ModelConfig) -> Int? {
        guard config.architecture != .qwen2 else { return nil }
        if ggufName.hasSuffix(".attn_q.weight") || ggufName.hasSuffix(".attn_q.bias") { return config.nHeads }
        if ggufName.hasSuffix(".attn_k.weight") || ggufName.hasSuffix(".attn_k.bias") { return config.nKVHeads }
        return nil
    }

    /// Reorders the `rows` rows (each `columns` wide) of `values` from llama.cpp's interleaved
    /// order back to Hugging Face's: within each of `heads` heads of `2·half` rows, row
    /// `2·i + j` of the file becomes row `j·half + i`.
    static func unpermuteRows(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int, heads: Int) {
        guard heads > 0, rows % (2 * heads) == 0 else { return }
        let half = rows / heads / 2
        let copy = Array(UnsafeBufferPointer(start: values, count: rows * columns))
        copy.withUnsafeBufferPointer { source in
            guard let from = source.baseAddress else { return }
            for h in 0..<heads {
                for i in 0..<half {
                    for j in 0..<2 {
                        let fileRow = h * 2 * half + 2 * i + j
                        let row = h * 2 * half + j * half + i
                        (values + row * columns).update(from: from + fileRow * columns, count: columns)
                    }
                }
            }
        }
    }
}
