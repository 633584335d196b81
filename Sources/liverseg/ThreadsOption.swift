import ArgumentParser
import Tensor

/// `--threads N` of the commands that run the networks: N below 1 is refused with a message
/// (the kernels' own check would stop the process instead).
enum ThreadsOption {
    static func check(_ threads: Int?) throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    static func apply(_ threads: Int?) throws {
        try check(threads)
        guard let threads else { return }
        Kernels.setThreads(threads)
        ProcessInfoCores.count = threads
    }
}
