import ScoreEngine

/// The library version as a static NUL-terminated string ("MAJOR.MINOR.PATCH"); never NULL.
@_cdecl("score_version_string")
public func score_version_string() -> UnsafePointer<CChar> {
    LibraryVersion.cString
}

/// The library version as MAJOR*10000 + MINOR*100 + PATCH.
@_cdecl("score_version_number")
public func score_version_number() -> Int32 {
    Int32(LibraryVersion.major * 10_000 + LibraryVersion.minor * 100 + LibraryVersion.patch)
}
