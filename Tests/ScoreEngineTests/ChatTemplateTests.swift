import Foundation
import Testing
@testable import ScoreEngine

/// Chat templates: the two-attempt exchange rendered as `transformers` renders it with the
/// families' own templates (fixtures made by Fixtures/chat/make_chat_fixtures.py; no Python
/// needed here), the trained mask, derivation errors, host-given templates, and the byte
/// tokenizer's layout left exactly as it was.
struct ChatTemplateTests {
    static let families = ["qwen2", "qwen2.5", "smollm2", "llama3", "llama3.1", "llama3.2"]

    struct Expected: Decodable {
        let tokenizer: String
        let instruction: String
        let end_of_turn: Int
        let today: String?
        let cases: [Case]
    }

    struct Case: Decodable {
        let problem: String
        let attempt1: String
        let attempt2: String
        /// "transformers": apply_chat_template's ids; "plain": the messages hold special-token
        /// names, so the ids are the rendering with those names as text (see the README).
        let source: String
        let prompt: [Int]
        let second_prompt: [Int]
        let full: [Int]
        let attempt_spans: [[Int]]
        let transformers_full: [Int]?
        let transformers_sanitized_full: [Int]?
    }

    static func fixtures() throws -> URL {
        guard let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw ScoreError.invalidArgument("fixtures folder missing from the test bundle")
        }
        return fixtures.appendingPathComponent("chat")
    }

    static func expected(_ family: String) throws -> Expected {
        let url = try fixtures().appendingPathComponent(family).appendingPathComponent("expected.json")
        return try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url))
    }

    static func tokenizer(_ name: String) throws -> BPETokenizer {
        try BPETokenizer(contentsOf: fixtures().appendingPathComponent("tokenizers").appendingPathComponent(name + ".json"))
    }

    static func config(_ family: String) throws -> TokenizerConfig {
        try TokenizerConfig.load(from: fixtures().appendingPathComponent(family))
    }

    /// The family's template read from its tokenizer_config.json, dated as the fixture was.
    static func template(_ family: String) throws -> (ChatTemplate, Expected) {
        let expected = try expected(family)
        let template = try ChatTemplate(tokenizer: tokenizer(expected.tokenizer), config: config(family),
                                        date: expected.today)
        return (template, expected)
    }

    static func exchange(_ item: Case, _ instruction: String) -> [ChatMessage] {
        [.user(item.problem), .assistant(item.attempt1), .user(instruction), .assistant(item.attempt2)]
    }

    // MARK: Parity with transformers

    @Test(arguments: families)
    func exchangeMatchesTransformers(family: String) throws {
        let (template, expected) = try Self.template(family)
        let format = try SelfCorrectionFormat(template: template, instruction: expected.instruction)
        #expect(template.endOfTurn == expected.end_of_turn)
        #expect(expected.cases.count >= 6 && expected.cases.contains { $0.source == "plain" })
        for item in expected.cases {
            let prompt = format.promptTokens(item.problem)
            #expect(prompt == item.prompt, "\(family) prompt of \(item.problem.debugDescription)")
            let attempt1 = format.attemptTokens(item.attempt1)
            let second = prompt + attempt1 + format.instructionTokens(after: attempt1)
            #expect(second == item.second_prompt, "\(family) second prompt of \(item.problem.debugDescription)")
            let exchange = second + format.attemptTokens(item.attempt2)
            // The template's rendering goes on after the last end-of-turn (ChatML: "\n").
            var writer = ChatTokenWriter(tokenizer: template.tokenizer)
            writer.write(template.afterAssistant)
            let after = writer.finish()
            #expect(exchange + after == item.full, "\(family) exchange of \(item.problem.debugDescription)")

            // The template renders whole conversations the same way.
            let messages = Self.exchange(item, expected.instruction)
            #expect(template.tokens(for: Array(messages.prefix(1)), addGenerationPrompt: true) == item.prompt)
            #expect(template.tokens(for: Array(messages.prefix(3)), addGenerationPrompt: true) == item.second_prompt)
            #expect(template.tokens(for: messages) == item.full)
        }
    }

    @Test(arguments: families)
    func trainedTokensAreExactlyTheAttempts(family: String) throws {
        let (template, expected) = try Self.template(family)
        let format = try SelfCorrectionFormat(template: template, instruction: expected.instruction)
        for item in expected.cases {
            let attempt1 = format.attemptTokens(item.attempt1)
            let segments = [
                SequenceBatch.Segment(tokens: format.promptTokens(item.problem), trained: false),
                SequenceBatch.Segment(tokens: attempt1, trained: true),
                SequenceBatch.Segment(tokens: format.instructionTokens(after: attempt1), trained: false),
                SequenceBatch.Segment(tokens: format.attemptTokens(item.attempt2), trained: true),
            ]
            let batch = try SequenceBatch(sequences: [segments], padID: format.padID, maxSeqLen: 4096)
            // Position i predicts token i + 1: token t is trained when position t − 1 has a target.
            let trained = Set(batch.targets.indices.filter { batch.targets[$0] >= 0 }.map { $0 + 1 })
            let spans = Set(item.attempt_spans.flatMap { $0[0]..<$0[1] })
            #expect(trained == spans, "\(family) mask of \(item.problem.debugDescription)")
            for span in item.attempt_spans { #expect(item.full[span[1] - 1] == template.endOfTurn) }
            #expect(Array(batch.targetSegments.filter { $0 >= 0 }.uniqued()) == [1, 3])
        }
    }

    @Test(arguments: families)
    func specialTokenNamesInMessagesStayText(family: String) throws {
        let (template, expected) = try Self.template(family)
        let plain = expected.cases.filter { $0.source == "plain" }
        #expect(!plain.isEmpty)
        for item in plain {
            let ours = template.tokens(for: Self.exchange(item, expected.instruction))
            #expect(ours == item.full)
            // transformers by default turns the names into control tokens: more end-of-turn ids.
            let transformers = try #require(item.transformers_full)
            #expect(ours != transformers)
            #expect(transformers.filter { $0 == template.endOfTurn }.count > ours.filter { $0 == template.endOfTurn }.count)
            // With sanitize_control_tokens=True it keeps them as text; for these texts the ids agree.
            #expect(ours == item.transformers_sanitized_full)
            // The names come back as text.
            let text = try template.tokenizer.decode(ours)
            #expect(text.contains(item.problem.trimmingCharacters(in: .whitespaces)))
        }
    }

    // MARK: Derivation

    @Test func familiesAreDerivedWithTheirDefaultBlocks() throws {
        let qwen = try Self.template("qwen2.5").0
        #expect(qwen.family == .chatML && !qwen.trimsMessages)
        #expect(try qwen.pieceTexts() == [
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n",
            "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n", "<|im_end|>", "\n", "",
        ])
        #expect(try Self.template("qwen2").0.pieceTexts()[0] == "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
        #expect(try Self.template("smollm2").0.pieceTexts()[0]
            == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n")

        let llama3 = try Self.template("llama3").0
        #expect(llama3.family == .llama3 && llama3.trimsMessages)
        #expect(try llama3.pieceTexts() == [
            "<|begin_of_text|>", "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>",
            "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>", "", "",
        ])
        // Llama-3.1 writes a fixed date when none is given.
        let llama31 = try ChatTemplate(tokenizer: Self.tokenizer("llama"), config: Self.config("llama3.1"))
        #expect(try llama31.pieceTexts()[0] == "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>")
    }

    @Test func llama32WritesTodaysDateByDefault() throws {
        let before = ChatTemplate.todayString()
        let template = try ChatTemplate(tokenizer: Self.tokenizer("llama"), config: Self.config("llama3.2"))
        let after = ChatTemplate.todayString()
        let start = try template.pieceTexts()[0]
        #expect(start.contains("Today Date: \(before)\n\n") || start.contains("Today Date: \(after)\n\n"))
        // strftime's "%d %b %Y": zero-padded day, English month abbreviation.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone.current
        let date = try #require(utc.date(from: DateComponents(year: 2025, month: 3, day: 5, hour: 12)))
        #expect(ChatTemplate.todayString(date) == "05 Mar 2025")
    }

    @Test func stopAndPadTokensComeFromTheConfig() throws {
        let llama = try Self.template("llama3.2").0
        let tokenizer = llama.tokenizer
        let eot = try #require(tokenizer.id(forSpecialToken: "<|eot_id|>"))
        let endOfText = try #require(tokenizer.id(forSpecialToken: "<|end_of_text|>"))
        #expect(llama.stopTokenIds == [eot, endOfText])
        #expect(llama.padID == eot)
        let format = try SelfCorrectionFormat(template: llama, instruction: "Fix it.")
        #expect(format.attemptSampling(temperature: 1, maxNewTokens: 4).stopTokenIds == [eot, endOfText])
        // An attempt that stopped at <|end_of_text|> is closed with <|eot_id|> before the instruction.
        let answer = tokenizer.encode("42")
        #expect(try format.text(of: answer + [endOfText]) == "42")
        #expect(format.instructionTokens(after: answer + [endOfText]).first == eot)
        #expect(format.instructionTokens(after: answer + [eot]).first != eot)
        #expect(format.instructionTokens(after: answer) == [eot] + format.instructionTokens(after: answer + [eot]))

        let qwen = try Self.template("qwen2.5").0
        let imEnd = try #require(qwen.tokenizer.id(forSpecialToken: "<|im_end|>"))
        #expect(qwen.stopTokenIds == [imEnd])
        #expect(qwen.padID == qwen.tokenizer.id(forSpecialToken: "<|endoftext|>"))
        let more = try qwen.addingStopTokens([try #require(qwen.tokenizer.id(forSpecialToken: "<|endoftext|>")), imEnd])
        #expect(more.stopTokenIds == [imEnd, qwen.padID])
        #expect(throws: ScoreError.self) { try qwen.addingStopTokens([1_000_000]) }
    }

    @Test func unknownTemplatesAreClearErrors() throws {
        let tokenizer = try Self.tokenizer("qwen")
        func reason(_ config: TokenizerConfig) -> String? {
            do {
                _ = try ChatTemplate(tokenizer: tokenizer, config: config)
                return nil
            } catch ScoreError.invalidFile(let path, let reason) {
                #expect(path == config.path)
                return reason
            } catch {
                return "unexpected \(error)"
            }
        }
        let alpaca = TokenizerConfig(
            chatTemplate: "{% for m in messages %}### {{ m['role'] }}:\n{{ m['content'] }}\n\n{% endfor %}",
            path: "model/tokenizer_config.json")
        // Its turns end with text, not a control token: there is no end-of-turn token.
        #expect(reason(alpaca)?.contains("does not start with a special token") == true)
        #expect(reason(alpaca)?.contains("ChatTemplate.custom") == true)
        #expect(reason(TokenizerConfig())?.contains("no chat template") == true)
        #expect(reason(TokenizerConfig(chatTemplateNames: ["tool_use", "rag"]))?.contains("tool_use, rag") == true)

        let reasoning = TokenizerConfig(chatTemplate:
            "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
            + "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' }}{%- endif %}")
        // Its generation prompt opens a reasoning block that the rendering of an answer lacks.
        #expect(reason(reasoning)?.contains("generation prompt") == true)
        #expect(reason(reasoning)?.contains("<think>") == true)
        let noMessages = TokenizerConfig(chatTemplate:
            "{{ '<|im_start|>system\\nA<|im_end|>\\n' }}{{ '<|im_start|>system\\nB<|im_end|>\\n' }}"
            + "{{ '<|im_end|>' + '\\n' }}{{ '<|im_start|>assistant\\n' }}")
        #expect(reason(noMessages)?.contains("exactly once") == true)
        // Only the first answer gets a reasoning block: the layout varies by position.
        let firstOnly = TokenizerConfig(chatTemplate:
            "{%- for m in messages %}{{- '<|im_start|>' + m.role + '\\n' }}{% if loop.index0 == 1 %}"
            + "{{- '<think></think>' }}{% endif %}{{- m.content + '<|im_end|>\\n' }}{%- endfor %}"
            + "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think></think>' }}{%- endif %}")
        let varies = reason(firstOnly)
        #expect(varies?.contains("varies by position: rendering [user, assistant, user, assistant]") == true, "\(varies ?? "")")
        let unsupported = TokenizerConfig(chatTemplate: "{% include 'other.jinja' %}")
        #expect(reason(unsupported)?.contains("unsupported tag '{% include %}'") == true)
        let raising = TokenizerConfig(chatTemplate: "{{ raise_exception('No chats here') }}")
        #expect(reason(raising)?.contains("No chats here") == true)

        // A template whose control tokens the tokenizer lacks: no end-of-turn token after an answer.
        let llamaConfig = try Self.config("llama3")
        #expect(throws: ScoreError.self) { try ChatTemplate(tokenizer: tokenizer, config: llamaConfig) }
    }

    // MARK: Host-given templates

    @Test func customTemplateRendersHostPieces() throws {
        let (qwen, expected) = try Self.template("qwen2.5")
        let custom = try ChatTemplate.custom(
            tokenizer: qwen.tokenizer,
            conversationStart: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n",
            userPrefix: "<|im_start|>user\n", userSuffix: "<|im_end|>\n", assistantPrefix: "<|im_start|>assistant\n",
            endOfTurn: "<|im_end|>", afterAssistant: "\n", stopTokens: ["<|endoftext|>"], padToken: "<|endoftext|>")
        #expect(custom.family == .custom)
        #expect(custom.stopTokenIds == qwen.stopTokenIds + [qwen.padID])
        for item in expected.cases {
            #expect(custom.tokens(for: Self.exchange(item, expected.instruction)) == item.full)
        }

        // The turn-marker layout, given as strings.
        let bytes = ByteTokenizer()
        let markers = try ChatTemplate.custom(
            tokenizer: bytes, conversationStart: "<|bos|>", userPrefix: "<|user|>", userSuffix: "<|end_turn|>",
            assistantPrefix: "<|assistant|>", endOfTurn: "<|end_turn|>")
        let messages: [ChatMessage] = [.user("1+2="), .assistant("3"), .user("Fix?")]
        let turnMarkers = try ChatTemplate.turnMarkers(tokenizer: bytes)
        #expect(markers.tokens(for: messages, addGenerationPrompt: true)
            == turnMarkers.tokens(for: messages, addGenerationPrompt: true))
        #expect(markers.padID == 258)

        #expect(throws: ScoreError.self) {
            try ChatTemplate.custom(tokenizer: bytes, userPrefix: "", userSuffix: "", assistantPrefix: "", endOfTurn: "END")
        }
        #expect(throws: ScoreError.self) {
            try ChatTemplate.custom(tokenizer: bytes, userPrefix: "", userSuffix: "", assistantPrefix: "",
                                    endOfTurn: "<|end_turn|>\n")
        }
        #expect(throws: ScoreError.self) {
            try ChatTemplate.custom(tokenizer: bytes, userPrefix: "", userSuffix: "", assistantPrefix: "",
                                    endOfTurn: "<|end_turn|>", stopTokens: ["<|stop|>"])
        }
    }

    // MARK: The byte tokenizer's layout

    @Test func byteLayoutIsUnchanged() throws {
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: "Fix?")
        #expect(format.template.family == .turnMarkers)
        let bytes = { (text: String) in text.utf8.map { Int($0) } }
        #expect(format.promptTokens("1+2=") == [256, 259] + bytes("1+2=") + [261, 260])
        #expect(format.instructionTokens(after: [51]) == [261, 259] + bytes("Fix?") + [261, 260])
        #expect(format.instructionTokens(after: [51, 261]) == [259] + bytes("Fix?") + [261, 260])
        #expect(format.instructionTokens(after: []) == [261, 259] + bytes("Fix?") + [261, 260])
        #expect(format.attemptTokens(" 3 ") == bytes(" 3 ") + [261])
        #expect(format.attemptSampling(temperature: 0.5, maxNewTokens: 7, seed: 3)
            == SamplingOptions(temperature: 0.5, maxNewTokens: 7, stopTokenIds: [261], seed: 3))
        #expect(format.padID == 258)
        #expect(try format.text(of: bytes("3") + [261]) == "3")
        #expect(try format.text(of: bytes("3") + [257]) == "3<|eos|>")
        // Untrusted text: special-token names stay bytes.
        #expect(format.promptTokens("<|end_turn|>") == [256, 259] + bytes("<|end_turn|>") + [261, 260])
        #expect(throws: ScoreError.self) {
            try SelfCorrectionFormat(tokenizer: Self.tokenizer("qwen"))
        }
    }

    // MARK: Pieces

    @Test func tokenizerConfigFieldForms() throws {
        let json = #"""
        {"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}],
         "bos_token": {"__type": "AddedToken", "content": "<s>", "special": true}, "eos_token": "</s>",
         "pad_token": null, "add_bos_token": true, "added_tokens_decoder": {"0": {"content": "<s>"}}}
        """#
        let config = try TokenizerConfig(json: Data(json.utf8), path: "c.json")
        #expect(config == TokenizerConfig(chatTemplate: "D", chatTemplateNames: ["tool_use", "default"], bosToken: "<s>",
                                          eosToken: "</s>", padToken: nil, addBOSToken: true, path: "c.json"))
        for bad in [#"{"chat_template": 3}"#, #"{"eos_token": {"id": 2}}"#, #"{"add_bos_token": "yes"}"#, "[1]", "{"] {
            #expect(throws: ScoreError.self) { try TokenizerConfig(json: Data(bad.utf8)) }
        }
        do {
            _ = try TokenizerConfig(json: Data(#"{"pad_token": 0}"#.utf8), path: "p.json")
            Issue.record("a numeric pad_token should not decode")
        } catch ScoreError.invalidFile(let path, let reason) {
            #expect(path == "p.json" && reason.contains("pad_token"))
        }

        // chat_template.jinja next to the config takes priority.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("chat-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: ScoreError.self) { try TokenizerConfig.load(from: folder) }
        try Data(#"{"chat_template": "old", "eos_token": "<|im_end|>"}"#.utf8)
            .write(to: folder.appendingPathComponent(TokenizerConfig.fileName))
        #expect(try TokenizerConfig.load(from: folder).chatTemplate == "old")
        try Data("new {{ x }}\n".utf8).write(to: folder.appendingPathComponent(TokenizerConfig.chatTemplateFileName))
        let loaded = try TokenizerConfig.load(from: folder)
        #expect(loaded.chatTemplate == "new {{ x }}\n" && loaded.eosToken == "<|im_end|>")
    }

    @Test func templateLiteralsReadAsJinjaDoes() throws {
        let template = try JinjaTemplate(
            "raw <|a|>{# it's a 'comment' #}{{- 'x\\ny' + \"q\\\"\\u00e9\" }}{% if a %}{{ 'multi\nline' }}{% endif %}tail",
            source: "t")
        #expect(try template.render([:]) == "raw <|a|>x\nyq\"étail")
        #expect(try template.render(["a": .bool(true)]) == "raw <|a|>x\nyq\"émulti\nlinetail")
    }

    @Test func trimIsPythonsStrip() {
        #expect(ChatTemplate.pythonStripped(" \t\n a b \u{1C}\u{3000}\u{85}") == "a b")
        #expect(ChatTemplate.pythonStripped("\u{200B}x\u{FEFF}") == "\u{200B}x\u{FEFF}")
        #expect(ChatTemplate.pythonStripped(" \n ") == "")
    }

    // MARK: Rollouts in a model's template

    @Test func rolloutInLlamaTemplateKeepsTheExchangeShape() throws {
        let (template, _) = try Self.template("llama3.2")
        let format = try SelfCorrectionFormat(template: template, instruction: "Check it.")
        let config = ModelConfig(vocabSize: template.tokenizer.vocabularySize, dim: 16, nLayers: 1, nHeads: 2,
                                 nKVHeads: 1, hiddenDim: 32, maxSeqLen: 160)
        let model = try Transformer(config: config, seed: 3)
        var generator = RandomGenerator(seed: 4)
        let sampling = format.attemptSampling(temperature: 1, maxNewTokens: 4)
        let episodes = try model.rollout(prompts: [format.promptTokens("What is 2 + 2?")], samplesPerPrompt: 2,
                                         format: format, turn1: sampling, turn2: sampling, generator: &generator)
        for episode in episodes {
            #expect(episode.instruction == format.instructionTokens(after: episode.attempt1.tokens))
            let tokens = episode.segments.flatMap(\.tokens)
            let text = try template.tokenizer.decode(tokens)
            #expect(text.hasPrefix("<|begin_of_text|><|start_header_id|>system<|end_header_id|>"))
            #expect(text.contains("<|start_header_id|>user<|end_header_id|>\n\nCheck it.<|eot_id|>"
                                  + "<|start_header_id|>assistant<|end_header_id|>\n\n"))
        }
    }
}

private extension Array where Element: Hashable {
    /// The elements in order without repeats.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
