import Foundation
import Testing
@testable import ScoreEngine

/// Self-correction metrics, the edit distance behind them, and the JSON-lines log.
struct MetricsTests {
    private func pair(_ correct1: Bool, _ correct2: Bool, group: Int = 0, tokens1: [Int] = [1], tokens2: [Int] = [1],
                      truncated1: Bool = false, truncated2: Bool = false) -> AttemptPair {
        AttemptPair(reward1: correct1 ? 1 : 0, reward2: correct2 ? 1 : 0, correct1: correct1, correct2: correct2,
                    tokens1: tokens1, tokens2: tokens2, group: group, truncated1: truncated1, truncated2: truncated2)
    }

    private func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    @Test func paperStatistics() {
        // 4 right→right, 3 wrong→right, 1 right→wrong, 2 wrong→wrong.
        let pairs = Array(repeating: pair(true, true), count: 4) + Array(repeating: pair(false, true), count: 3)
            + [pair(true, false)] + Array(repeating: pair(false, false), count: 2)
        let metrics = SelfCorrectionMetrics(pairs: pairs)
        #expect(metrics.count == 10)
        #expect(close(metrics.accuracyT1, 0.5) && close(metrics.accuracyT2, 0.7))
        #expect(close(metrics.delta, 0.2))
        #expect(close(metrics.deltaIncorrectToCorrect, 0.3) && close(metrics.deltaCorrectToIncorrect, 0.1))
        #expect(close(metrics.delta, metrics.deltaIncorrectToCorrect - metrics.deltaCorrectToIncorrect))
        #expect(close(metrics.rewardMeanT1, 0.5) && close(metrics.rewardStdT1, 0.5))
        #expect(close(metrics.rewardMeanT2, 0.7) && close(metrics.rewardStdT2, (0.21).squareRoot()))
        #expect(close(metrics.fixRate, 0.6) && close(metrics.breakRate, 0.2))
    }

