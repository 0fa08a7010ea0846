import Foundation
import Testing
@testable import ScoreEngine

@Suite struct CheckpointTests {
    static func config(tied: Bool = true, bias: Bool = false) -> ModelConfig {
        ModelConfig(vocabSize: 40, dim: 16, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 24, maxSeqLen: 16,
                    tieEmbeddings: tied, qkvBias: bias)
    }

    /// Parameters as bit patterns, so that NaN-free comparisons are exact.
    static func bits(_ model: Transformer) -> [UInt32] { model.parameters.array.map(\.bitPattern) }

    /// Rewrites `model.safetensors` in `directory` from the model's tensors after `edit`.
    static func rewriteWeights(
        of model: Transformer, in directory: URL,
        edit: (inout [(name: String, shape: [Int], values: [Float])]) -> Void
    ) throws {
        var tensors = model.layout.tensors.map { tensor in
            (name: tensor.name, shape: tensor.shape,
             values: Array(UnsafeBufferPointer(start: model.parameters.pointer + tensor.offset, count: tensor.count)))
        }
        edit(&tensors)
        let buffers = tensors.map { FloatBuffer($0.values) }
        let views = zip(tensors, buffers).map { tensor, buffer in
            (name: tensor.name, shape: tensor.shape, values: UnsafeBufferPointer(buffer.buffer))
        }
        try withExtendedLifetime(buffers) {
            try SafeTensorsWriter.write(
                tensors: views, metadata: [:], to: directory.appendingPathComponent(Transformer.weightsFileName))
        }
    }

    @Test(arguments: [(true, false), (false, false), (true, true), (false, true)])
    func roundTripIsBitIdentical(tied: Bool, bias: Bool) throws {
        let directory = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Transformer(config: Self.config(tied: tied, bias: bias), seed: 7)
        // Non-trivial norms and biases too, so every tensor carries distinct values.
        for i in 0..<model.parameters.count { model.parameters.pointer[i] += Float(i % 13) * 1e-3 }
        try model.save(to: directory)

        let loaded = try Transformer.load(from: directory, threads: 2)
        #expect(loaded.config == model.config)
        #expect(loaded.threads == 2)
        #expect(Self.bits(loaded) == Self.bits(model))

        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        #expect(file.names == model.layout.tensors.map(\.name))
        #expect(file.names.contains("lm_head.weight") == !tied)
        #expect(file.names.contains("model.layers.1.self_attn.k_proj.bias") == bias)
        #expect(file.metadata["format"] == "pt")
        #expect(file.info("model.layers.0.self_attn.k_proj.weight")?.shape == [8, 16])
    }

