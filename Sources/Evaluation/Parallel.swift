import Dispatch
import Foundation

/// A raw pointer that may cross into `concurrentPerform` workers. Each worker writes a
/// disjoint range, so sharing is safe even though the compiler cannot prove it.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    @inline(__always) subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}

/// Read-only counterpart of `SharedPointer`.
struct SharedConstPointer<T>: @unchecked Sendable {
    let base: UnsafePointer<T>
    init(_ base: UnsafePointer<T>) { self.base = base }
    @inline(__always) subscript(i: Int) -> T { base[i] }
}

enum Parallel {
    /// Worker count: the machine's cores; concurrentPerform only pays above ~100 µs a chunk,
    /// so callers pass the amount of work and small jobs stay on one thread.
    static var cores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Runs `body(range)` over `0..<count` split into contiguous chunks, in parallel when
    /// `count * costPerItem` (rough nanoseconds) is worth it. Returns the per-chunk results in order.
    static func map<R>(_ count: Int, costPerItem: Int = 1, _ body: @Sendable (Range<Int>) -> R) -> [R] {
        if count == 0 { return [] }
        let chunks = (count * costPerItem < 200_000) ? 1 : min(count, cores * 4)
        if chunks == 1 { return [body(0..<count)] }
        let results = UnsafeMutablePointer<R?>.allocate(capacity: chunks)
        results.initialize(repeating: nil, count: chunks)
        defer { results.deinitialize(count: chunks); results.deallocate() }
        let out = SharedPointer(results)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = count * c / chunks, hi = count * (c + 1) / chunks
            out[c] = body(lo..<hi)
        }
        return (0..<chunks).map { results[$0]! }
    }

    /// `map` without results.
    static func forEach(_ count: Int, costPerItem: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
        _ = map(count, costPerItem: costPerItem) { body($0) }
    }
}
