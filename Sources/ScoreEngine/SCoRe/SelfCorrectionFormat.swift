/// How a two-attempt exchange is laid out in tokens: user (problem) → assistant (attempt 1) →
/// user (instruction) → assistant (attempt 2). Each attempt ends with the end-of-turn token, which
/// is part of what the model learns; everything else is context and carries no loss.
public struct SelfCorrectionFormat: Sendable {
    /// The paper's instruction for MATH, adapted to short answers.
    public static let defaultInstruction =
        "There might be an error in the answer above. Please correct the error, if any, and rewrite the answer."

    /// A short form for small contexts (a byte-level tokenizer spends one token per character):
    /// the demo's and the C API's default.
    public static let shortInstruction = "Check the answer and fix it if wrong."

    public let tokenizer: any Tokenizer
    /// The self-correction instruction, as text.
    public let instruction: String
    let bos: Int?, user: Int, assistant: Int, endTurn: Int
    /// The id that pads packed sequences (the tokenizer's PAD, else end-of-turn; never trained).
    public let padID: Int

    /// Needs a tokenizer with user, assistant and end-of-turn special tokens (ByteTokenizer has them).
    public init(tokenizer: any Tokenizer, instruction: String = SelfCorrectionFormat.defaultInstruction) throws {
        let specials = tokenizer.specialTokens
        guard let user = specials.user, let assistant = specials.assistant, let endTurn = specials.endTurn else {
            throw ScoreError.invalidArgument(
                "the self-correction format needs user, assistant and end-of-turn special tokens in the tokenizer")
        }
        self.tokenizer = tokenizer
        self.instruction = instruction
        self.bos = specials.bos
        self.user = user
        self.assistant = assistant
        self.endTurn = endTurn
        padID = specials.pad ?? endTurn
    }

    /// `<bos><user>problem<end_turn><assistant>`: the context of attempt 1.
    public func promptTokens(_ problem: String) -> [Int] {
        (bos.map { [$0] } ?? []) + [user] + tokenizer.encode(problem) + [endTurn, assistant]
    }

    /// The tokens appended after attempt 1 (as sampled) to ask for attempt 2:
    /// `<user>instruction<end_turn><assistant>`, preceded by an end-of-turn when attempt 1 was
    /// cut off before producing one.
    public func instructionTokens(after attempt1: [Int]) -> [Int] {
        let close = attempt1.last == endTurn ? [] : [endTurn]
        return close + [user] + tokenizer.encode(instruction) + [endTurn, assistant]
    }

    /// Sampling that ends an attempt at the end-of-turn token.
    public func attemptSampling(temperature: Float, maxNewTokens: Int, seed: UInt64 = 0) -> SamplingOptions {
        SamplingOptions(temperature: temperature, maxNewTokens: maxNewTokens, stopTokenIds: [endTurn], seed: seed)
    }

    /// An attempt's text without its closing end-of-turn token.
    public func text(of attempt: [Int]) throws -> String {
        try tokenizer.decode(attempt.last == endTurn ? Array(attempt.dropLast()) : attempt)
    }

    /// An attempt as trained tokens: the answer text then the end-of-turn token.
    public func attemptTokens(_ text: String) -> [Int] { tokenizer.encode(text) + [endTurn] }
}
