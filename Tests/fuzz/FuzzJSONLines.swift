import Foundation

extension Fuzz {
    /// A JSON Lines problem file (`{"prompt": ..., "reference": ...}` per line): read as the CLI and
    /// the C API read training/evaluation problems, then fingerprinted as a saved run records them.
    static let jsonLinesTarget = FuzzTarget(
        name: "jsonl_problems", summary: "a .jsonl problem list: SelfCorrectionProblem.readJSONLines, then fingerprinted"
    ) { data in
        let url = file("problems.jsonl", data)
        guard let problems = attempt("readJSONLines", { try SelfCorrectionProblem.readJSONLines(from: url) }) else { return }
        consume(SCoReSavedState.fingerprint(problems))
    }
}
