import Foundation

extension SelfCorrectionProblem {
    /// Problems from a JSON Lines file: one object per line with string fields `prompt` and
    /// `reference` (other fields ignored; blank lines skipped). Throws `ScoreError.io` when the
    /// file cannot be read and `ScoreError.invalidFile` naming the line that is not such an object.
    public static func readJSONLines(from url: URL) throws -> [SelfCorrectionProblem] {
        let data = try FileContents.read(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScoreError.invalidFile(path: url.path, reason: "not UTF-8 text")
        }
        var problems = [SelfCorrectionProblem]()
        let decoder = JSONDecoder()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            do {
                problems.append(try decoder.decode(SelfCorrectionProblem.self, from: Data(line.utf8)))
            } catch {
                throw ScoreError.invalidFile(path: url.path, reason: "line \(index + 1) is not an object with string "
                                             + "fields \"prompt\" and \"reference\"")
            }
        }
        guard !problems.isEmpty else { throw ScoreError.invalidFile(path: url.path, reason: "no problems") }
        return problems
    }
}
