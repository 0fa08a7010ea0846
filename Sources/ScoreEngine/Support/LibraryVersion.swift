/// The version of libscore; `include/score.h` repeats it in its version macros.
public enum LibraryVersion {
    public static let major = 0
    public static let minor = 3
    public static let patch = 0
    /// "MAJOR.MINOR.PATCH".
    public static var string: String { "\(major).\(minor).\(patch)" }
    /// The version as a static C string that lives as long as the process.
    nonisolated(unsafe) public static let cString: UnsafePointer<CChar> = {
        let bytes = Array(string.utf8CString)
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        storage.initialize(from: bytes, count: bytes.count)
        return UnsafePointer(storage)
    }()
}
