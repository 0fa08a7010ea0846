import Foundation
import Testing
@testable import ScoreEngine

/// Low-rank adapters: their gradients match central differences, the frozen base gets none, B = 0
/// leaves the model its base, merging gives the same model, rollouts and training passes agree,
/// PEFT folders round-trip and bad ones are refused, and a LoRA SCoRe run trains only adapters
/// against the base as its reference and resumes bit for bit.
struct LoRATests {
    static let config = ModelConfig(vocabSize: 23, dim: 16, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 24,
                                    maxSeqLen: 16, ropeTheta: 100, tieEmbeddings: false, qkvBias: true)

    /// A model with adapters whose B is random too, so every adapter path carries gradient.
    static func adaptedModel(rank: Int = 3, targets: [LoRATarget] = LoRATarget.allCases, seed: UInt64 = 4,
                             config: ModelConfig = config) throws -> Transformer {
        let model = try Transformer(config: config, seed: seed)
        var rng = RandomGenerator(seed: seed + 100)
        for i in 0..<model.parameters.count { model.parameters.pointer[i] += 0.3 * rng.nextNormal() }
        let adapters = try LoRAAdapters(config: config, options: LoRAOptions(rank: rank, alpha: 5, targets: targets),
                                        seed: seed)
        for i in 0..<adapters.parameters.count { adapters.parameters.pointer[i] += 0.3 * rng.nextNormal() }
        try model.attach(adapters)
        return model
    }

    static func block(seed: UInt64, batch: Int = 2, seqLen: Int = 7) -> (tokens: [Int], targets: [Int], weights: [Float]) {
        var rng = RandomGenerator(seed: seed)
        let tokens = (0..<batch * seqLen).map { _ in rng.nextIndex(below: config.vocabSize) }
        var targets = (0..<batch * seqLen).map { _ in rng.nextIndex(below: config.vocabSize) }
        targets[0] = -1
        let weights = targets.map { $0 < 0 ? Float(0) : rng.nextNormal() }
        return (tokens, targets, weights)
    }

    @Test(arguments: [1, 2])
    func adapterGradientsMatchCentralDifferences(threads: Int) throws {
        let model = try Self.adaptedModel()
        model.threads = threads
        let (tokens, targets, weights) = Self.block(seed: 9)
        func objective() throws -> Double {
            let logProbs = try model.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 7)
            return zip(logProbs, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        model.zeroGradients()
        _ = try objective()
        try model.backward(dLogProbs: weights)
        guard let adapters = model.adapters else { Issue.record("no adapters"); return }
        let analytic = adapters.gradients.array
        #expect(model.gradients.array.allSatisfy { $0 == 0 }, "the frozen base got gradients")
        var rng = RandomGenerator(seed: 5)
        for tensor in adapters.tensors {
            var direction = (0..<tensor.count).map { _ in rng.nextNormal() }
            let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
            direction = direction.map { $0 / norm }
            let expected = (0..<tensor.count).reduce(0.0) { $0 + Double(analytic[tensor.offset + $1]) * Double(direction[$1]) }
            let epsilon: Float = 4e-3
            let base = adapters.parameters.pointer + tensor.offset
            let saved = Array(UnsafeBufferPointer(start: base, count: tensor.count))
            for i in 0..<tensor.count { base[i] = saved[i] + epsilon * direction[i] }
            let plus = try objective()
            for i in 0..<tensor.count { base[i] = saved[i] - epsilon * direction[i] }
            let minus = try objective()
            for i in 0..<tensor.count { base[i] = saved[i] }
            let numeric = (plus - minus) / (2 * Double(epsilon))
            #expect(abs(numeric - expected) <= 2e-3 + 1e-2 * abs(expected),
                    "\(tensor.name): analytic \(expected) vs numeric \(numeric)")
            #expect(abs(expected) > 1e-4, "\(tensor.name): gradient unexpectedly zero")
        }
    }

