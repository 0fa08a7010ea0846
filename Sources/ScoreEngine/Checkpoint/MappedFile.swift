import Foundation

/// Read-only file mappings for weight files (safetensors, GGUF): the bytes come from the file
/// itself, so converted ranges can be dropped from memory and read again when needed.
enum MappedFile {
    /// The file's bytes, mapped read-only (private) from the file itself, so that converted ranges
    /// can be dropped from memory (`releasePages`) and read again from the file when needed.
    static func map(_ url: URL) throws -> Data {
        #if os(Linux)
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ScoreError.io(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw ScoreError.io(path: url.path, reason: String(cString: strerror(errno))) }
        let size = Int(status.st_size)
        guard size > 0 else { return Data() }
        guard let memory = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), memory != MAP_FAILED else {
            throw ScoreError.io(path: url.path, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        return Data(bytesNoCopy: memory, count: size, deallocator: .custom { pointer, count in _ = munmap(pointer, count) })
        #else
        return try Data(contentsOf: url, options: .alwaysMapped)
        #endif
    }

    /// Lets the kernel drop the mapped file pages of `range` once they are converted: the file
    /// stays mapped (a later read pages it in again), but loading a model no longer holds the whole
    /// file in memory beside the converted weights.
    static func releasePages(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) {
        #if os(Linux)
        guard let base = raw.baseAddress, range.count >= 1 << 16 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let first = (Int(bitPattern: base) + range.lowerBound) / page * page
        let last = Int(bitPattern: base) + range.upperBound
        guard let start = UnsafeMutableRawPointer(bitPattern: first), last > first else { return }
        _ = madvise(start, last - first, Int32(MADV_DONTNEED))
        #endif
    }
}