    @Test func configIsPrettySortedHuggingFaceJSON() throws {
        let directory = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Transformer(config: Self.config(tied: false), seed: 1).save(to: directory)
        let text = try String(contentsOf: directory.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(text.contains("\n  \"hidden_size\" : 16"))
        #expect(text.contains("\"tie_word_embeddings\" : false"))
        let keys = text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  \"") else { return nil }
            return String(line.dropFirst(3).prefix { $0 != "\"" })
        }
        #expect(keys == keys.sorted())
        #expect(keys.contains("num_key_value_heads"))
    }

    @Test func saveIsAtomicAndOverwrites() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = parent.appendingPathComponent("nested/checkpoint")
        let first = try Transformer(config: Self.config(), seed: 1)
        try first.save(to: directory)
        let second = try Transformer(config: Self.config(), seed: 2)
        try second.save(to: directory)
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(entries == ["config.json", "model.safetensors"])
        #expect(Self.bits(try Transformer.load(from: directory)) == Self.bits(second))
    }

    @Test func wrongShapeNamesFileTensorAndShapes() throws {
        let directory = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Transformer(config: Self.config(), seed: 3)
        try model.save(to: directory)
        try Self.rewriteWeights(of: model, in: directory) { tensors in
            if let index = tensors.firstIndex(where: { $0.name == "model.layers.1.mlp.up_proj.weight" }) {
                tensors[index].shape = [16, 24]
            }
        }
        let error = SafeTensorsTests.invalidFileError { try Transformer.load(from: directory) }
        #expect(error?.path == directory.appendingPathComponent("model.safetensors").path)
        #expect(error?.reason.contains("model.layers.1.mlp.up_proj.weight") == true)
        #expect(error?.reason.contains("[16, 24]") == true)
        #expect(error?.reason.contains("[24, 16]") == true)
    }

    @Test func missingAndUnexpectedTensorsAreRejected() throws {
        let directory = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Transformer(config: Self.config(), seed: 4)
        try model.save(to: directory)

        try Self.rewriteWeights(of: model, in: directory) { $0.removeAll { $0.name == "model.norm.weight" } }
        let missing = SafeTensorsTests.invalidFileError { try Transformer.load(from: directory) }
        #expect(missing?.reason.contains("missing tensor: 'model.norm.weight'") == true)

        try Self.rewriteWeights(of: model, in: directory) { $0.append((name: "extra.weight", shape: [2], values: [1, 2])) }
        let extra = SafeTensorsTests.invalidFileError { try Transformer.load(from: directory) }
        #expect(extra?.reason.contains("unexpected tensor") == true)
        #expect(extra?.reason.contains("'extra.weight'") == true)
    }

    @Test func tiedModelIgnoresSavedOutputProjection() throws {
        let directory = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Transformer(config: Self.config(tied: true), seed: 5)
        try model.save(to: directory)
        try Self.rewriteWeights(of: model, in: directory) {
            $0.append((name: "lm_head.weight", shape: [40, 16], values: [Float](repeating: 9, count: 640)))
        }
        #expect(Self.bits(try Transformer.load(from: directory)) == Self.bits(model))
    }

    @Test func failedLoadLeavesParametersUnchanged() throws {
        let directory = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try Transformer(config: Self.config(), seed: 6)
        try source.save(to: directory)
        try Self.rewriteWeights(of: source, in: directory) { tensors in
            tensors[tensors.count - 1].shape = [4, 4]
        }
        let target = try Transformer(config: Self.config(), seed: 8)
        let before = Self.bits(target)
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        #expect(SafeTensorsTests.invalidFileError { try target.loadParameters(from: file) } != nil)
        #expect(Self.bits(target) == before)
    }

    @Test func missingOrInvalidConfigIsInvalidFile() throws {
        let directory = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configPath = directory.appendingPathComponent("config.json").path

        let absent = SafeTensorsTests.invalidFileError { try Transformer.load(from: directory) }
        #expect(absent?.path == configPath)
        #expect(absent?.reason.contains("config.json") == true)

        try Transformer(config: Self.config(), seed: 1).save(to: directory)
        try Data(#"{"hidden_size": 16}"#.utf8).write(to: URL(fileURLWithPath: configPath))
        let incomplete = SafeTensorsTests.invalidFileError { try Transformer.load(from: directory) }
        #expect(incomplete?.path == configPath)
        #expect(incomplete?.reason.contains("vocab_size") == true)

        var bad = Self.config()
        bad.nKVHeads = 3
        try JSONEncoder().encode(bad).write(to: URL(fileURLWithPath: configPath))
        let invalid = SafeTensorsTests.invalidFileError { try Transformer.load(from: directory) }
        #expect(invalid?.path == configPath)
        #expect(invalid?.reason.contains("num_key_value_heads") == true)

        try JSONEncoder().encode(Self.config()).write(to: URL(fileURLWithPath: configPath))
        try FileManager.default.removeItem(at: directory.appendingPathComponent("model.safetensors"))
        let noWeights = SafeTensorsTests.invalidFileError { try Transformer.load(from: directory) }
        #expect(noWeights?.path == directory.appendingPathComponent("model.safetensors").path)
    }

    @Test func loadsHalfPrecisionCheckpoint() throws {
        let directory = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Transformer(config: Self.config(), seed: 9)
        try model.save(to: directory)
        // Re-encode every tensor as BF16 by truncation; the loaded model must see the truncated values.
        var header = [String]()
        var data = [UInt8]()
        for tensor in model.layout.tensors {
            let begin = data.count
            for i in 0..<tensor.count {
                let half = UInt16(truncatingIfNeeded: model.parameters.pointer[tensor.offset + i].bitPattern >> 16)
                data += [UInt8(half & 0xFF), UInt8(half >> 8)]
            }
            header.append("\"\(tensor.name)\":{\"dtype\":\"BF16\",\"shape\":\(tensor.shape),\"data_offsets\":[\(begin),\(data.count)]}")
        }
        let bytes = SafeTensorsTests.fileBytes(header: "{" + header.joined(separator: ",") + "}", data: data)
        try Data(bytes).write(to: directory.appendingPathComponent("model.safetensors"))
        let loaded = try Transformer.load(from: directory)
        #expect(Self.bits(loaded) == Self.bits(model).map { $0 & 0xFFFF_0000 })
    }
}