    @Test func freshAdaptersOrSwitchedOffOnesLeaveTheBase() throws {
        let base = try Transformer(config: Self.config, seed: 3)
        let adapted = base.copy()
        try adapted.attach(LoRAAdapters(config: Self.config, options: LoRAOptions(rank: 2), seed: 1))
        let (tokens, targets, _) = Self.block(seed: 1)
        let expected = try base.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 7)
        #expect(try adapted.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 7) == expected)
        let trained = try Self.adaptedModel()
        let plain = trained.copy()
        trained.adaptersEnabled = false
        #expect(try trained.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 7)
                == (try plain.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 7)))
    }

    @Test func mergingAndSavingMergedGiveTheAdaptedModel() throws {
        let model = try Self.adaptedModel(targets: [.q, .v, .down])
        let (tokens, targets, _) = Self.block(seed: 2)
        let expected = try model.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 7)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lora-merge-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.save(to: folder)
        let reloaded = try Transformer.load(from: folder)
        let fromFile = try reloaded.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 7)
        model.mergeAdapters()
        #expect(model.adapters == nil)
        let merged = try model.forward(tokens: tokens, targets: targets, batch: 2, seqLen: 7)
        #expect(merged == fromFile)
        for (a, b) in zip(merged, expected) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b))) }
    }

    @Test func decodeWithAdaptersMatchesTheTrainingPass() throws {
        let model = try Self.adaptedModel()
        let tokens = [1, 5, 7, 2, 9, 11]
        _ = try model.forward(tokens: tokens, targets: tokens.map { _ in 0 }, batch: 1, seqLen: tokens.count)
        let full = model.lastLogits ?? []
        let cache = try model.makeCache(slots: 1)
        let logits = try model.decode(slots: [0], tokens: [tokens], cache: cache)
        let last = Array(full[((tokens.count - 1) * Self.config.vocabSize)...])
        for (a, b) in zip(logits, last) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b))) }
    }

    @Test func peftFoldersRoundTrip() throws {
        let model = try Self.adaptedModel(targets: [.q, .k, .gate])
        guard let adapters = model.adapters else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lora-peft-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try adapters.save(to: folder, baseModel: "tiny")
        let loaded = try LoRAAdapters.load(from: folder, config: Self.config)
        #expect(loaded.options == adapters.options && loaded.parameters.array == adapters.parameters.array)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("adapter_config.json")))
        let object = json as? [String: Any] ?? [:]
        #expect(object["r"] as? Int == 3 && object["peft_type"] as? String == "LORA")
        #expect(object["target_modules"] as? [String] == ["q_proj", "k_proj", "gate_proj"])
        let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("adapter_model.safetensors"))
        #expect(file.names.contains("base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight"))
    }

    @Test func badAdapterFoldersAreRefusedNamingTheField() throws {
        let model = try Self.adaptedModel(targets: [.q, .v])
        guard let adapters = model.adapters else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lora-bad-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try adapters.save(to: folder)
        var other = Self.config
        other.dim = 20
        other.hiddenDim = 28
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        #expect(message { _ = try LoRAAdapters.load(from: folder, config: other) }.contains("another base model"))
        let configURL = folder.appendingPathComponent("adapter_config.json")
        let original = try String(contentsOf: configURL, encoding: .utf8)
        for (edit, expected) in [("\"use_dora\" : false", "use_dora"), ("\"q_proj\"", "target_modules"),
                                 ("\"r\" : 3", "r / lora_alpha")] {
            let broken: String
            switch expected {
            case "use_dora": broken = original.replacingOccurrences(of: edit, with: "\"use_dora\" : true")
            case "target_modules": broken = original.replacingOccurrences(of: edit, with: "\"qq_proj\"")
            default: broken = original.replacingOccurrences(of: edit, with: "\"r\" : 99")
            }
            #expect(broken != original, "edit \(edit) did not apply")
            try broken.write(to: configURL, atomically: true, encoding: .utf8)
            let text = message { _ = try LoRAAdapters.load(from: folder, config: Self.config) }
            #expect(text.contains(expected), "\(text)")
        }
        #expect(throws: ScoreError.self) { try LoRAOptions(rank: 0).validate(for: Self.config) }
        #expect(throws: ScoreError.self) { try LoRAOptions(rank: 17).validate(for: Self.config) }
        #expect(throws: ScoreError.self) { try LoRATarget.parse("q,attn") }
        #expect(try LoRATarget.parse("q_proj, v") == [.q, .v])
    }

    static let problems = [SelfCorrectionProblem(prompt: "1+2=", reference: "3"),
                           SelfCorrectionProblem(prompt: "4+4=", reference: "8")]

    static func loraTrainer(model: Transformer) throws -> SCoReTrainer {
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        var options = SCoReOptions()
        options.promptsPerStep = 2
        options.samplesPerPrompt = 2
        options.maxNewTokens = 3
        options.learningRate = 1e-2
        options.plan = .score(stageI: 1, stageII: 2, rounds: 1)
        options.lora = LoRAOptions(rank: 2, targets: [.q, .v, .up])
        let verifier = ClosureVerifier { items in items.indices.map { Float($0 % 2) } }
        return try SCoReTrainer(policy: model, problems: problems, format: format, verifier: verifier, options: options)
    }

    static let byteConfig = ModelConfig(vocabSize: 262, dim: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 48,
                                        maxSeqLen: 64)

    @Test func loraTrainerTrainsOnlyAdaptersAgainstTheBase() throws {
        let model = try Transformer(config: Self.byteConfig, seed: 3)
        let base = model.parameters.array
        let trainer = try Self.loraTrainer(model: model)
        #expect(trainer.reference === trainer.policy)
        #expect(trainer.optimizer.firstMoment.count == model.adapters?.parameterCount)
        let stats = try trainer.step()
        #expect(stats.gradNorm > 0 && stats.klTurn1 == 0)  // adapters start at B = 0: policy = reference
        _ = try trainer.step()
        #expect(model.parameters.array == base, "the frozen base changed")
        #expect(model.adapters?.parameters.array.contains { $0 != 0 } == true)
        #expect(model.gradients.array.allSatisfy { $0 == 0 })
        #expect(trainer.stateBytes < model.parameterCount * 4 * 2)
    }

    @Test func loraRunResumesBitForBit() throws {
        let straight = try Self.loraTrainer(model: Transformer(config: Self.byteConfig, seed: 3))
        var expected = [Float]()
        for _ in 0..<3 { expected.append(try straight.step().loss) }

        let first = try Self.loraTrainer(model: Transformer(config: Self.byteConfig, seed: 3))
        var losses = [try first.step().loss]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lora-state-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try first.saveState(to: folder)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("adapter/adapter_config.json").path))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("reference").path))
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        let resumed = try SCoReTrainer.resume(
            from: folder, format: format, verifier: ClosureVerifier { items in items.indices.map { Float($0 % 2) } },
            problems: Self.problems)
        for _ in 0..<2 { losses.append(try resumed.step().loss) }
        #expect(losses == expected)
        #expect(resumed.policy.adapters?.parameters.array == straight.policy.adapters?.parameters.array)
    }
}
