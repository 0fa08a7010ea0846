/// The arithmetic task in token form for a model trained from scratch: `<|bos|>12+34=` as the
/// prompt, `46<|eos|>` as the completion.
extension ArithmeticTask {
    /// Prompt tokens: BOS (when the tokenizer has one) then the problem text.
    public func promptTokens(_ problem: ArithmeticProblem, tokenizer: any Tokenizer) -> [Int] {
        (tokenizer.specialTokens.bos.map { [$0] } ?? []) + tokenizer.encode(problem.prompt)
    }

    /// A supervised example: the prompt, then the answer and EOS as the trained completion.
    public func example(_ problem: ArithmeticProblem, tokenizer: any Tokenizer) -> SFTExample {
        SFTExample(prompt: promptTokens(problem, tokenizer: tokenizer),
                   completion: tokenizer.encode(problem.answer) + (tokenizer.specialTokens.eos.map { [$0] } ?? []))
    }

    /// Generation settings that end an answer at EOS or a newline, a few tokens past the longest answer.
    public func answerSampling(temperature: Float = 0, seed: UInt64 = 0, tokenizer: any Tokenizer) -> SamplingOptions {
        SamplingOptions(temperature: temperature, maxNewTokens: options.digits + 3,
                        stopTokenIds: tokenizer.specialTokens.eos.map { [$0] } ?? [], seed: seed)
    }
}
