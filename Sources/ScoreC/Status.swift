import CScoreHeader
import Foundation
import ScoreEngine

/// A failure of the C layer itself (not of the engine), with its status code.
struct APIFailure: Error {
    let status: score_status
    let message: String

    static func invalid(_ message: String) -> APIFailure { APIFailure(status: SCORE_ERR_INVALID_ARGUMENT, message: message) }
    static func bufferTooSmall(_ message: String) -> APIFailure { APIFailure(status: SCORE_ERR_BUFFER_TOO_SMALL, message: message) }
    static func state(_ message: String) -> APIFailure { APIFailure(status: SCORE_ERR_STATE, message: message) }
}

/// The status code and message of any error thrown below the ABI.
func statusAndMessage(of error: Error) -> (score_status, String) {
    switch error {
    case let failure as APIFailure:
        return (failure.status, failure.message)
    case let error as ScoreError:
        let status: score_status
        switch error {
        case .invalidArgument: status = SCORE_ERR_INVALID_ARGUMENT
        case .invalidFile: status = SCORE_ERR_INVALID_FILE
        case .io: status = SCORE_ERR_IO
        case .callbackFailed: status = SCORE_ERR_CALLBACK
        case .aborted: status = SCORE_ERR_ABORTED
        case .nonFinite: status = SCORE_ERR_NON_FINITE
        }
        return (status, error.description)
    default:
        return (SCORE_ERR_INTERNAL, String(describing: error))
    }
}

/// Runs the body of an exported function: SCORE_OK, or the error's status with its message
/// recorded as the thread's last error (and logged). `function` names the call in the message.
func exported(_ function: String, _ body: () throws -> Void) -> score_status {
    let mark = CallScope.mark()
    defer { CallScope.release(to: mark) }
    do {
        try body()
        return SCORE_OK
    } catch {
        let (status, message) = statusAndMessage(of: error)
        let full = "\(function): \(message)"
        LastError.set(full)
        Log.write(SCORE_LOG_ERROR, full)
        return status
    }
}

/// The thread-local message of the last failed call.
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in free(pointer) }
        return key
    }()
    private static let empty: UnsafePointer<CChar> = {
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return UnsafePointer(pointer)
    }()

    /// Replaces this thread's message.
    static func set(_ message: String) {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, strdup(message))
        free(previous)
    }

    /// This thread's message ("" when none).
    static var current: UnsafePointer<CChar> {
        guard let pointer = pthread_getspecific(key) else { return empty }
        return UnsafePointer(pointer.assumingMemoryBound(to: CChar.self))
    }
}

/// A static English name for a status code.
@_cdecl("score_status_string")
public func scoreStatusString(_ status: score_status) -> UnsafePointer<CChar> {
    let name: StaticString
    switch status {
    case SCORE_OK: name = "ok"
    case SCORE_ERR_INVALID_ARGUMENT: name = "invalid argument"
    case SCORE_ERR_INVALID_FILE: name = "invalid file"
    case SCORE_ERR_IO: name = "input/output error"
    case SCORE_ERR_CALLBACK: name = "callback failed"
    case SCORE_ERR_ABORTED: name = "aborted"
    case SCORE_ERR_NON_FINITE: name = "non-finite value"
    case SCORE_ERR_BUFFER_TOO_SMALL: name = "buffer too small"
    case SCORE_ERR_STATE: name = "invalid state"
    case SCORE_ERR_INTERNAL: name = "internal error"
    default: name = "unknown status"
    }
    return UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// The message of the last failed call on this thread.
@_cdecl("score_last_error")
public func scoreLastError() -> UnsafePointer<CChar> {
    LastError.current
}

/// Releases memory the library returned through a `char **`.
@_cdecl("score_free")
public func scoreFree(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}
