import Foundation

/// A one-line progress bar with ETA on standard error. On a terminal it redraws in place; otherwise
/// it prints a line every tenth of the way, so logs stay readable.
final class ProgressDisplay {
    private let label: String
    private let total: Int
    private let start = Date()
    private let interactive = isatty(fileno(stderr)) != 0
    private var lastDecile = -1

    init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
    }

    /// Shows `done` of `total` with an optional detail such as the current loss.
    func update(_ done: Int, detail: String = "") {
        let fraction = min(1, Double(done) / Double(total))
        let elapsed = Date().timeIntervalSince(start)
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let width = 24, filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = "\(label) [\(bar)] \(done)/\(total) \(detail) elapsed \(Self.clock(elapsed)) ETA \(Self.clock(eta))"
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (done >= total ? "\n" : "")).utf8))
        } else {
            let decile = Int(fraction * 10)
            if decile != lastDecile {
                lastDecile = decile
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
