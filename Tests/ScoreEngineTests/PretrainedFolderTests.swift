import Foundation
import Testing
@testable import ScoreEngine

/// Hugging Face model folders (Llama, Qwen2, Mistral) as `transformers` saves them, from the
/// committed fixtures made by Fixtures/make_pretrained_fixtures.py: logits and greedy decoding
/// against `transformers`, saving back, and clear errors on folders the engine cannot run
/// faithfully.
///
/// Set SCORE_EXPORT_SAVED_FOLDERS to a directory to keep the folders the save-back test writes,
/// each with a `libscore_logits.json`, for Fixtures/check_saved_folder.py.
struct PretrainedFolderTests {
    static let families = ["llama_tied", "llama3_scaled", "qwen2_sharded_bf16", "mistral_f16"]

    static var fixtures: URL {
        get throws {
            guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw ScoreError.invalidArgument("fixtures folder missing from the test bundle")
            }
            return folder.appendingPathComponent("pretrained")
        }
    }

    static func folder(_ name: String) throws -> URL { try fixtures.appendingPathComponent(name) }

    static func expected(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: fixtures.appendingPathComponent(name + ".expected.safetensors"))
    }

    /// Logits of one sequence, [tokens.count, vocabSize] row-major.
    static func logits(_ model: Transformer, _ tokens: [Int]) throws -> [Float] {
        _ = try model.forward(tokens: tokens, targets: tokens.map { _ in -1 }, batch: 1, seqLen: tokens.count)
        return model.lastLogits ?? []
    }

    /// Greedy continuation through the KV cache (first maximum on ties, as torch's argmax).
    static func greedy(_ model: Transformer, prompt: [Int], newTokens: Int) throws -> [Int] {
        let cache = try model.makeCache(slots: 1, capacity: prompt.count + newTokens)
        var logits = try model.decode(slots: [0], tokens: [prompt], cache: cache)
        var output = prompt
        for step in 0..<newTokens {
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            output.append(best)
            if step + 1 < newTokens { logits = try model.decode(slots: [0], tokens: [[best]], cache: cache) }
        }
        return output
    }

    /// A scratch copy of a fixture folder.
    static func copy(_ name: String, to parent: URL) throws -> URL {
        let destination = parent.appendingPathComponent(name)
        try FileManager.default.copyItem(at: try folder(name), to: destination)
        return destination
    }

    /// Rewrites a JSON object file after `edit`.
    static func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
    }

    /// The `ScoreError.invalidFile` of loading `directory`, or nil.
    static func loadError(_ directory: URL) -> (path: String, reason: String)? {
        SafeTensorsTests.invalidFileError { try Transformer.loadPretrained(from: directory) }
    }

    // MARK: Parity with transformers

    @Test(arguments: families)
    func logitsAndGreedyMatchTransformers(name: String) throws {
        let loaded = try Transformer.loadPretrained(from: try Self.folder(name))
        let reference = try Self.expected(name)
        let tokens = try reference.ints("input_ids")
        #expect(tokens.count == 40)
        let error = ParityTests.relativeError(try Self.logits(loaded.model, tokens), try reference.floats("logits"))
        #expect(error < 1e-4, "\(name): logits relative error \(error)")

        let expected = try reference.ints("greedy_ids")
        let prompt = Array(tokens.prefix(8))
        #expect(try Self.greedy(loaded.model, prompt: prompt, newTokens: expected.count - prompt.count) == expected,
                "\(name): greedy ids differ")

        let frequencies = try reference.floats("inv_freq")
        let ours = loaded.model.config.ropeInverseFrequencies
        #expect(ParityTests.relativeError(ours, frequencies) < 1e-6, "\(name): rotary frequencies \(ours) vs \(frequencies)")
    }

    @Test func configurationsAreReadAsTransformersReadsThem() throws {
        let llama = try Transformer.loadPretrained(from: try Self.folder("llama_tied"))
        #expect(llama.architecture == .llama && llama.model.config.tieEmbeddings && !llama.model.config.qkvBias)
        #expect(llama.model.config.nKVHeads == 2 && llama.model.config.ropeScaling == nil)
        #expect(llama.generationDefaults == GenerationDefaults(
            bosTokenId: 1, eosTokenIds: [2, 7], padTokenId: 0, doSample: true, temperature: 0.6, topP: 0.9, topK: 20))

        let scaled = try Transformer.loadPretrained(from: try Self.folder("llama3_scaled")).model.config
        #expect(scaled.ropeScaling == RopeScaling(factor: 4, lowFreqFactor: 1, highFreqFactor: 4,
                                                  originalMaxPositionEmbeddings: 32))
        #expect(!scaled.tieEmbeddings)

        let qwen = try Transformer.loadPretrained(from: try Self.folder("qwen2_sharded_bf16"))
        #expect(qwen.architecture == .qwen2 && qwen.model.config.qkvBias && qwen.model.config.ropeTheta == 1e6)
        #expect(qwen.generationDefaults == GenerationDefaults())

        let mistral = try Transformer.loadPretrained(from: try Self.folder("mistral_f16")).model.config
        #expect(mistral.architecture == .mistral && mistral.headDim == 32 && mistral.qDim == 128 && mistral.dim == 64)
    }

    @Test func olderRopeScalingFormReadsTheSame() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = try Self.copy("llama3_scaled", to: parent)
        let original = try Transformer.load(from: directory).config
        for typeKey in ["rope_type", "type"] {
            try Self.editJSON(directory.appendingPathComponent("config.json")) { json in
                json["rope_parameters"] = nil
                json["rope_theta"] = 10000.0
                json["rope_scaling"] = [typeKey: "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 32]
            }
            #expect(try Transformer.load(from: directory).config == original, "\(typeKey)")
        }
    }

    // MARK: Saving back

    @Test(arguments: families)
    func savedFolderReloadsWithIdenticalLogits(name: String) throws {
        let export = ProcessInfo.processInfo.environment["SCORE_EXPORT_SAVED_FOLDERS"]
        let parent = try export.map { URL(fileURLWithPath: $0) } ?? SafeTensorsTests.makeTemporaryDirectory()
        defer { if export == nil { try? FileManager.default.removeItem(at: parent) } }
        let source = try Self.folder(name)
        let model = try Transformer.load(from: source)
        // Stand-in for training: move every weight, so the saved model is not the fixture's.
        for i in 0..<model.parameters.count { model.parameters.pointer[i] += 0.01 * Float(sin(Double(i))) }
        let directory = parent.appendingPathComponent(name + "_saved")
        try model.save(to: directory, copyingTokenizerFrom: source)

        let entries = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(Set(entries).isSuperset(of: ["config.json", "generation_config.json", "model.safetensors"]))
        let reloaded = try Transformer.loadPretrained(from: directory)
        #expect(reloaded.model.config == model.config)
        #expect(CheckpointTests.bits(reloaded.model) == CheckpointTests.bits(model))
        #expect(reloaded.generationDefaults == (try Transformer.loadPretrained(from: source).generationDefaults))
        let tokens = try Self.expected(name).ints("input_ids")
        let ours = try Self.logits(model, tokens)
        #expect(try Self.logits(reloaded.model, tokens) == ours)

        let config = try JSONSerialization.jsonObject(
            with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as? [String: Any] ?? [:]
        #expect(config["architectures"] as? [String] == [model.config.architecture.rawValue])
        #expect(config["model_type"] as? String == model.config.architecture.modelType)
        #expect(config["torch_dtype"] as? String == "float32")
        #expect((config["rope_scaling"] != nil) == (model.config.ropeScaling != nil))

        if export != nil {
            let v = model.config.vocabSize
            let rows = (0..<tokens.count).map { Array(ours[($0 * v)..<(($0 + 1) * v)]) }
            let json: [String: Any] = ["input_ids": tokens, "logits": rows]
            try JSONSerialization.data(withJSONObject: json).write(to: directory.appendingPathComponent("libscore_logits.json"))
        }
    }

    @Test func saveWithoutSourceWritesNoGenerationConfig() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let model = try Transformer.load(from: try Self.folder("mistral_f16"))
        try model.save(to: parent)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).sorted()
                == ["config.json", "model.safetensors"])
        #expect(try Transformer.loadPretrained(from: parent).generationDefaults == nil)
        // Saving over the folder it was loaded from copies nothing onto itself.
        try model.save(to: parent, copyingTokenizerFrom: parent)
    }

    /// A folder without tokenizer.json reads with the byte tokenizer, unless it holds a
    /// tokenizer in a form the engine does not read (then the file is named, nothing guessed).
    @Test func tokenizerFormsOtherThanTokenizerJSONAreRefused() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = try Self.copy("llama_tied", to: parent)
        #expect(try ModelBundle.load(from: directory).usesByteTokenizer)
        try Data("not read".utf8).write(to: directory.appendingPathComponent("tokenizer.model"))
        let failure = SafeTensorsTests.invalidFileError { try ModelBundle.load(from: directory) }
        #expect(failure?.path.hasSuffix("tokenizer.model") == true)
    }

    @Test func tiedFolderMayHoldOutputProjectionAndRotaryBuffers() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = try Self.copy("llama_tied", to: parent)
        let model = try Transformer.load(from: directory)
        try CheckpointTests.rewriteWeights(of: model, in: directory) { tensors in
            tensors.append((name: "lm_head.weight", shape: [300, 64], values: [Float](repeating: 3, count: 300 * 64)))
            tensors.append((name: "model.rotary_emb.inv_freq", shape: [8], values: [Float](repeating: 1, count: 8)))
            tensors.append((name: "model.layers.0.self_attn.rotary_emb.inv_freq", shape: [8],
                            values: [Float](repeating: 1, count: 8)))
        }
        #expect(CheckpointTests.bits(try Transformer.load(from: directory)) == CheckpointTests.bits(model))
    }

    // MARK: Folders the engine refuses

    @Test func unsupportedConfigurationsNameTheField() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let cases: [(fixture: String, edit: ([String: Any]) -> [String: Any], mentions: [String])] = [
            ("llama_tied", { var j = $0; j["architectures"] = ["GPT2LMHeadModel"]; return j },
             ["architectures", "GPT2LMHeadModel"]),
            ("llama_tied", { var j = $0; j["model_type"] = "qwen2"; return j }, ["model_type", "qwen2"]),
            ("llama_tied", { var j = $0; j["model_type"] = "gemma"; j["architectures"] = nil; return j },
             ["model_type", "gemma"]),
            ("llama3_scaled", { var j = $0; j["rope_parameters"] = ["rope_type": "yarn", "factor": 4.0, "rope_theta": 1e4]; return j },
             ["rope_parameters.rope_type", "yarn"]),
            ("llama_tied", { var j = $0; j["rope_scaling"] = ["type": "linear", "factor": 2.0]; return j },
             ["rope_scaling.type", "linear"]),
            ("llama_tied", { var j = $0; j["rope_scaling"] = ["rope_type": "dynamic", "factor": 2.0]; return j },
             ["rope_scaling.rope_type", "dynamic"]),
            ("llama3_scaled", { var j = $0; j["rope_parameters"] = ["rope_type": "llama3", "factor": 4.0]; return j },
             ["low_freq_factor"]),
            ("llama_tied", { var j = $0; j["partial_rotary_factor"] = 0.5; return j }, ["partial_rotary_factor", "0.5"]),
            ("mistral_f16", { var j = $0; j["sliding_window"] = 64; return j }, ["sliding_window", "64"]),
            ("mistral_f16", { var j = $0; j["sliding_window"] = nil; j["max_position_embeddings"] = 8192; return j },
             ["sliding_window", "4096"]),
            ("qwen2_sharded_bf16", {
                var j = $0; j["use_sliding_window"] = true; j["sliding_window"] = 16; j["layer_types"] = nil
                j["max_window_layers"] = 1; return j
             }, ["use_sliding_window", "16"]),
            ("qwen2_sharded_bf16", { var j = $0; j["layer_types"] = ["full_attention", "chunked_attention"]; return j },
             ["layer_types", "chunked_attention"]),
            ("llama_tied", { var j = $0; j["attention_bias"] = true; return j }, ["attention_bias", "o_proj"]),
            ("llama_tied", { var j = $0; j["mlp_bias"] = true; return j }, ["mlp_bias"]),
            ("mistral_f16", { var j = $0; j["hidden_act"] = "gelu"; return j }, ["hidden_act", "gelu"]),
        ]
        for (i, example) in cases.enumerated() {
            let directory = try Self.copy(example.fixture, to: parent.appendingPathComponent("\(i)"))
            let config = directory.appendingPathComponent("config.json")
            try Self.editJSON(config) { $0 = example.edit($0) }
            let error = Self.loadError(directory)
            #expect(error?.path == config.path, "case \(i): \(String(describing: error))")
            for text in example.mentions {
                #expect(error?.reason.contains(text) == true, "case \(i): '\(text)' not in \(String(describing: error))")
            }
        }
    }

    @Test func harmlessWindowSettingsAreAccepted() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let edits: [(String, ([String: Any]) -> [String: Any])] = [
            ("mistral_f16", { var j = $0; j["sliding_window"] = NSNull(); return j }),
            ("mistral_f16", { var j = $0; j["sliding_window"] = nil; return j }),  // default 4096 ≥ 128
            ("qwen2_sharded_bf16", { var j = $0; j["sliding_window"] = 16; return j }),  // use_sliding_window false
            ("qwen2_sharded_bf16", {
                var j = $0; j["use_sliding_window"] = true; j["sliding_window"] = 16; j["layer_types"] = nil
                j["max_window_layers"] = 28; return j  // no layer slides
            }),
            ("llama_tied", { var j = $0; j["sliding_window"] = 16; j["attention_dropout"] = 0.1; return j }),
        ]
        for (i, (fixture, edit)) in edits.enumerated() {
            let directory = try Self.copy(fixture, to: parent.appendingPathComponent("\(i)"))
            try Self.editJSON(directory.appendingPathComponent("config.json")) { $0 = edit($0) }
            #expect(throws: Never.self, "case \(i)") { try Transformer.load(from: directory) }
        }
    }

    @Test func brokenShardedFoldersNameTheFile() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        func fresh(_ label: String) throws -> (URL, URL) {
            let directory = try Self.copy("qwen2_sharded_bf16", to: parent.appendingPathComponent(label))
            return (directory, directory.appendingPathComponent("model.safetensors.index.json"))
        }
        let shard = "model-00002-of-00004.safetensors"

        var (directory, index) = try fresh("missing-shard")
        try FileManager.default.removeItem(at: directory.appendingPathComponent(shard))
        var error = Self.loadError(directory)
        #expect(error?.path == directory.appendingPathComponent(shard).path)
        #expect(error?.reason.contains("not found") == true)

        (directory, index) = try fresh("missing-tensor")
        try Self.editJSON(index) { json in
            var map = json["weight_map"] as? [String: String] ?? [:]
            map["model.layers.7.mlp.up_proj.weight"] = shard
            json["weight_map"] = map
        }
        error = Self.loadError(directory)
        #expect(error?.path == index.path)
        #expect(error?.reason.contains("model.layers.7.mlp.up_proj.weight") == true)

        (directory, index) = try fresh("unlisted-tensor")
        var unlisted = ""
        try Self.editJSON(index) { json in
            var map = json["weight_map"] as? [String: String] ?? [:]
            unlisted = map.keys.sorted()[0]
            map[unlisted] = nil
            json["weight_map"] = map
        }
        error = Self.loadError(directory)
        #expect(error?.reason.contains(unlisted) == true && error?.path.hasSuffix(".safetensors") == true)

        (directory, index) = try fresh("wrong-shard")
        try Self.editJSON(index) { json in
            var map = json["weight_map"] as? [String: String] ?? [:]
            map["lm_head.weight"] = "model-00001-of-00004.safetensors"
            json["weight_map"] = map
        }
        error = Self.loadError(directory)
        #expect(error?.path == index.path && error?.reason.contains("lm_head.weight") == true)

        (directory, index) = try fresh("escaping-shard")
        try Self.editJSON(index) { json in
            var map = json["weight_map"] as? [String: String] ?? [:]
            map["lm_head.weight"] = "../elsewhere.safetensors"
            json["weight_map"] = map
        }
        error = Self.loadError(directory)
        #expect(error?.path == index.path && error?.reason.contains("../elsewhere.safetensors") == true)

        (directory, index) = try fresh("malformed-index")
        try Data(#"{"weight_map": ["a"]}"#.utf8).write(to: index)
        error = Self.loadError(directory)
        #expect(error?.path == index.path && error?.reason.contains("weight_map") == true)

        (directory, index) = try fresh("truncated-shard")
        let truncated = directory.appendingPathComponent("model-00003-of-00004.safetensors")
        let bytes = try Data(contentsOf: truncated)
        try bytes.prefix(bytes.count - 100).write(to: truncated)
        error = Self.loadError(directory)
        #expect(error?.path == truncated.path, "\(String(describing: error))")
        #expect(error?.reason.contains("run past") == true)

        (directory, index) = try fresh("no-weights")
        try FileManager.default.removeItem(at: index)
        error = Self.loadError(directory)
        #expect(error?.path == directory.appendingPathComponent("model.safetensors").path)
    }

    @Test func malformedGenerationConfigNamesTheField() throws {
        let parent = try SafeTensorsTests.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = try Self.copy("llama_tied", to: parent)
        let file = directory.appendingPathComponent("generation_config.json")
        for (edit, mention) in [(["eos_token_id": "two"], "eos_token_id"), (["temperature": -1], "temperature"),
                                (["bos_token_id": -3], "bos_token_id")] as [([String: Any], String)] {
            try Self.editJSON(file) { json in json.merge(edit) { _, new in new } }
            let error = Self.loadError(directory)
            #expect(error?.path == file.path && error?.reason.contains(mention) == true, "\(String(describing: error))")
            try FileManager.default.removeItem(at: file)
            try FileManager.default.copyItem(at: try Self.folder("llama_tied").appendingPathComponent("generation_config.json"),
                                             to: file)
        }
        #expect(try GenerationDefaults.parse(Data(#"{"eos_token_id": 5, "do_sample": false}"#.utf8))
                == GenerationDefaults(eosTokenIds: [5], doSample: false))
    }
}
