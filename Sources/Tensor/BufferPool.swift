#if canImport(Glibc)
import Glibc
#endif

/// Where tensors of 256 KiB and more get their memory: page-aligned mappings that are kept,
/// when a tensor dies, for the next tensor of the same size.
///
/// A network pass allocates the same sizes in the same order every batch. Fresh pages cost a
/// page fault each on first write (~26 ms for a 33.6 MB activation against ~3 ms for the write
/// itself, `benchmarks/kernels --only alloc`), which is why the heap used to keep freed blocks
/// (glibc's mmap threshold raised to 1 GiB). But a heap that also holds the scan, the label map
/// and arrays of every other size splits its free blocks between them, and whole-volume
/// segmentation grew from 565 to 821 MB over 100 batches of identical work. Reusing only
/// exact sizes keeps pages warm without that fragmentation: what the pool holds is, per size,
/// the most buffers of that size ever alive at once, and idle buffers never add up to more than
/// twice the most bytes ever alive at once (work whose sizes keep changing, such as batches of
/// varying size, would otherwise keep a set per size). Twice, not once: a training step's
/// buffers, summed over every size it uses, come to more than its peak (sizes alive at different
/// moments), and with a limit of once the pool unmapped ~190 MB of them per 256²/F=32 step only
/// to map and fault them in again the next step (47 K page faults, 3–10 % of the step; with
/// twice: none, and the same peak RSS). `trim()` gives the idle ones back.
public final class BufferPool: Sendable {
    /// The pool of every tensor's storage.
    public static let shared = BufferPool()
    /// Smaller blocks come from malloc: the heap serves them well and they are cheap to fault.
    static let minimumBytes = 256 << 10
    /// Idle buffers stay within this many times the most bytes ever alive at once.
    static let idleLimit = 2
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    private let state = Locked(State())

    public init() {}

    private struct State {
        var idle: [Int: [UnsafeMutableRawPointer]] = [:]
        var idleBytes = 0
        var liveBytes = 0
        var peakLiveBytes = 0
    }

    /// Bytes rounded to whole pages (the key under which a buffer is kept).
    static func roundedSize(_ bytes: Int) -> Int { (bytes + pageSize - 1) / pageSize * pageSize }

    /// `trim()` of the shared pool.
    public static func trim() { shared.trim() }

    /// A zero-or-garbage buffer of at least `bytes` (page aligned); give it back with `release`.
    func acquire(bytes: Int) -> UnsafeMutableRawPointer {
        let size = Self.roundedSize(bytes)
        if let p = state.withLock({ s -> UnsafeMutableRawPointer? in
            guard let p = s.idle[size]?.popLast() else { return nil }
            s.idleBytes -= size
            s.liveBytes += size
            return p
        }) { return p }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("BufferPool: out of memory mapping \(size) bytes")
        }
        state.withLock { s in
            s.liveBytes += size
            s.peakLiveBytes = max(s.peakLiveBytes, s.liveBytes)
        }
        return p
    }

    func release(_ p: UnsafeMutableRawPointer, bytes: Int) {
        let size = Self.roundedSize(bytes)
        let kept = state.withLock { s -> Bool in
            s.liveBytes -= size
            guard s.idleBytes + size <= Self.idleLimit * s.peakLiveBytes else { return false }
            s.idle[size, default: []].append(p)
            s.idleBytes += size
            return true
        }
        if !kept { munmap(p, size) }
    }

    /// Unmaps every idle buffer: before work of other sizes (post-processing after the
    /// networks, a new batch size) so that memory no longer needed stops counting.
    public func trim() {
        let idle = state.withLock { s -> [Int: [UnsafeMutableRawPointer]] in
            defer { s.idle = [:]; s.idleBytes = 0 }
            return s.idle
        }
        for (size, buffers) in idle { for p in buffers { munmap(p, size) } }
    }

    /// Bytes in tensors alive now and in idle buffers kept for reuse.
    public var usage: (live: Int, idle: Int) { state.withLock { ($0.liveBytes, $0.idleBytes) } }
}

/// A value behind a pthread mutex (tensors are freed on whichever thread drops them last).
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private var mutex = pthread_mutex_t()

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(&mutex, nil)
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body(&value)
    }
}
