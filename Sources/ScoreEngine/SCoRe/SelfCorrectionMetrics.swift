/// One self-correction episode: the first attempt, the second attempt after the instruction, and
/// what the verifier made of each.
public struct AttemptPair: Sendable {
    /// Verifier reward of attempt 1.
    public var reward1: Float
    /// Verifier reward of attempt 2.
    public var reward2: Float
    /// Whether attempt 1 is correct.
    public var correct1: Bool
    /// Whether attempt 2 is correct.
    public var correct2: Bool
    /// Generated tokens of attempt 1 (the response only, no prompt).
    public var tokens1: [Int]
    /// Generated tokens of attempt 2 (the response only, no prompt).
    public var tokens2: [Int]
    /// Index of the prompt; the k samples drawn for one prompt share it.
    public var group: Int
    /// Whether attempt 1 stopped at the token limit rather than at a stop condition.
    public var truncated1: Bool
    /// Whether attempt 2 stopped at the token limit rather than at a stop condition.
    public var truncated2: Bool

    /// A pair; truncation flags default to false.
    public init(reward1: Float, reward2: Float, correct1: Bool, correct2: Bool, tokens1: [Int], tokens2: [Int],
                group: Int, truncated1: Bool = false, truncated2: Bool = false) {
        self.reward1 = reward1
        self.reward2 = reward2
        self.correct1 = correct1
        self.correct2 = correct2
        self.tokens1 = tokens1
        self.tokens2 = tokens2
        self.group = group
        self.truncated1 = truncated1
        self.truncated2 = truncated2
    }
}

/// The self-correction statistics of the SCoRe paper over a set of attempt pairs, plus training
/// diagnostics. Every fraction is in [0, 1] (multiply by 100 for the paper's percentages); every
/// value is 0 when there are no pairs.
public struct SelfCorrectionMetrics: Codable, Sendable, Equatable {
    /// Number of pairs.
    public var count: Int
    /// Number of distinct groups (prompts).
    public var groupCount: Int
    /// Accuracy@t1: fraction of first attempts that are correct.
    public var accuracyT1: Double
    /// Accuracy@t2: fraction of second attempts that are correct.
    public var accuracyT2: Double
    /// Δ(t1, t2) = accuracyT2 − accuracyT1 (the net gain from self-correction).
    public var delta: Double
    /// Δi→c(t1, t2): fraction of all pairs wrong at t1 and right at t2.
    public var deltaIncorrectToCorrect: Double
    /// Δc→i(t1, t2): fraction of all pairs right at t1 and wrong at t2.
    public var deltaCorrectToIncorrect: Double
    /// Fix rate: of the pairs wrong at t1, the fraction right at t2 (Δi→c / (1 − Acc@t1); 0 when
    /// every first attempt is right).
    public var fixRate: Double
    /// Break rate: of the pairs right at t1, the fraction wrong at t2 (Δc→i / Acc@t1; 0 when no
    /// first attempt is right). Unlike Δc→i it does not grow with Acc@t1 itself.
    public var breakRate: Double
    /// Fraction of pairs whose second attempt's tokens differ from the first's.
    public var changedFraction: Double
    /// Mean over pairs of levenshtein(tokens1, tokens2) / (len1 + len2) (0 for a pair of empty attempts).
    public var editDistanceRatio: Double
    /// Mean reward of first attempts.
    public var rewardMeanT1: Double
    /// Population standard deviation of first-attempt rewards.
    public var rewardStdT1: Double
    /// Mean reward of second attempts.
    public var rewardMeanT2: Double
    /// Population standard deviation of second-attempt rewards.
    public var rewardStdT2: Double
    /// Fraction of groups whose turn-2 rewards are all equal (a one-sample group counts): there a
    /// leave-one-out baseline gives every second attempt zero advantage, so the group carries no
    /// learning signal for the self-correction turn.
    public var zeroVarianceGroupFraction: Double
    /// Mean length of first attempts in tokens.
    public var meanLengthT1: Double
    /// Mean length of second attempts in tokens.
    public var meanLengthT2: Double
    /// Fraction of first attempts cut off at the token limit.
    public var truncationRateT1: Double
    /// Fraction of second attempts cut off at the token limit.
    public var truncationRateT2: Double

