/// How a two-attempt exchange is laid out in tokens: user (problem) → assistant (attempt 1) →
/// user (instruction) → assistant (attempt 2), in the model's chat template. Each attempt ends
/// with the template's end-of-turn token, which is part of what the model learns; everything
/// else is context and carries no loss.
///
/// The pieces, concatenated, are exactly the template's rendering of the exchange (what
/// `apply_chat_template` gives in `transformers`, without what the template writes after the
/// last end-of-turn token):
///
///     promptTokens(problem)                 conversation start, user turn, generation prompt
///     attemptTokens(attempt 1)              trained: the text, then end-of-turn
///     instructionTokens(after: attempt 1)   what follows end-of-turn, user turn, generation prompt
///     attemptTokens(attempt 2)              trained
///
/// The problem and the instruction are untrusted text: special-token names in them stay text.
public struct SelfCorrectionFormat: Sendable {
    /// The paper's instruction for MATH, adapted to short answers.
    public static let defaultInstruction =
        "There might be an error in the answer above. Please correct the error, if any, and rewrite the answer."

    /// A short form for small contexts (a byte-level tokenizer spends one token per character):
    /// the demo's and the C API's default.
    public static let shortInstruction = "Check the answer and fix it if wrong."

    /// The chat template the exchange is written in.
    public let template: ChatTemplate
    /// The self-correction instruction, as text.
    public let instruction: String
    /// The id that pads packed sequences (the template's; never trained).
    public let padID: Int
    /// The instruction turn after a closed attempt 1: what the template writes after the
    /// end-of-turn token, the user turn with the instruction, and the generation prompt.
    private let instructionTurn: [Int]

    /// The tokenizer of the template.
    public var tokenizer: any Tokenizer { template.tokenizer }
    /// The token that closes each attempt.
    public var endOfTurn: Int { template.endOfTurn }

    /// The turn-marker layout of a tokenizer with user, assistant and end-of-turn special
    /// tokens (`ByteTokenizer` has them): `<bos><user>problem<end_turn><assistant>…`.
    public init(tokenizer: any Tokenizer, instruction: String = SelfCorrectionFormat.defaultInstruction) throws {
        try self.init(template: ChatTemplate.turnMarkers(tokenizer: tokenizer), instruction: instruction)
    }

    /// The exchange in `template` (for example `ChatTemplate(tokenizer:config:)` for a model
    /// folder's own template).
    public init(template: ChatTemplate, instruction: String = SelfCorrectionFormat.defaultInstruction) throws {
        self.template = template
        self.instruction = instruction
        padID = template.padID
        var writer = ChatTokenWriter(tokenizer: template.tokenizer)
        writer.write(template.afterAssistant)
        writer.write(template.userPrefix)
        writer.writeMessage(template.messageText(instruction))
        writer.write(template.userSuffix)
        writer.write(template.assistantPrefix)
        instructionTurn = writer.finish()
    }

    /// The context of attempt 1: the conversation start, the problem as a user turn, and the
    /// generation prompt (`<bos><user>problem<end_turn><assistant>` in the turn-marker layout).
    public func promptTokens(_ problem: String) -> [Int] {
        template.tokens(for: [.user(problem)], addGenerationPrompt: true)
    }

    /// The tokens appended after attempt 1 (as sampled) to ask for attempt 2: the instruction
    /// turn and the generation prompt (`<user>instruction<end_turn><assistant>` in the
    /// turn-marker layout), preceded by the end-of-turn token when attempt 1 does not end with
    /// it (cut off, or stopped at another stop token such as an EOS).
    public func instructionTokens(after attempt1: [Int]) -> [Int] {
        (attempt1.last == endOfTurn ? [] : [endOfTurn]) + instructionTurn
    }

    /// Most tokens of an episode on a prompt of `promptLength` tokens with `attempts` attempts (2
    /// by default) of up to `maxNewTokens`: prompt, attempts and the longest instruction turn
    /// before each later attempt.
    public func longestEpisode(promptLength: Int, maxNewTokens: Int, attempts: Int = 2) -> Int {
        promptLength + attempts * maxNewTokens + (attempts - 1) * instructionTokens(after: []).count
    }

    /// Sampling that ends an attempt at the template's stop tokens (end-of-turn first).
    public func attemptSampling(temperature: Float, maxNewTokens: Int, seed: UInt64 = 0) -> SamplingOptions {
        SamplingOptions(temperature: temperature, maxNewTokens: maxNewTokens, stopTokenIds: template.stopTokenIds,
                        seed: seed)
    }

    /// An attempt's text without its closing stop token.
    public func text(of attempt: [Int]) throws -> String {
        let closed = attempt.last.map(template.stopTokenIds.contains) ?? false
        return try tokenizer.decode(closed ? Array(attempt.dropLast()) : attempt)
    }

    /// An attempt as trained tokens: the answer text (trimmed where the template trims), then
    /// the end-of-turn token. The text is encoded on its own; where the template text before it
    /// could merge with its first characters (a ChatML answer that starts with a line break), the
    /// ids there can differ from a rendering of the whole exchange.
    public func attemptTokens(_ text: String) -> [Int] {
        tokenizer.encode(template.messageText(text)) + [endOfTurn]
    }
}
