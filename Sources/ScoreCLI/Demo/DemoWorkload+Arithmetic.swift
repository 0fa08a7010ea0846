import Foundation
import ScoreEngine

extension DemoWorkload {
    /// The built-in demo: a tiny model from scratch on 2-digit addition with the byte tokenizer.
    /// The base is trained on single-turn addition until validation Acc@t1 reaches
    /// `pretrainTarget`, then on two-attempt exchanges whose first attempt is wrong half the time
    /// and whose second is right 80% of the time, independently, until validation Acc@t1 reaches
    /// `baseTarget` and Acc@t2 `baseTargetT2`: an early-stopped, imperfect base whose second
    /// attempt edits.
    static func arithmetic(settings: DemoSettings, seed: UInt64, threads: Int) throws -> DemoWorkload {
        let task = try ArithmeticTask()
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: settings.instruction)
        func problem(_ p: ArithmeticProblem) -> SelfCorrectionProblem {
            SelfCorrectionProblem(prompt: p.prompt, reference: task.answerText(p.a + p.b, fixedWidth: true))
        }
        var splitRNG = RandomGenerator(seed: 0xBA5E)
        let shuffled = task.problems(.train).shuffled(using: &splitRNG)
        let validation = shuffled.prefix(settings.validationCount).map(problem)
        // Answers fixed-width (46 → "046").
        let trainProblems = Array(shuffled.dropFirst(settings.validationCount)).sorted { ($0.a, $0.b) < ($1.a, $1.b) }
        let train = trainProblems.map(problem)
        // A fixed random sample of the held-out split, the same for every seed.
        var heldRNG = RandomGenerator(seed: 0x7E57)
        let heldOut = Array(task.problems(.test).shuffled(using: &heldRNG).prefix(settings.evalCount)).map(problem)

        func makeBase(_ demo: SelfCorrectionDemo) throws -> Transformer {
            let model = try Transformer(config: .tiny, seed: seed, threads: threads)
            let plain = zip(trainProblems, train).map {
                SFTExample(prompt: format.promptTokens($0.0.prompt), completion: format.attemptTokens($0.1.reference))
            }
            try demo.supervised(model, examples: plain, steps: settings.pretrainSteps, batch: 64, learningRate: 2e-3,
                                label: "base: addition") { step in
                step >= 200 && step % 10 == 0 ? try demo.validation(model).accuracyT1 >= settings.pretrainTarget : false
            }
            var rng = RandomGenerator(seed: seed &+ 17)
            let exchanges = trainProblems.map {
                task.selfCorrectionExample($0, format: format, firstCorrect: 0.5, secondCorrect: 0.8, maxOffset: 10,
                                           fixedWidth: true, using: &rng)
            }
            try demo.supervised(model, examples: exchanges, steps: settings.baseSteps, batch: settings.baseBatch,
                                learningRate: 2e-3, schedule: .cosine, label: "base: two attempts") { step in
                guard step >= settings.baseMinSteps, step % 5 == 0 else { return false }
                let check = try demo.validation(model)
                return check.accuracyT1 >= settings.baseTarget && check.accuracyT2 >= settings.baseTargetT2
            }
            return model
        }
        return DemoWorkload(title: "tiny model, 2-digit addition", format: format, verifier: ArithmeticVerifier(),
                            train: train, validation: validation, heldOut: heldOut, correctAttempt: { $0.reference },
                            basePhases: 2, makeBase: makeBase,
                            save: { model, url in try model.save(to: url) })
    }
}
