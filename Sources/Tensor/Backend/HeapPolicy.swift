import CDNNL
#if canImport(Glibc)
import Glibc
#endif

/// glibc hands out every block above its mmap threshold (128 KiB, rising to at most 32 MiB as
/// blocks are freed) as fresh pages from mmap and unmaps it at free. A 256×256×32×4 activation
/// (33.6 MB) then costs ~26 ms of page faults on its first write every time a kernel returns one,
/// against ~3 ms for the write itself (benchmarks/kernels, `--only alloc`). Keeping such blocks in
/// the heap lets the next tensor of the same size reuse warm pages. Peak memory is unchanged; freed
/// memory is kept for reuse instead of going back to the system.
/// Applied once, when the kernels first run; `LIVERSEG_MALLOC_DEFAULTS=1` keeps glibc's defaults.
enum HeapPolicy {
    static let applied: Bool = {
        #if canImport(Glibc)
        if let v = getenv("LIVERSEG_MALLOC_DEFAULTS"), String(cString: v) == "1" { return false }
        return mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
        #else
        return false
        #endif
    }()
}
