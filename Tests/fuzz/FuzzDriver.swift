import Foundation

// The libFuzzer driver shared by every target. Tests/fuzz.sh compiles it with the ScoreEngine
// sources and the target files into one module (so the engine's internal APIs are callable) and
// one binary; the environment variable SCORE_FUZZ_TARGET picks the target:
//
//     SCORE_FUZZ_TARGET=gguf score-fuzz [libFuzzer flags] CORPUS_DIR...
//
// Each target feeds one input to one parser of untrusted files and then uses what parsed the way
// the engine's loaders do. A thrown Swift error is a normal outcome; only traps (out-of-bounds
// index, overflow, force unwrap), sanitizer reports, leaks, hangs and out-of-memory are findings.

/// One fuzz target: a parser of one kind of untrusted file.
struct FuzzTarget {
    /// The name SCORE_FUZZ_TARGET gives, also the corpus folder Tests/fuzz/corpus/<name>.
    let name: String
    /// What the input is and what is done with it.
    let summary: String
    /// Consumes one input; must not throw.
    let run: (Data) -> Void
}

enum Fuzz {
    /// Every target, in the order fuzz.sh runs them.
    static let targets: [FuzzTarget] = [
        safeTensorsTarget, configJSONTarget, tokenizerJSONTarget, tokenizerConfigTarget, chatTemplateTarget,
        jsonLinesTarget, trainerJSONTarget, ggufTarget,
    ]

    /// The target chosen at start-up.
    nonisolated(unsafe) static var selected: FuzzTarget?

    /// This process's scratch folder, for parsers that only read a URL: SCORE_FUZZ_SCRATCH (or
    /// /dev/shm, else the temporary folder) / score-fuzz-<pid>. Removed at exit.
    nonisolated(unsafe) static var scratch = URL(fileURLWithPath: "/tmp")

    /// A fixed instant for `strftime_now` (2024-07-26 12:00 UTC), so renderings are reproducible.
    static let now = Date(timeIntervalSince1970: 1_721_995_200)

    /// Rendering options with the fixed instant, in UTC.
    static var renderOptions: JinjaRenderer.Options {
        var options = JinjaRenderer.Options()
        options.now = now
        options.timeZone = TimeZone(identifier: "UTC") ?? TimeZone.current
        return options
    }

    /// SCORE_FUZZ_VERBOSE=1: `attempt` prints each step's outcome (to check that seeds parse).
    nonisolated(unsafe) static var verbose = false

    /// `body`'s result, or nil when it throws (a normal outcome for a fuzzed input).
    static func attempt<T>(_ step: String, _ body: () throws -> T) -> T? {
        do {
            let result = try body()
            consume(result)
            if verbose { print("  \(step): ok") }
            return result
        } catch {
            if verbose { print("  \(step): \(error)") }
            return nil
        }
    }

    /// Uses `value` where the optimizer cannot see: without it, a computation whose result is
    /// unused may be dropped, and its overflow and bounds checks with it.
    @inline(never) @_optimize(none)
    static func consume<T>(_ value: T) {
        withExtendedLifetime(value) {}
    }

    /// Writes `data` to `name` inside the scratch folder (replacing it) and returns its URL.
    static func file(_ name: String, _ data: Data) -> URL {
        let url = scratch.appendingPathComponent(name)
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { fatalError("fuzz driver: cannot write \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                guard written > 0 else { fatalError("fuzz driver: short write to \(url.path)") }
                offset += written
            }
        }
        return url
    }

    /// Fixed texts encoded and decoded by every tokenizer that parses: ASCII, whitespace runs,
    /// contractions, accents, CJK, emoji with modifiers, digits, control characters, special-token
    /// names, and the empty string.
    static let texts = [
        "Hello, world! What is 17*23? The answer is 391.",
        "  leading spaces, tabs\tand\nnew lines\n\n",
        "I'm sure they'll say it's fine, don't you think?",
        "Café naïve résumé Ångström 你好，世界！ 😀👍🏽🇺🇸 ❤️",
        "Numbers 12345 and 3.14159 and 1,000,000",
        "<|im_start|>user\nhi<|im_end|><|eot_id|></s><s>",
        "\u{0}\u{1}\u{7F}\u{80}\u{AD}\u{FEFF}\u{10FFFF}",
        "",
    ]

    /// The conversation rendered by chat templates and written by derived layouts.
    static let messages = [
        ChatMessage.user("What is 2+2?"),
        ChatMessage.assistant("  It is 4.\n"),
        ChatMessage.user("Are you sure? <|im_end|>"),
    ]

    /// `messages` as template variables, after a system message.
    static var messageValues: JinjaValue {
        let system = JinjaValue.dict(JinjaDict([("role", .string("system")), ("content", .string("Be brief."))]))
        return .list([system] + messages.map {
            .dict(JinjaDict([("role", .string($0.role.rawValue)), ("content", .string($0.content))]))
        })
    }

