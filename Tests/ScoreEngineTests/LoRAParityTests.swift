import Foundation
import Testing
@testable import ScoreEngine

/// Parity with `peft`: adapter folders written by `PeftModel.save_pretrained` (committed fixtures
/// made by Fixtures/make_lora_fixtures.py), loaded onto their base folders, give the logits the
/// PeftModel computed, before and after merging; and the adapters this engine writes back load to
/// the same values.
struct LoRAParityTests {
    static let cases = [("llama_tied_all", "llama_tied"), ("qwen2_qvod", "qwen2_sharded_bf16")]

    static var fixtures: URL {
        get throws {
            guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw ScoreError.invalidArgument("fixtures folder missing from the test bundle")
            }
            return folder
        }
    }

    static func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
        let scale = expected.reduce(0) { max($0, abs($1)) }
        let error = zip(actual, expected).reduce(0) { max($0, abs($1.0 - $1.1)) }
        return error / max(scale, 1e-6)
    }

    @Test(arguments: cases)
    func peftAdaptersGiveThePeftLogits(adapter: String, base: String) throws {
        let root = try Self.fixtures
        let model = try Transformer.load(from: root.appendingPathComponent("pretrained/\(base)"))
        let folder = root.appendingPathComponent("lora/\(adapter)")
        let adapters = try LoRAAdapters.load(from: folder, config: model.config)
        try model.attach(adapters)
        let expected = try SafeTensorsFile(contentsOf: root.appendingPathComponent("lora/\(adapter).expected.safetensors"))
        let tokens = try expected.ints("input_ids")
        _ = try model.forward(tokens: tokens, targets: tokens.map { _ in -1 }, batch: 1, seqLen: tokens.count)
        let logits = model.lastLogits ?? []
        let error = Self.relativeError(logits, try expected.floats("logits"))
        #expect(error < 1e-4, "\(adapter): logits relative error \(error)")

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lora-parity-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try adapters.save(to: scratch, baseModel: base)
        let again = try LoRAAdapters.load(from: scratch, config: model.config)
        #expect(again.parameters.array == adapters.parameters.array && again.options == adapters.options)

        model.mergeAdapters()
        _ = try model.forward(tokens: tokens, targets: tokens.map { _ in -1 }, batch: 1, seqLen: tokens.count)
        let merged = Self.relativeError(model.lastLogits ?? [], try expected.floats("merged"))
        #expect(merged < 1e-4, "\(adapter): merged logits relative error \(merged)")
    }

    @Test func anAdapterForAnotherBaseIsRefused() throws {
        let root = try Self.fixtures
        let llama = try Transformer.load(from: root.appendingPathComponent("pretrained/llama_tied"))
        let llamaAdapter = try LoRAAdapters.load(from: root.appendingPathComponent("lora/llama_tied_all"),
                                                 config: llama.config)
        #expect(llamaAdapter.options.rank == 4)
        var config = llama.config
        config.nLayers += 1
        do {
            _ = try LoRAAdapters.load(from: root.appendingPathComponent("lora/llama_tied_all"), config: config)
            Issue.record("an adapter for a 2-layer model loaded onto 3 layers")
        } catch ScoreError.invalidFile(_, let reason) {
            #expect(reason.contains("missing tensor"), "\(reason)")
        }
        // mistral_f16 has the same width but a head_dim of 32: its q_proj is 128 × 64, not 64 × 64.
        let mistral = try Transformer.load(from: root.appendingPathComponent("pretrained/mistral_f16"))
        do {
            _ = try LoRAAdapters.load(from: root.appendingPathComponent("lora/llama_tied_all"), config: mistral.config)
            Issue.record("llama's adapter loaded onto mistral's shapes")
        } catch ScoreError.invalidFile(_, let reason) {
            #expect(reason.contains("another base model") && reason.contains("pretrained/llama_tied"), "\(reason)")
        }
    }
}
