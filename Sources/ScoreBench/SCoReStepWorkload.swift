import Foundation
import ScoreEngine

/// The work of one benchmarked SCoRe step, the same for libscore and the PyTorch peer: `prompts`
/// synthetic problems of 32 prompt tokens each, `samples` episodes per problem, attempts of up to
/// `maxNewTokens` tokens, an instruction turn of 30 tokens between them, on a shape of
/// configs.json with random weights; every weight trained, or LoRA adapters of rank `loraRank`.
struct SCoReStepWorkload {
    /// Characters of each problem: with `<bos><user>` before and `<end_turn><assistant>` after,
    /// a prompt of 32 tokens.
    static let problemLength = 28
    /// 26 characters: with `<end_turn>` closing a cut-off attempt 1, `<user>` before, and
    /// `<end_turn><assistant>` after, an instruction turn of 30 tokens.
    static let instruction = "Please fix any error above"

    /// The shape's model, its context raised when an episode would not fit in it.
    let config: ModelConfig
    let format: SelfCorrectionFormat
    let problems: [SelfCorrectionProblem]
    let samplesPerPrompt: Int
    let maxNewTokens: Int
    /// Adapters on every linear layer of each block, alpha 2·rank, as the peer's `peft` config;
    /// nil: full fine-tuning.
    let lora: LoRAOptions?

    init(shape: BenchShape, prompts: Int, samples: Int, maxNewTokens: Int, loraRank: Int) throws {
        guard prompts >= 1, samples >= 2, maxNewTokens >= 1, loraRank >= 0 else {
            throw ScoreError.invalidArgument(
                "--prompts >= 1, --samples >= 2 (leave-one-out), --max-new-tokens >= 1, --lora-rank >= 0")
        }
        lora = loraRank > 0 ? LoRAOptions(rank: loraRank, alpha: Float(2 * loraRank), targets: LoRATarget.allCases)
                            : nil
        let format = try SelfCorrectionFormat(tokenizer: BenchTokenizer(vocabularySize: shape.vocabSize),
                                              instruction: Self.instruction)
        let problems = (0..<prompts).map { i in
            let text = "Problem \(i): what is \(17 * i + 3) + \(29 * i + 11)?"
                .padding(toLength: Self.problemLength, withPad: ".", startingAt: 0)
            return SelfCorrectionProblem(prompt: text, reference: String(46 * i + 14))
        }
        self.format = format
        self.problems = problems
        samplesPerPrompt = samples
        self.maxNewTokens = maxNewTokens
        var config = shape.modelConfig
        let longest = problems.map { format.promptTokens($0.prompt).count }.max() ?? 0
        let episode = longest + 2 * maxNewTokens + format.instructionTokens(after: []).count
        config.maxSeqLen = max(config.maxSeqLen, episode)
        self.config = config
    }

    /// Values the step trains.
    var trainableParameters: Int {
        lora.map { LoRAOptions.parameterCount($0, config: config) } ?? ParameterLayout(config: config).count
    }

    /// Prompt tokens of each problem.
    var promptTokens: [[Int]] { problems.map { format.promptTokens($0.prompt) } }

    /// The instruction turn after an attempt 1 cut off at the length limit (the usual case on
    /// random weights): `<end_turn><user>instruction<end_turn><assistant>`.
    var instructionTokens: [Int] { format.instructionTokens(after: [0]) }

    /// Stage I on every step (the plan never reaches Stage II), temperature 1, the engine's
    /// default objective (β2 = 1 on turn 1, β1 = 0.01 on turn 2, k3 KL, leave-one-out baseline)
    /// and its default micro-batching and memory budget.
    var options: SCoReOptions {
        var options = SCoReOptions()
        options.promptsPerStep = problems.count
        options.samplesPerPrompt = samplesPerPrompt
        options.maxNewTokens = maxNewTokens
        options.temperature = 1
        options.plan = .score(stageI: 1_000_000, stageII: 1, rounds: 1)
        options.seed = 1
        options.lora = lora
        return options
    }

    /// A deterministic, varied 0/1 reward: the top bit of an FNV-1a hash of the attempt's text
    /// and turn, so that leave-one-out advantages are not all zero.
    static let verifier = ClosureVerifier { items in
        items.map { item in
            var hash: UInt32 = 2_166_136_261
            for byte in item.response.utf8 + [UInt8(item.turn)] { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            return Float(hash >> 31)
        }
    }

    /// Writes the token ids the peer needs to run the same episodes (see peer_torch_score.py).
    func writeEpisodeSpec(to url: URL) throws {
        let spec: [String: Any] = ["prompts": promptTokens, "instruction": instructionTokens,
                                   "end_turn": format.endOfTurn, "pad": format.padID]
        try JSONSerialization.data(withJSONObject: spec).write(to: url)
    }
}