    /// Special tokens of the common chat-template families, so that derived layouts find their
    /// end-of-turn tokens in `chatTokenizer`.
    static let chatSpecialTokens = [
        "<s>", "</s>", "<unk>", "<pad>", "<bos>", "<eos>", "<|endoftext|>", "<|im_start|>", "<|im_end|>",
        "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
        "<|eom_id|>", "<start_of_turn>", "<end_of_turn>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>",
        "[INST]", "[/INST]", "<think>", "</think>",
    ]

    /// A byte-level BPE tokenizer (every byte, no merges) with `chatSpecialTokens`, built once; the
    /// tokenizer chat templates are derived against.
    static let chatTokenizer: BPETokenizer = {
        var vocab = [String: Int]()
        for byte in 0..<256 { vocab[String(ByteLevelAlphabet.scalarForByte[byte])] = byte }
        let added = chatSpecialTokens.enumerated().map { index, name -> [String: Any] in
            ["id": 256 + index, "content": name, "special": true, "normalized": false]
        }
        let json: [String: Any] = [
            "added_tokens": added,
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
            "decoder": ["type": "ByteLevel"],
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()] as [String: Any],
        ]
        do {
            let tokenizer = try BPETokenizer(json: JSONSerialization.data(withJSONObject: json), path: "fuzz tokenizer")
            let id = { (name: String) in tokenizer.id(forSpecialToken: name) }
            return try tokenizer.withSpecialTokens(SpecialTokens(bos: id("<s>"), eos: id("</s>"), pad: id("<pad>")))
        } catch {
            fatalError("fuzz driver: the built-in chat tokenizer does not parse: \(error)")
        }
    }()

    /// Uses a tokenizer that parsed: encodes and decodes the fixed texts (with and without special
    /// tokens), decodes the first and last ids and looks up a few special-token names.
    static func exercise(_ tokenizer: any Tokenizer) {
        for text in texts {
            for special in [false, true] {
                let ids = tokenizer.encode(text, parseSpecialTokens: special)
                consume(ids)
                consume(try? tokenizer.decode(ids))
            }
        }
        let last = tokenizer.vocabularySize - 1
        consume(try? tokenizer.decodeBytes([0, last, 0]))
        consume(try? tokenizer.decodeBytes([last + 1]))
        consume(try? tokenizer.decodeBytes([-1]))
        for name in ["<|im_end|>", "<|eot_id|>", "</s>", "<|endoftext|>"] { consume(tokenizer.id(forSpecialToken: name)) }
    }

    /// Derives a layout from `template` against `tokenizer` (as model loaders do) and writes the
    /// fixed conversation with it.
    static func deriveLayout(_ tokenizer: any Tokenizer, template: String, bos: String?, eos: String?, pad: String?,
                             unk: String?, source: String) -> ChatTemplate? {
        guard let layout = attempt("derive ChatTemplate", {
            try ChatTemplate(tokenizer: tokenizer, template: template, bosToken: bos, eosToken: eos, padToken: pad,
                             unkToken: unk, source: source, date: "26 Jul 2024", now: now)
        }) else { return nil }
        consume(layout.tokens(for: messages, addGenerationPrompt: true))
        consume(layout.tokens(for: Array(messages.prefix(2)), addGenerationPrompt: false))
        return layout
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>,
                           _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let environment = ProcessInfo.processInfo.environment
    guard let name = environment["SCORE_FUZZ_TARGET"], let target = Fuzz.targets.first(where: { $0.name == name }) else {
        var message = "score-fuzz: set SCORE_FUZZ_TARGET to one of:\n"
        for target in Fuzz.targets { message += "  \(target.name): \(target.summary)\n" }
        FileHandle.standardError.write(Data(message.utf8))
        exit(2)
    }
    Fuzz.selected = target
    Fuzz.verbose = environment["SCORE_FUZZ_VERBOSE"] == "1"
    var root = environment["SCORE_FUZZ_SCRATCH"] ?? ""
    if root.isEmpty {
        var isDirectory: ObjCBool = false
        root = FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory) && isDirectory.boolValue
            ? "/dev/shm" : NSTemporaryDirectory()
    }
    // Folders of earlier processes that crashed (a crash skips the atexit handler; libFuzzer's
    // -minimize_crash and -fork modes start many such processes).
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where entry.hasPrefix("score-fuzz-") {
        if let pid = Int32(entry.dropFirst("score-fuzz-".count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
            try? FileManager.default.removeItem(atPath: root + "/" + entry)
        }
    }
    let scratch = URL(fileURLWithPath: root).appendingPathComponent("score-fuzz-\(getpid())")
    do {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    } catch {
        FileHandle.standardError.write(Data("score-fuzz: cannot create \(scratch.path): \(error)\n".utf8))
        exit(2)
    }
    Fuzz.scratch = scratch
    atexit { try? FileManager.default.removeItem(at: Fuzz.scratch) }
    if target.name == "chat_template" || target.name == "tokenizer_config" { _ = Fuzz.chatTokenizer }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let target = Fuzz.selected else { return 0 }
    let data = count > 0 && bytes != nil ? Data(bytes: bytes!, count: count) : Data()
    target.run(data)
    return 0
}
