import ScoreEngine

/// Sizes of the demo's phases; `quick` runs only the base and SCoRe, smaller.
struct DemoSettings {
    var instruction = "Check the answer and fix it if wrong."
    var pretrainSteps = 600
    var baseSteps = 100
    var baseBatch = 64
    var stageISteps = 100
    var stageIISteps = 60
    var pairSFTSteps = 100
    var starRounds = 2
    var starStepsPerRound = 50
    var dataProblems = 1024
    var selfRefineRounds = 2
    var evalCount = 500
    var plotEvery = 20
    var plotProblems = 200
    var maxNewTokens = 8

    static func quick() -> DemoSettings {
        var settings = DemoSettings()
        settings.stageISteps = 60
        settings.stageIISteps = 30
        return settings
    }

    /// RL options shared by every RL row; the row sets the plan and shaping.
    func rlOptions(seed: UInt64) -> SCoReOptions {
        var options = SCoReOptions()
        options.maxNewTokens = maxNewTokens
        options.seed = seed
        return options
    }
}
