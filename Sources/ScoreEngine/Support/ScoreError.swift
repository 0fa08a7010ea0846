/// Errors the engine throws. Every case carries a message a person can act on.
public enum ScoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A configuration or argument is inconsistent (shapes, ranges, options).
    case invalidArgument(String)
    /// A file is missing, truncated, corrupt or holds something unexpected.
    case invalidFile(path: String, reason: String)
    /// Reading or writing a file failed at the operating-system level.
    case io(path: String, reason: String)
    /// A host-supplied component (verifier, callback) reported failure or asked to stop.
    case callbackFailed(String)
    /// A host callback asked to stop the operation.
    case aborted(String)
    /// A computation produced a non-finite value where a finite one is required.
    case nonFinite(String)

    public var description: String {
        switch self {
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .invalidFile(let path, let reason): return "\(path): \(reason)"
        case .io(let path, let reason): return "\(path): \(reason)"
        case .callbackFailed(let message): return "callback failed: \(message)"
        case .aborted(let message): return "aborted: \(message)"
        case .nonFinite(let message): return "non-finite value: \(message)"
        }
    }
}
