import Foundation
import ScoreEngine

extension DemoWorkload {
    /// The built-in demo: a tiny model from scratch on 2-digit (or `settings.digits`-digit) addition
    /// with the byte tokenizer.
    /// The base is trained on single-turn addition until validation Acc@t1 reaches
    /// `pretrainTarget`; its own first attempts (sampled at temperature 1) are then followed by
    /// second attempts that keep a right one (probability `baseKeep`) and fix a wrong one
    /// (`baseFix`), otherwise give another wrong answer, and the base learns those second attempts
    /// until validation Acc@t2 reaches `baseTargetT2`: an early-stopped, imperfect base whose
    /// mistakes are its own and whose second attempt depends on its first. A base that misses a
    /// target stops the demo.
    static func arithmetic(settings: DemoSettings, seed: UInt64, threads: Int) throws -> DemoWorkload {
        let task = try ArithmeticTask(options: ArithmeticTaskOptions(digits: settings.digits))
        let format = try SelfCorrectionFormat(tokenizer: ByteTokenizer(), instruction: settings.instruction)
        func problem(_ p: ArithmeticProblem) -> SelfCorrectionProblem {
            SelfCorrectionProblem(prompt: p.prompt, reference: task.answerText(p.a + p.b, fixedWidth: true))
        }
        var splitRNG = RandomGenerator(seed: 0xBA5E)
        let shuffled = task.problems(.train).shuffled(using: &splitRNG)
        let validation = shuffled.prefix(settings.validationCount).map(problem)
        // Answers fixed-width (46 → "046").
        let trainProblems = Array(shuffled.dropFirst(settings.validationCount).prefix(settings.trainLimit))
            .sorted { ($0.a, $0.b) < ($1.a, $1.b) }
        let train = trainProblems.map(problem)
        // A fixed random sample of the held-out split, the same for every seed.
        var heldRNG = RandomGenerator(seed: 0x7E57)
        let heldOut = Array(task.problems(.test).shuffled(using: &heldRNG).prefix(settings.evalCount)).map(problem)
        let verifier = ArithmeticVerifier()

        func makeBase(_ demo: SelfCorrectionDemo) throws -> Transformer {
            let model = try Transformer(config: settings.model, seed: seed, threads: threads)
            let plain = zip(trainProblems, train).map {
                SFTExample(prompt: format.promptTokens($0.0.prompt), completion: format.attemptTokens($0.1.reference))
            }
            let pretrained = try demo.supervised(
                model, examples: plain, steps: settings.pretrainSteps, batch: 64, learningRate: 2e-3,
                label: "base: addition"
            ) { step in
                step >= 200 && step % 10 == 0 ? try demo.validationAccuracyT1(model) >= settings.pretrainTarget : false
            }
            guard pretrained else {
                let reached = try demo.validationAccuracyT1(model)
                throw DemoError.baseMissedTarget(seed: seed, detail: String(
                    format: "plain addition reached %.1f%% validation Acc@t1 in %d steps (target %.0f%%)",
                    100 * reached, settings.pretrainSteps, 100 * settings.pretrainTarget))
            }
            var rng = RandomGenerator(seed: seed &+ 17)
            let exchanges = try SelfCorrectionSFTData.dependentCorrections(
                model: model, problems: train, format: format, verifier: verifier, temperature: 1,
                maxNewTokens: settings.maxNewTokens, keep: settings.baseKeep, fix: settings.baseFix, generator: &rng
            ) { problem, rng in
                // The reference is the sum, zero-padded ("046").
                task.wrongAnswer(sum: Int(problem.reference) ?? 0, maxOffset: 10, fixedWidth: true, using: &rng)
            }
            var last = SelfCorrectionMetrics(pairs: [])
            let based = try demo.supervised(
                model, examples: exchanges, steps: settings.baseSteps, batch: settings.baseBatch, learningRate: 2e-3,
                schedule: .cosine, label: "base: two attempts"
            ) { step in
                guard step >= settings.baseMinSteps, step % 5 == 0 else { return false }
                last = try demo.validation(model)
                return last.accuracyT1 >= settings.baseTarget && last.accuracyT2 >= settings.baseTargetT2
                    && last.fixRate >= settings.baseTargetFix
            }
            guard based else {
                throw DemoError.baseMissedTarget(seed: seed, detail: String(
                    format: "two-attempt training reached validation Acc@t1 %.1f%%, Acc@t2 %.1f%% and fix rate %.1f%% "
                        + "in %d steps (targets %.0f%%, %.0f%% and %.0f%%)", 100 * last.accuracyT1, 100 * last.accuracyT2,
                    100 * last.fixRate, settings.baseSteps, 100 * settings.baseTarget, 100 * settings.baseTargetT2,
                    100 * settings.baseTargetFix))
            }
            return model
        }
        let size = settings.model.parameterCount.map { " (\($0) parameters)" } ?? ""
        return DemoWorkload(title: "tiny model\(size), \(settings.digits)-digit addition", format: format, verifier: verifier,
                            train: train, validation: validation, heldOut: heldOut, correctAttempt: { $0.reference },
                            basePhases: 2, makeBase: makeBase,
                            save: { model, url in try model.save(to: url) })
    }
}
