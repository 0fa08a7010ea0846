import Foundation
import ScoreEngine

extension DemoWorkload {
    /// A pretrained model (a GGUF file or a model folder) on a task's problems. The base every row
    /// starts from is the model as loaded, after `settings.formatSFTSteps` steps of supervised
    /// fine-tuning on `formatExamples` (problems outside the training and held-out sets, answered
    /// in the verifier's format) when there are any, so that the table measures correcting, not
    /// learning the answer format.
    static func pretrained(
        bundle: ModelBundle, title: String, verifier: any Verifier, train: [SelfCorrectionProblem],
        validation: [SelfCorrectionProblem], heldOut: [SelfCorrectionProblem], formatExamples: [SelfCorrectionProblem],
        correctAttempt: @escaping (SelfCorrectionProblem) -> String = { $0.reference }, settings: DemoSettings
    ) throws -> DemoWorkload {
        let format = try bundle.format(instruction: settings.pretrainedInstruction)
        let formatSFT = settings.formatSFTSteps > 0 && !formatExamples.isEmpty
        func makeBase(_ demo: SelfCorrectionDemo) throws -> Transformer {
            let model = bundle.model.copy()
            guard formatSFT else { return model }
            let examples = formatExamples.map {
                SFTExample(prompt: format.promptTokens($0.prompt), completion: format.attemptTokens(correctAttempt($0)))
            }
            try demo.supervised(model, examples: examples, steps: settings.formatSFTSteps, batch: settings.sftBatch,
                                learningRate: settings.sftLearningRate, label: "base: answer format")
            return model
        }
        func save(_ model: Transformer, _ url: URL) throws {
            try ModelBundle(model: model, tokenizer: bundle.tokenizer, template: bundle.template,
                            generationDefaults: bundle.generationDefaults, source: bundle.source,
                            tokenizerFiles: bundle.tokenizerFiles).save(to: url)
        }
        return DemoWorkload(title: title, format: format, verifier: verifier, train: train, validation: validation,
                            heldOut: heldOut, correctAttempt: correctAttempt, basePhases: formatSFT ? 1 : 0, makeBase: makeBase, save: save)
    }
}
