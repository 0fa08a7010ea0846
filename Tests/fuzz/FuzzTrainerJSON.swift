import Foundation

extension Fuzz {
    /// A SCoRe state folder's `trainer.json`: read and validated as `SCoReTrainer.resume` reads it,
    /// then the quantities a resumed trainer derives from the saved options before its first step
    /// (whether the plan is finished, the stage of the next step, episodes per prompt).
    static let trainerJSONTarget = FuzzTarget(
        name: "trainer_json", summary: "a SCoRe trainer.json: SCoReSavedState.read, then the resumed plan's arithmetic"
    ) { data in
        let url = file(SCoReTrainer.stateFileName, data)
        guard let state = attempt("SCoReSavedState.read", { try SCoReSavedState.read(from: url) }) else { return }
        let options = state.options
        consume(state.completedSteps >= options.plan.totalSteps)  // SCoReTrainer.isFinished
        let stage = options.plan.stage(at: state.completedSteps)
        consume(options.episodesPerPrompt(stage))
        consume(options.largestEpisodesPerPrompt)
        var generator = state.generator
        consume(generator.next())
    }
}
