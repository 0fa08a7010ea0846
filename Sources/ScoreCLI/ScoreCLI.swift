import ArgumentParser
import ScoreEngine

/// The command-line front end of libscore.
@main
struct ScoreCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score-cli",
        abstract: "Train small language models to correct their own mistakes (SCoRe), on a CPU.",
        version: LibraryVersion.string,
        subcommands: [DemoCommand.self, SummarizeCommand.self, CorrectCommand.self, TrainCommand.self, EvalCommand.self,
                      ProblemsCommand.self,
                      GenerateCommand.self, ArithmeticCommand.self, SCoReCommand.self],
        defaultSubcommand: DemoCommand.self)
}
