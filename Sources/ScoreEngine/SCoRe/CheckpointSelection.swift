/// Which of a run's checkpoints is kept at its end.
public enum CheckpointSelection: String, Codable, Sendable, CaseIterable {
    /// The weights after the last step.
    case last
    /// The checkpoint with the highest greedy Acc@t2 on held-apart validation problems.
    case validation
    /// The checkpoint with the highest mean training reward of attempt 2 (of attempt 1 in
    /// single-turn runs) over the steps since the previous check: the paper's choice, needing no
    /// validation set.
    case trainingReward
}

/// Checks a run's checkpoints every `every` steps (and after the last) and keeps the best by its
/// `selection`; `finish` puts it back into the model. With `.last` it does nothing.
public struct CheckpointSelector {
    public let selection: CheckpointSelection
    public let every: Int
    /// Score of the model as it is now, for `.validation` (greedy Acc@t2 on validation problems).
    let validationScore: (Transformer) throws -> Double
    public let best = BestCheckpoint()
    private var rewardSum = 0.0, rewardSteps = 0

    /// Throws `invalidArgument` for `every` < 1, or `.validation` without `validationScore`.
    public init(selection: CheckpointSelection, every: Int,
                validationScore: ((Transformer) throws -> Double)? = nil) throws {
        guard every >= 1 else { throw ScoreError.invalidArgument("checkpoints are checked every >= 1 steps (got \(every))") }
        if selection == .validation && validationScore == nil {
            throw ScoreError.invalidArgument("selecting the checkpoint by validation needs validation problems")
        }
        self.selection = selection
        self.every = every
        self.validationScore = validationScore ?? { _ in 0 }
    }

    /// Records a finished step of `model`; checks the checkpoint when the step is due or the last.
    public mutating func record(_ stats: SCoReStepStats, model: Transformer, isLast: Bool) throws {
        guard selection != .last else { return }
        rewardSum += stats.metrics.rewardMeanT2
        rewardSteps += 1
        guard stats.step % every == 0 || isLast else { return }
        let score = selection == .validation ? try validationScore(model) : rewardSum / Double(rewardSteps)
        best.observe(score, step: stats.step, model: model)
        rewardSum = 0
        rewardSteps = 0
    }

    /// Puts the selected checkpoint into `model`; returns its step (nil with `.last`).
    @discardableResult
    public func finish(_ model: Transformer) throws -> Int? {
        guard selection != .last else { return nil }
        try best.restore(into: model)
        return best.bestStep
    }
}

/// A copy of the best trained values seen so far in a run (the LoRA adapters when the model has
/// them, else every weight), to put back at its end.
public final class BestCheckpoint {
    /// Score and step (1-based, 0 for the starting weights) of the best checkpoint so far.
    public private(set) var bestScore = -Double.infinity
    public private(set) var bestStep = 0
    private var values: FloatBuffer?

    public init() {}

    /// Copies `model`'s trained values when `score` is above the best so far (ties keep the
    /// earlier checkpoint). A non-finite score is ignored.
    public func observe(_ score: Double, step: Int, model: Transformer) {
        guard score.isFinite, score > bestScore else { return }
        let trained = Self.trainedValues(of: model)
        if values?.count != trained.count { values = FloatBuffer(count: trained.count) }
        values?.copy(from: trained)
        bestScore = score
        bestStep = step
    }

    /// Puts the best checkpoint's values back into `model` (unchanged when nothing was observed).
    /// Throws `invalidArgument` when `model` no longer has the shape of the values kept.
    public func restore(into model: Transformer) throws {
        guard let values else { return }
        let trained = Self.trainedValues(of: model)
        guard trained.count == values.count else {
            throw ScoreError.invalidArgument(
                "the best checkpoint holds \(values.count) values, the model trains \(trained.count)")
        }
        trained.copy(from: values)
    }

    static func trainedValues(of model: Transformer) -> FloatBuffer {
        model.adapters?.parameters ?? model.parameters
    }
}
