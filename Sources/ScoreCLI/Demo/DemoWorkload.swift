import Foundation
import ScoreEngine

/// What a demo trains and evaluates: the two-attempt format, the verifier, the problems, and how
/// the base every row starts from is made and saved.
struct DemoWorkload {
    /// One line for the banner ("tiny model, 2-digit addition").
    let title: String
    let format: SelfCorrectionFormat
    let verifier: any Verifier
    /// Problems every method trains on.
    let train: [SelfCorrectionProblem]
    /// Training-split problems set aside to check the base while it is built (never held out).
    let validation: [SelfCorrectionProblem]
    /// Problems every row is evaluated on.
    let heldOut: [SelfCorrectionProblem]
    /// A correct attempt for a problem, as the supervised baselines (Pair-SFT) train it: in the
    /// answer format of the base (the reference itself for the tiny model).
    let correctAttempt: (SelfCorrectionProblem) -> String
    /// How many progress phases `makeBase` announces.
    let basePhases: Int
    /// Builds the base (announcing its phases through the demo).
    let makeBase: (SelfCorrectionDemo) throws -> Transformer
    /// Writes a model of this workload as a folder that loads back.
    let save: (Transformer, URL) throws -> Void
}
