import CDNNL

/// Denormal floats (magnitudes below 1.2e-38) are flushed to zero wherever tensors are computed,
/// as TensorFlow does by default.
///
/// Gradients and weight updates shrink into that range as a run converges, and arithmetic that
/// meets a denormal takes a microcode assist on x86 (~100 cycles). The mode is per thread, and
/// oneDNN 2.6's kernels set it on the threads that run them, but not on the dispatch workers of
/// the elementwise loops: those computed denormals the slow way, and a chunk's result could depend
/// on which thread ran it. The command-line program sets the mode first thing, so every thread it
/// starts inherits it (demo preset: liver epochs after the first ran at 2.0–2.6 steps/s without,
/// 2.5–2.85 with; docs/experiments.md, session 8). The elementwise loops set it for each chunk
/// and restore it after, so that a library user's threads keep their own mode.
public enum Denormals {
    /// Sets the calling thread's mode for good (the program's start-up).
    public static func flushOnThisThread() { liverseg_set_denormal_mode(liverseg_flush_bits) }

    /// Runs `body` with the mode set on the calling thread, then restores the thread's own.
    @inline(__always)
    public static func flushed<R>(_ body: () throws -> R) rethrows -> R { try withMode(liverseg_flush_bits, body) }

    /// Runs `body` with denormals kept on the calling thread, then restores the thread's mode
    /// (conversions that must be exact, such as a test's reference values).
    public static func kept<R>(_ body: () throws -> R) rethrows -> R { try withMode(0, body) }

    @inline(__always)
    private static func withMode<R>(_ bits: UInt32, _ body: () throws -> R) rethrows -> R {
        let own = liverseg_denormal_mode()
        if own == bits { return try body() }
        liverseg_set_denormal_mode(bits)
        defer { liverseg_set_denormal_mode(own) }
        return try body()
    }

    /// Whether the calling thread flushes.
    public static var flushedOnThisThread: Bool { liverseg_denormal_mode() == liverseg_flush_bits }
}
