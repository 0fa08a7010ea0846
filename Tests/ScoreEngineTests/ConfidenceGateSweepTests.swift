import Foundation
import Testing
@testable import ScoreEngine

/// The gate sweep gives, at every threshold, what generating with that gate gives.
struct ConfidenceGateSweepTests {
    typealias T = SelfCorrectTests

    @Test func eachThresholdEqualsAGatedRun() throws {
        let model = try T.model(), format = try T.format()
        let problems = T.prompts.map { SelfCorrectionProblem(prompt: $0, reference: "3") }
        let verifier = AttemptsTests.verifier
        let sweep = try ConfidenceGateSweep(model: model, problems: problems, format: format, verifier: verifier,
                                            maxNewTokens: 6, batchSize: 3)
        #expect(sweep.count == problems.count)
        for measure in ConfidenceMeasure.allCases {
            let confidences = try #require(sweep.confidences[measure])
            for threshold in [nil, 0, 0.2, confidences[1], 0.9, 1.01] as [Float?] {
                let options = SelfCorrectOptions(maxNewTokens: 6, gate: threshold, confidence: measure)
                let (results, skipped) = try model.selfCorrect(problems.map(\.prompt), format: format, options: options)
                let rewards = try verifier.checkedScores(zip(results, problems).map {
                    VerifierItem(prompt: $1.prompt, response: $0.finalText, reference: $1.reference)
                })
                let n = Double(problems.count)
                let expected = ConfidenceGateSweep.Point(
                    accuracy: Double(rewards.filter { $0 >= 0.5 }.count) / n,
                    revisedFraction: Double(problems.count - skipped) / n,
                    tokensPerProblem: Double(results.reduce(0) { $0 + $1.attempt1.tokens.count + ($1.attempt2?.tokens.count ?? 0) }) / n)
                #expect(sweep.point(measure, threshold: threshold) == expected, "\(measure) at \(String(describing: threshold))")
            }
            let bins = sweep.editsByConfidence(measure, bins: 2)
            #expect(bins.count == 2 && bins[0].high <= bins[1].low)
            #expect(bins.allSatisfy { (0...1).contains($0.changed) })
        }
        #expect(sweep.point(.meanProbability, threshold: 0).revisedFraction == 0)
        #expect(sweep.point(.meanProbability, threshold: nil).revisedFraction == 1)
    }
}
