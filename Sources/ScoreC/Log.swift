import CScoreHeader
import Foundation

/// The process-wide log sink the host sets with score_set_log_callback.
enum Log {
    private struct Sink {
        var callback: score_log_fn?
        var minLevel: Int32
        var userData: UnsafeMutableRawPointer?
    }
    private static let lock = NSLock()
    nonisolated(unsafe) private static var sink = Sink(callback: nil, minLevel: SCORE_LOG_INFO, userData: nil)

    static func set(_ callback: score_log_fn?, minLevel: Int32, userData: UnsafeMutableRawPointer?) {
        lock.withLock { sink = Sink(callback: callback, minLevel: minLevel, userData: userData) }
    }

    /// Sends `message` to the host's callback when one is set and `level` is high enough.
    static func write(_ level: Int32, _ message: @autoclosure () -> String) {
        let current = lock.withLock { sink }
        guard let callback = current.callback, level >= current.minLevel else { return }
        message().withCString { callback(level, $0, current.userData) }
    }
}

/// Sets (or, with NULL, clears) the log callback.
@_cdecl("score_set_log_callback")
public func scoreSetLogCallback(_ callback: score_log_fn?, _ minLevel: Int32,
                                _ userData: UnsafeMutableRawPointer?) -> score_status {
    exported("score_set_log_callback") {
        guard (SCORE_LOG_DEBUG...SCORE_LOG_ERROR).contains(minLevel) else {
            throw APIFailure.invalid("unknown log level \(minLevel) (expected SCORE_LOG_DEBUG...SCORE_LOG_ERROR)")
        }
        Log.set(callback, minLevel: minLevel, userData: userData)
    }
}
