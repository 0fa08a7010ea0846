import Foundation

extension Fuzz {
    /// A JSON Lines problem file (`{"prompt": ..., "reference": ...}` per line): read as the CLI and
    /// the C API read training/evaluation problems, then fingerprinted as a saved run records them.
    static let jsonLinesTarget = FuzzTarget(
        name: "jsonl_problems", summary: "a .jsonl problem list: SelfCorrectionProblem.readJSONLines, then fingerprinted"
    ) { data in
        guard let problems = try? SelfCorrectionProblem.readJSONLines(from: file("problems.jsonl", data)) else { return }
        _ = SCoReSavedState.fingerprint(problems)
    }
}
