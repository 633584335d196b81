import ArgumentParser
import Tensor

/// `--threads N` of the commands that run the networks: N below 1 is refused with a message
/// (the kernels' own check would stop the process instead).
enum ThreadsOption {
    static func apply(_ threads: Int?) throws {
        guard let threads else { return }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        Kernels.setThreads(threads)
        ProcessInfoCores.count = threads
    }
}
