import Foundation

/// Reading whole small files (configs, tokenizers, templates, problem lists).
enum FileContents {
    /// The bytes of the file at `url`; `ScoreError.io` naming it when it cannot be read. An empty
    /// file gives empty data without `Data(contentsOf:)`, which leaks a page-sized buffer per call
    /// on empty files in swift-corelibs-foundation.
    static func read(_ url: URL) throws -> Data {
        do {
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber
            if size?.intValue == 0 { return Data() }
            return try Data(contentsOf: url)
        } catch {
            throw ScoreError.io(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
    }
}
