import Dispatch

/// Splits 0..<count into contiguous chunks run on all cores. Small jobs stay on the calling
/// thread: a dispatch only pays above roughly 100 µs of work per chunk (DESIGN.md).
@inlinable
public func parallelFor(_ count: Int, minChunk: Int = 1 << 16, _ body: (Range<Int>) -> Void) {
    let chunks = min(ProcessInfoCores.count, max(1, count / minChunk))
    if chunks <= 1 { Denormals.flushed { body(0..<count) }; return }
    let per = (count + chunks - 1) / chunks
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per
            let hi = min(count, lo + per)
            if lo < hi { Denormals.flushed { body(lo..<hi) } }
        }
    }
}

/// Cores the elementwise loops use (kernels have their own setting in `Kernels.setThreads`).
public enum ProcessInfoCores {
    nonisolated(unsafe) public static var count: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()
}

#if canImport(Glibc)
import Glibc
#endif
