import Foundation
import ScoreEngine
#if canImport(Glibc)
import Glibc
#endif

/// A finished child process: what it wrote on standard output, how it ended, and its own peak
/// resident set size as the kernel counted it.
struct ChildResult {
    var output: String
    /// The exit code, or 128 + the signal number when a signal ended it.
    var exitCode: Int32
    var maxRSSMegabytes: Double

    /// The last line of the output parsed as a JSON object, if it is one.
    var lastJSONLine: [String: Any]? {
        guard let line = output.split(separator: "\n").last else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}

/// Runs one program as a child and collects its peak memory with `wait4`, which reports the
/// rusage of that child alone (Foundation's `Process` reaps its children itself, so its rusage
/// is out of reach; `RUSAGE_CHILDREN` would mix all children of this process).
enum ChildProcess {
    /// Runs `executable` (looked up in PATH when it has no slash) with `arguments`; standard
    /// output is captured, standard error passes through.
    static func run(_ executable: String, _ arguments: [String]) throws -> ChildResult {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ScoreError.invalidArgument("pipe failed: errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, executable, &actions, nil, argv, environ)
        close(fds[1])
        guard spawned == 0 else {
            close(fds[0])
            throw ScoreError.invalidArgument("cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        let output = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile()
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        let exitCode = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        return ChildResult(output: String(decoding: output, as: UTF8.self), exitCode: exitCode,
                           maxRSSMegabytes: Double(usage.ru_maxrss) / 1024)  // Linux: kilobytes
    }

    /// The path of the running executable (to run this bench again as a child).
    static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// This process's own peak resident set size, in MB.
    static var selfMaxRSSMegabytes: Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
