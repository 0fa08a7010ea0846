import Foundation
import Testing
@testable import ScoreEngine

/// Parity with Hugging Face `transformers` (LlamaForCausalLM, Qwen2ForCausalLM) on random-init
/// models: logits, loss, every parameter gradient and greedy decoding, from the committed fixtures
/// made by Fixtures/make_parity_fixtures.py. No Python needed here.
struct ParityTests {
    static let fixtures = ["llama_gqa_tied", "llama_untied", "qwen2_bias"]

    struct Fixture {
        let model: Transformer
        let file: SafeTensorsFile
        let batch: Int, seqLen: Int
        let tokens: [Int], targets: [Int]
    }

    static func load(_ name: String) throws -> Fixture {
        guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw ScoreError.invalidArgument("fixtures folder missing from the test bundle")
        }
        let config = try JSONDecoder().decode(
            ModelConfig.self, from: Data(contentsOf: folder.appendingPathComponent(name + ".json")))
        let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent(name + ".safetensors"))
        let model = try Transformer(config: config)
        for tensor in model.layout.tensors {
            try file.copyFloats(tensor.name, into: model.parameters.pointer + tensor.offset, count: tensor.count)
        }
        let shape = file.info("input_ids")?.shape ?? []
        let ids = try file.ints("input_ids"), labels = try file.ints("labels")
        let batch = shape.first ?? 0, seqLen = shape.last ?? 0
        // HF shifts inside its loss: position t predicts labels[t + 1].
        var targets = [Int](repeating: -1, count: ids.count)
        for b in 0..<batch {
            for t in 0..<(seqLen - 1) where labels[b * seqLen + t + 1] >= 0 {
                targets[b * seqLen + t] = labels[b * seqLen + t + 1]
            }
        }
        return Fixture(model: model, file: file, batch: batch, seqLen: seqLen, tokens: ids, targets: targets)
    }

    /// max |ours − theirs| / max |theirs|, the error relative to the tensor's scale.
    static func relativeError(_ ours: [Float], _ theirs: [Float]) -> Float {
        var worst: Float = 0, scale: Float = 0
        for (a, b) in zip(ours, theirs) {
            worst = max(worst, abs(a - b))
            scale = max(scale, abs(b))
        }
        return ours.count == theirs.count ? worst / max(scale, 1e-12) : .infinity
    }

    @Test(arguments: fixtures)
    func logitsLossAndGradientsMatchTransformers(name: String) throws {
        let f = try Self.load(name)
        let logProbs = try f.model.forward(tokens: f.tokens, targets: f.targets, batch: f.batch, seqLen: f.seqLen,
                                           allLogits: true)
        let logitsError = Self.relativeError(f.model.lastLogits ?? [], try f.file.floats("logits"))
        #expect(logitsError < 1e-4, "\(name): logits relative error \(logitsError)")

        let trained = f.targets.filter { $0 >= 0 }.count
        let loss = -logProbs.reduce(0, +) / Float(trained)
        let reference = try f.file.floats("loss")[0]
        #expect(abs(loss - reference) / reference < 1e-4, "\(name): loss \(loss) vs \(reference)")

        // Once with logits at every position, once (the training default) only where a target is.
        for allLogits in [true, false] {
            _ = try f.model.forward(tokens: f.tokens, targets: f.targets, batch: f.batch, seqLen: f.seqLen,
                                    allLogits: allLogits)
            f.model.zeroGradients()
            try f.model.backward(dLogProbs: f.targets.map { $0 >= 0 ? -1 / Float(trained) : 0 })
            for tensor in f.model.layout.tensors {
                let ours = Array(UnsafeBufferPointer(start: f.model.gradients.pointer + tensor.offset, count: tensor.count))
                let error = Self.relativeError(ours, try f.file.floats("grad." + tensor.name))
                #expect(error < 1e-4, "\(name): \(tensor.name) gradient relative error \(error) (all logits: \(allLogits))")
            }
        }
    }

    @Test(arguments: fixtures)
    func greedyDecodingMatchesTransformers(name: String) throws {
        let f = try Self.load(name)
        let expected = try f.file.ints("greedy_ids")
        let prompt = Array(f.tokens.prefix(5))
        var options = SamplingOptions.greedy
        options.maxNewTokens = expected.count - prompt.count
        let result = try f.model.generate(prompts: [prompt], options: options, tokenizer: ByteTokenizer())
        #expect(prompt + result[0].tokens == expected, "\(name): greedy ids differ")
    }
}
