#if canImport(Glibc)
import Glibc
#endif

/// A 64-byte aligned Float32 buffer (oneDNN and AVX-512 like aligned rows). Large buffers come
/// from `BufferPool` (warm pages of a tensor of the same size that died before), small ones
/// from malloc. Tensors share storage until one of them writes (copy on write in `Tensor`).
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    private let pooled: Bool

    public init(count: Int) {
        precondition(count >= 0, "TensorStorage: negative size \(count)")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw: UnsafeMutableRawPointer
        if bytes >= BufferPool.minimumBytes {
            raw = BufferPool.shared.acquire(bytes: bytes)
            pooled = true
        } else {
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, 64, bytes) == 0, let p else {
                fatalError("TensorStorage: out of memory allocating \(bytes) bytes")
            }
            raw = p
            pooled = false
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    public convenience init(copying other: TensorStorage) {
        self.init(count: other.count)
        pointer.update(from: other.pointer, count: count)
    }

    deinit {
        if pooled { BufferPool.shared.release(UnsafeMutableRawPointer(pointer), bytes: max(count, 1) * MemoryLayout<Float>.stride) } else { free(pointer) }
    }
}
