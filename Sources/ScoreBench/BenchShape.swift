import Foundation
import ScoreEngine

/// One model shape of the shared benchmark configuration (configs.json).
struct BenchShape: Decodable {
    let vocabSize, dim, nLayers, nHeads, nKVHeads, hiddenDim, maxSeqLen: Int
    let ropeTheta, normEps: Float
    let tieEmbeddings: Bool
    /// q/k/v biases (Qwen2); absent means none.
    let qkvBias: Bool?
    let trainBatch, trainSeqLen: Int
    let decodeBatches: [Int]
    let decodePromptLen, decodeNewTokens: Int

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dim, nLayers = "n_layers", nHeads = "n_heads", nKVHeads = "n_kv_heads"
        case hiddenDim = "hidden_dim", maxSeqLen = "max_seq_len", ropeTheta = "rope_theta", normEps = "norm_eps"
        case tieEmbeddings = "tie_embeddings", qkvBias = "qkv_bias", trainBatch = "train_batch", trainSeqLen = "train_seq_len"
        case decodeBatches = "decode_batches", decodePromptLen = "decode_prompt_len"
        case decodeNewTokens = "decode_new_tokens"
    }

    var modelConfig: ModelConfig {
        ModelConfig(vocabSize: vocabSize, dim: dim, nLayers: nLayers, nHeads: nHeads, nKVHeads: nKVHeads,
                    hiddenDim: hiddenDim, maxSeqLen: maxSeqLen, ropeTheta: ropeTheta, normEps: normEps,
                    tieEmbeddings: tieEmbeddings, qkvBias: qkvBias ?? false)
    }

    /// Reads `name` from a configs.json file.
    static func load(_ name: String, from url: URL) throws -> BenchShape {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let all = object as? [String: Any], let entry = all[name] else {
            throw ScoreError.invalidArgument("\(url.path): no shape named \(name)")
        }
        let data = try JSONSerialization.data(withJSONObject: entry)
        return try JSONDecoder().decode(BenchShape.self, from: data)
    }

    /// The matrix products of one training step (forward and backward) as (m, n, k) triples.
    /// Each linear layer's forward product has two backward products of the same size (dX, dW);
    /// each attention product per (sequence, head) has two backward products too.
    var trainingProducts: [(m: Int, n: Int, k: Int)] {
        let rows = trainBatch * trainSeqLen, headDim = dim / nHeads
        let q = nHeads * headDim, kv = nKVHeads * headDim, t = trainSeqLen
        var forward = [(m: Int, n: Int, k: Int)]()
        for _ in 0..<nLayers {
            forward += [(rows, q, dim), (rows, kv, dim), (rows, kv, dim), (rows, dim, q),
                        (rows, hiddenDim, dim), (rows, hiddenDim, dim), (rows, dim, hiddenDim)]
            for _ in 0..<(trainBatch * nHeads) { forward += [(t, t, headDim), (t, headDim, t)] }
        }
        forward.append((rows, vocabSize, dim))
        return forward + forward + forward
    }
}
