import Testing
@testable import Tensor

/// The pool hands a released buffer to the next request of the same (page-rounded) size, keeps
/// its books, keeps no more idle than twice what was ever alive at once, and gives idle buffers back on
/// trim. A pool of its own: the shared one serves the tests running beside this one.
struct BufferPoolTests {
    @Test func reusesExactSizesAndTrimsIdleBuffers() {
        let pool = BufferPool()
        let bytes = 300_001
        let page = BufferPool.roundedSize(bytes)
        #expect(page >= bytes && page % 4096 == 0 && page - bytes < 4096)

        let a = pool.acquire(bytes: bytes)
        #expect(Int(bitPattern: a) % 64 == 0)
        a.storeBytes(of: 42, toByteOffset: bytes - 4, as: Int32.self)    // the whole size is writable
        #expect(pool.usage.live == page && pool.usage.idle == 0)
        pool.release(a, bytes: bytes)
        #expect(pool.usage.live == 0 && pool.usage.idle == page)

        let b = pool.acquire(bytes: bytes - 100)                         // same pages: reused
        #expect(b == a)
        let c = pool.acquire(bytes: 2 * page)                            // another size: a new mapping
        #expect(c != a)
        #expect(pool.usage.live == 3 * page && pool.usage.idle == 0)
        pool.release(b, bytes: bytes)
        pool.release(c, bytes: 2 * page)
        #expect(pool.usage.idle == 3 * page)
        // Sizes never seen: mapped afresh, and kept while the idle buffers stay within twice
        // the most ever alive at once: 3 + 4 pages ≤ 2 · 4 are kept, 7 + 6 > 2 · 6 are not.
        let d = pool.acquire(bytes: 4 * page)
        #expect(pool.usage.live == 4 * page)
        pool.release(d, bytes: 4 * page)
        #expect(pool.usage.live == 0 && pool.usage.idle == 7 * page)
        let e = pool.acquire(bytes: 6 * page)
        pool.release(e, bytes: 6 * page)
        #expect(pool.usage.live == 0 && pool.usage.idle == 7 * page)
        pool.trim()
        #expect(pool.usage.live == 0 && pool.usage.idle == 0)
    }

    /// Tensors big enough for the pool keep their values like any other (and copies stay apart).
    @Test func pooledTensorsKeepTheirValues() {
        let n = 1 << 17                                                  // 512 KiB
        var t = Tensor.zeros([1, 1, 1, n])
        for i in stride(from: 0, to: n, by: 997) { t[flat: i] = Float(i) }
        var u = t
        u[flat: 0] = -1
        #expect(t[flat: 0] == 0 && u[flat: 0] == -1)
        #expect(stride(from: 997, to: n, by: 997).allSatisfy { t[flat: $0] == Float($0) && u[flat: $0] == Float($0) })
    }
}
