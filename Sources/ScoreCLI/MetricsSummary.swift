import Foundation
import ScoreEngine

extension SelfCorrectionMetrics {
    /// One line of an evaluation's figures: "N problems (protocol): Acc@t1 … edit …", in %.
    func summary(protocol name: String) -> String {
        String(format: "%d problems (%@): Acc@t1 %.1f  Acc@t2 %.1f  Δ %+.1f  Δi→c %.1f  Δc→i %.1f  "
               + "fix %.1f  break %.1f  edit %.3f",
               count, name, 100 * accuracyT1, 100 * accuracyT2, 100 * delta, 100 * deltaIncorrectToCorrect,
               100 * deltaCorrectToIncorrect, 100 * fixRate, 100 * breakRate, editDistanceRatio)
    }
}
