/// Whether each problem's two attempts were right, in problem order: what a table row keeps so
/// that rows and runs can be compared problem by problem.
public struct AttemptOutcomes: Sendable, Equatable {
    public var correct1: [Bool]
    public var correct2: [Bool]

    /// The outcomes of `pairs`, in their order.
    public init(pairs: [AttemptPair]) {
        correct1 = pairs.map(\.correct1)
        correct2 = pairs.map(\.correct2)
    }

    /// Outcomes from their `code`; nil when it holds a character other than 0–3.
    public init?(code: String) {
        var first = [Bool](), second = [Bool]()
        for character in code {
            guard let value = character.wholeNumberValue, (0...3).contains(value) else { return nil }
            first.append(value >= 2)
            second.append(value % 2 == 1)
        }
        correct1 = first
        correct2 = second
    }

    /// One digit per problem: 2·(attempt 1 right) + (attempt 2 right), so 1 is a fix and 2 a break.
    public var code: String {
        String(zip(correct1, correct2).map { Character(String(($0 ? 2 : 0) + ($1 ? 1 : 0))) })
    }

    public var count: Int { correct1.count }

    /// The rates over the problems at `indices` (with repeats, as a bootstrap draws them).
    public func rates(at indices: [Int]) -> OutcomeRates {
        var right1 = 0, right2 = 0, fixed = 0, broken = 0
        for i in indices {
            let c1 = correct1[i], c2 = correct2[i]
            if c1 { right1 += 1 }
            if c2 { right2 += 1 }
            if !c1 && c2 { fixed += 1 }
            if c1 && !c2 { broken += 1 }
        }
        let n = Double(max(1, indices.count))
        return OutcomeRates(
            accuracyT1: Double(right1) / n, accuracyT2: Double(right2) / n, delta: Double(right2 - right1) / n,
            fixRate: indices.count > right1 ? Double(fixed) / Double(indices.count - right1) : 0,
            breakRate: right1 > 0 ? Double(broken) / Double(right1) : 0)
    }
}

/// Accuracies, Δ and the fix and break rates of a set of problems, as fractions.
public struct OutcomeRates: Sendable, Equatable {
    public var accuracyT1, accuracyT2, delta, fixRate, breakRate: Double

    /// The element-wise mean of `rates` (zeros for none).
    public static func mean(_ rates: [OutcomeRates]) -> OutcomeRates {
        let n = Double(max(1, rates.count))
        func average(_ value: (OutcomeRates) -> Double) -> Double { rates.reduce(0) { $0 + value($1) } / n }
        return OutcomeRates(accuracyT1: average(\.accuracyT1), accuracyT2: average(\.accuracyT2),
                            delta: average(\.delta), fixRate: average(\.fixRate), breakRate: average(\.breakRate))
    }
}

/// Paired bootstrap over runs (seeds) and problems: each resample draws runs with replacement and,
/// within each drawn run, its problems with replacement; every row of a run is measured on the same
/// drawn problems, so differences between rows keep their pairing. A row's statistic is the mean
/// over the drawn runs, as the tables report it.
public enum PairedBootstrap {
    /// `runs[s][r]` holds row r of run s; all rows of a run cover the same problems. Returns, for
    /// each of `resamples` resamples, each row's mean rates. Throws `invalidArgument` when a run
    /// has no rows, rows disagree in number, or a run's rows cover different numbers of problems.
    public static func resample(runs: [[AttemptOutcomes]], resamples: Int, seed: UInt64) throws -> [[OutcomeRates]] {
        guard let rowCount = runs.first?.count, rowCount > 0, resamples > 0 else {
            throw ScoreError.invalidArgument("bootstrap: needs at least one run with rows and one resample")
        }
        for (s, run) in runs.enumerated() {
            guard run.count == rowCount else {
                throw ScoreError.invalidArgument("bootstrap: run \(s) has \(run.count) rows, run 0 has \(rowCount)")
            }
            guard let n = run.first?.count, n > 0, run.allSatisfy({ $0.count == n }) else {
                throw ScoreError.invalidArgument("bootstrap: the rows of run \(s) cover different or no problems")
            }
        }
        var generator = RandomGenerator(seed: seed)
        var result = [[OutcomeRates]]()
        result.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var perRow = [[OutcomeRates]](repeating: [], count: rowCount)
            for _ in runs.indices {
                let run = runs[generator.nextIndex(below: runs.count)]
                let problems = run[0].count
                let indices = (0..<problems).map { _ in generator.nextIndex(below: problems) }
                for r in 0..<rowCount { perRow[r].append(run[r].rates(at: indices)) }
            }
            result.append(perRow.map(OutcomeRates.mean))
        }
        return result
    }

    /// The central `confidence` interval of `values` by percentiles: as many values are left out
    /// below as above, ⌊(1 − confidence)/2 · n⌋ on each side.
    public static func interval(_ values: [Double], confidence: Double = 0.9) -> ClosedRange<Double> {
        guard !values.isEmpty else { return 0...0 }
        let sorted = values.sorted()
        let tail = min((sorted.count - 1) / 2, max(0, Int(((1 - confidence) / 2 * Double(sorted.count) + 1e-9).rounded(.down))))
        return sorted[tail]...sorted[sorted.count - 1 - tail]
    }
}