    /// The metrics of `pairs`; an empty array gives all zeros.
    public init(pairs: [AttemptPair]) {
        let n = Double(max(pairs.count, 1))
        func fraction(_ predicate: (AttemptPair) -> Bool) -> Double {
            Double(pairs.reduce(0) { $0 + (predicate($1) ? 1 : 0) }) / n
        }
        func mean(_ value: (AttemptPair) -> Double) -> Double {
            pairs.reduce(0) { $0 + value($1) } / n
        }
        func populationStd(_ value: (AttemptPair) -> Double, mean: Double) -> Double {
            (pairs.reduce(0) { $0 + (value($1) - mean) * (value($1) - mean) } / n).squareRoot()
        }

        count = pairs.count
        let correct1 = pairs.reduce(0) { $0 + ($1.correct1 ? 1 : 0) }
        let correct2 = pairs.reduce(0) { $0 + ($1.correct2 ? 1 : 0) }
        accuracyT1 = Double(correct1) / n
        accuracyT2 = Double(correct2) / n
        delta = Double(correct2 - correct1) / n
        deltaIncorrectToCorrect = fraction { !$0.correct1 && $0.correct2 }
        deltaCorrectToIncorrect = fraction { $0.correct1 && !$0.correct2 }
        fixRate = Self.rate(deltaIncorrectToCorrect, of: 1 - accuracyT1)
        breakRate = Self.rate(deltaCorrectToIncorrect, of: accuracyT1)
        changedFraction = fraction { $0.tokens1 != $0.tokens2 }
        editDistanceRatio = mean { EditDistance.ratio($0.tokens1, $0.tokens2) }
        rewardMeanT1 = mean { Double($0.reward1) }
        rewardStdT1 = populationStd({ Double($0.reward1) }, mean: rewardMeanT1)
        rewardMeanT2 = mean { Double($0.reward2) }
        rewardStdT2 = populationStd({ Double($0.reward2) }, mean: rewardMeanT2)
        meanLengthT1 = mean { Double($0.tokens1.count) }
        meanLengthT2 = mean { Double($0.tokens2.count) }
        truncationRateT1 = fraction(\.truncated1)
        truncationRateT2 = fraction(\.truncated2)

        var turn2RewardsByGroup = [Int: (first: Float, allEqual: Bool)]()
        for pair in pairs {
            if let seen = turn2RewardsByGroup[pair.group] {
                turn2RewardsByGroup[pair.group] = (seen.first, seen.allEqual && pair.reward2 == seen.first)
            } else {
                turn2RewardsByGroup[pair.group] = (pair.reward2, true)
            }
        }
        groupCount = turn2RewardsByGroup.count
        let zeroVariance = turn2RewardsByGroup.values.filter(\.allEqual).count
        zeroVarianceGroupFraction = groupCount == 0 ? 0 : Double(zeroVariance) / Double(groupCount)
    }

    /// `part / whole`, 0 when `whole` is 0.
    static func rate(_ part: Double, of whole: Double) -> Double { whole > 0 ? part / whole : 0 }

    enum CodingKeys: String, CodingKey {
        case count, groupCount, accuracyT1, accuracyT2, delta, deltaIncorrectToCorrect, deltaCorrectToIncorrect
        case fixRate, breakRate, changedFraction, editDistanceRatio, rewardMeanT1, rewardStdT1, rewardMeanT2
        case rewardStdT2, zeroVarianceGroupFraction, meanLengthT1, meanLengthT2, truncationRateT1, truncationRateT2
    }

    /// Decodes; the fix and break rates, absent from metrics written before they existed, are
    /// derived from the accuracies and flips.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decode(Int.self, forKey: .count)
        groupCount = try c.decode(Int.self, forKey: .groupCount)
        accuracyT1 = try c.decode(Double.self, forKey: .accuracyT1)
        accuracyT2 = try c.decode(Double.self, forKey: .accuracyT2)
        delta = try c.decode(Double.self, forKey: .delta)
        deltaIncorrectToCorrect = try c.decode(Double.self, forKey: .deltaIncorrectToCorrect)
        deltaCorrectToIncorrect = try c.decode(Double.self, forKey: .deltaCorrectToIncorrect)
        fixRate = try c.decodeIfPresent(Double.self, forKey: .fixRate)
            ?? Self.rate(deltaIncorrectToCorrect, of: 1 - accuracyT1)
        breakRate = try c.decodeIfPresent(Double.self, forKey: .breakRate)
            ?? Self.rate(deltaCorrectToIncorrect, of: accuracyT1)
        changedFraction = try c.decode(Double.self, forKey: .changedFraction)
        editDistanceRatio = try c.decode(Double.self, forKey: .editDistanceRatio)
        rewardMeanT1 = try c.decode(Double.self, forKey: .rewardMeanT1)
        rewardStdT1 = try c.decode(Double.self, forKey: .rewardStdT1)
        rewardMeanT2 = try c.decode(Double.self, forKey: .rewardMeanT2)
        rewardStdT2 = try c.decode(Double.self, forKey: .rewardStdT2)
        zeroVarianceGroupFraction = try c.decode(Double.self, forKey: .zeroVarianceGroupFraction)
        meanLengthT1 = try c.decode(Double.self, forKey: .meanLengthT1)
        meanLengthT2 = try c.decode(Double.self, forKey: .meanLengthT2)
        truncationRateT1 = try c.decode(Double.self, forKey: .truncationRateT1)
        truncationRateT2 = try c.decode(Double.self, forKey: .truncationRateT2)
    }
}