    @Test func fixAndBreakRatesWithoutTheirDenominators() throws {
        let allRight = SelfCorrectionMetrics(pairs: [pair(true, true), pair(true, false)])
        #expect(allRight.fixRate == 0 && close(allRight.breakRate, 0.5))
        let allWrong = SelfCorrectionMetrics(pairs: [pair(false, true), pair(false, false)])
        #expect(allWrong.breakRate == 0 && close(allWrong.fixRate, 0.5))
        // Metrics written before the rates existed decode with them derived.
        let metrics = SelfCorrectionMetrics(pairs: [pair(true, false), pair(false, true), pair(false, false), pair(true, true)])
        var object = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(metrics)) as? [String: Any])
        #expect(object["fixRate"] != nil)
        object["fixRate"] = nil
        object["breakRate"] = nil
        let decoded = try JSONDecoder().decode(SelfCorrectionMetrics.self,
                                               from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded == metrics)
    }

    @Test func attemptOutcomesCodeAndRates() throws {
        let pairs = [pair(true, true), pair(false, true), pair(true, false), pair(false, false), pair(false, true)]
        let outcomes = AttemptOutcomes(pairs: pairs)
        #expect(outcomes.code == "31201")
        #expect(AttemptOutcomes(code: outcomes.code) == outcomes)
        #expect(AttemptOutcomes(code: "3140") == nil && AttemptOutcomes(code: "31a") == nil)
        let rates = outcomes.rates(at: Array(0..<5))
        let metrics = SelfCorrectionMetrics(pairs: pairs)
        #expect(close(rates.accuracyT1, metrics.accuracyT1) && close(rates.accuracyT2, metrics.accuracyT2))
        #expect(close(rates.delta, metrics.delta) && close(rates.fixRate, metrics.fixRate)
                && close(rates.breakRate, metrics.breakRate))
        // Repeated indices count as often as they are drawn.
        #expect(close(outcomes.rates(at: [1, 1, 3]).fixRate, 2.0 / 3.0))
    }

    @Test func pairedBootstrapKeepsRowsOnTheSameProblems() throws {
        var generator = RandomGenerator(seed: 5)
        func run(_ n: Int) -> [AttemptOutcomes] {
            let base = (0..<n).map { _ in pair(generator.nextIndex(below: 3) == 0, generator.nextIndex(below: 3) == 0) }
            // The second row fixes one more problem than the first, on the same problems.
            var better = base
            if let wrong = better.firstIndex(where: { !$0.correct2 }) { better[wrong].correct2 = true }
            return [AttemptOutcomes(pairs: base), AttemptOutcomes(pairs: better)]
        }
        let runs = [run(40), run(60), run(50)]
        let samples = try PairedBootstrap.resample(runs: runs, resamples: 400, seed: 9)
        #expect(samples.count == 400 && samples.allSatisfy { $0.count == 2 })
        // Paired: the better row is never behind in any resample, and ahead in some.
        #expect(samples.allSatisfy { $0[1].accuracyT2 >= $0[0].accuracyT2 })
        #expect(samples.contains { $0[1].accuracyT2 > $0[0].accuracyT2 })
        // The interval covers the runs' mean and has width.
        let point = runs.map { $0[0].rates(at: Array(0..<$0[0].count)).accuracyT2 }.reduce(0, +) / 3
        let interval = PairedBootstrap.interval(samples.map { $0[0].accuracyT2 })
        #expect(interval.contains(point) && interval.upperBound > interval.lowerBound)
        // The same seed gives the same resamples.
        #expect(try PairedBootstrap.resample(runs: runs, resamples: 400, seed: 9) == samples)
        // Runs whose rows disagree are refused.
        #expect(throws: ScoreError.self) { try PairedBootstrap.resample(runs: [runs[0], [runs[1][0]]], resamples: 1, seed: 1) }
        #expect(throws: ScoreError.self) { try PairedBootstrap.resample(runs: [[runs[0][0], runs[1][0]]], resamples: 1, seed: 1) }
        #expect(PairedBootstrap.interval([3, 1, 2, 5, 4, 6, 8, 7, 9, 10], confidence: 0.8) == 2...9)
    }

    @Test func editDistance() {
        #expect(EditDistance.levenshtein(Array("kitten".utf8), Array("sitting".utf8)) == 3)
        #expect(EditDistance.levenshtein(Array("sitting".utf8), Array("kitten".utf8)) == 3)
        #expect(EditDistance.levenshtein(Array("flaw".utf8), Array("lawn".utf8)) == 2)
        #expect(EditDistance.levenshtein([Int](), [1, 2, 3]) == 3)
        #expect(EditDistance.levenshtein([1, 2, 3], [Int]()) == 3)
        #expect(EditDistance.levenshtein([Int](), [Int]()) == 0)
        #expect(EditDistance.levenshtein([1, 2, 3], [1, 2, 3]) == 0)
        #expect(EditDistance.levenshtein([1, 2, 3], [4, 5, 6]) == 3)
        #expect(EditDistance.levenshtein([1, 2, 3, 4], [1, 9, 4]) == 2)
        #expect(close(EditDistance.ratio(Array("kitten".utf8), Array("sitting".utf8)), 3.0 / 13.0))
        #expect(EditDistance.ratio([Int](), [Int]()) == 0)
        #expect(EditDistance.ratio([1, 2], [Int]()) == 1)
    }

    @Test func editDistanceAgreesWithFullTable() {
        var generator = RandomGenerator(seed: 11)
        for _ in 0..<50 {
            let a = (0..<generator.nextIndex(below: 12)).map { _ in generator.nextIndex(below: 3) }
            let b = (0..<generator.nextIndex(below: 12)).map { _ in generator.nextIndex(below: 3) }
            var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { table[i][0] = i }
            for j in 0...b.count { table[0][j] = j }
            for i in stride(from: 1, through: a.count, by: 1) {
                for j in stride(from: 1, through: b.count, by: 1) {
                    table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1,
                                      table[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
            }
            #expect(EditDistance.levenshtein(a, b) == table[a.count][b.count], "\(a) \(b)")
        }
    }

    @Test func changeLengthAndTruncation() {
        let pairs = [
            pair(true, true, tokens1: [1, 2, 3], tokens2: [1, 2, 3]),                   // unchanged: ratio 0
            pair(false, true, tokens1: [1, 2, 3], tokens2: [1, 5, 3], truncated2: true), // 1 / 6
            pair(false, false, tokens1: [], tokens2: [], truncated1: true),              // both empty: 0
            pair(false, false, tokens1: [7, 7], tokens2: []),                            // 2 / 2
        ]
        let metrics = SelfCorrectionMetrics(pairs: pairs)
        #expect(close(metrics.changedFraction, 0.5))
        #expect(close(metrics.editDistanceRatio, (0 + 1.0 / 6.0 + 0 + 1) / 4))
        #expect(close(metrics.meanLengthT1, 2) && close(metrics.meanLengthT2, 1.5))
        #expect(close(metrics.truncationRateT1, 0.25) && close(metrics.truncationRateT2, 0.25))
    }

    @Test func zeroVarianceGroupsUseTurnTwoRewards() {
        let pairs = [
            pair(true, true, group: 0), pair(false, true, group: 0),    // turn-2 all 1: zero variance
            pair(true, true, group: 1), pair(true, false, group: 1),    // mixed turn 2
            pair(false, false, group: 2), pair(false, false, group: 2), // all 0: zero variance
            pair(true, false, group: 3),                                // one sample: zero variance
        ]
        let metrics = SelfCorrectionMetrics(pairs: pairs)
        #expect(metrics.groupCount == 4)
        #expect(close(metrics.zeroVarianceGroupFraction, 0.75))
        var graded = pairs
        graded[0].reward2 = 0.5
        #expect(close(SelfCorrectionMetrics(pairs: graded).zeroVarianceGroupFraction, 0.5))
    }

    @Test func emptyInputIsAllZeros() throws {
        let metrics = SelfCorrectionMetrics(pairs: [])
        #expect(metrics.count == 0 && metrics.groupCount == 0)
        let values = [metrics.accuracyT1, metrics.accuracyT2, metrics.delta, metrics.deltaIncorrectToCorrect,
                      metrics.deltaCorrectToIncorrect, metrics.changedFraction, metrics.editDistanceRatio,
                      metrics.rewardMeanT1, metrics.rewardStdT1, metrics.rewardMeanT2, metrics.rewardStdT2,
                      metrics.zeroVarianceGroupFraction, metrics.meanLengthT1, metrics.meanLengthT2,
                      metrics.truncationRateT1, metrics.truncationRateT2]
        #expect(values.allSatisfy { $0 == 0 })
        let decoded = try JSONDecoder().decode(SelfCorrectionMetrics.self, from: JSONEncoder().encode(metrics))
        #expect(decoded == metrics)
    }

    // MARK: JSON lines

    private struct Record: Codable, Equatable {
        var step: Int
        var loss: Float
        var name: String
    }

    @Test func metricsLogRoundTrip() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("metrics-log-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("nested/metrics.jsonl")
        let records = [Record(step: 1, loss: 2.5, name: "a/b"), Record(step: 2, loss: 1.25, name: "line\nbreak")]

        let log = try MetricsLog(url: url)
        for record in records { try log.write(record) }
        let partial = try String(contentsOf: url, encoding: .utf8)
        #expect(partial.hasSuffix("\n"))
        log.close()
        #expect(throws: ScoreError.self) { try log.write(records[0]) }

        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first == #"{"loss":2.5,"name":"a/b","step":1}"#)
        let decoded = try lines.map { try JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
        #expect(decoded == records)

        let reopened = try MetricsLog(url: url)
        try reopened.write(records[1])
        reopened.close()
        #expect(try String(contentsOf: url, encoding: .utf8).split(separator: "\n").count == 1)
        #expect(throws: ScoreError.self) { try MetricsLog(url: url).write(Float.nan) }
    }
}
