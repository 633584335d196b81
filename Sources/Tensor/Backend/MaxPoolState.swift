#if canImport(Glibc)
import Glibc
#endif

/// What the backward pass of a 2×2 max pooling needs: oneDNN's workspace (the position of each
/// maximum inside its window) or, from the reference kernel, the flat input index of each maximum.
/// Opaque to callers; keep it alive from the forward to the backward pass.
public final class MaxPoolState: @unchecked Sendable {
    public let inputShape: [Int]
    public let outputShape: [Int]

    enum Record {
        /// Flat index into the input of the maximum of each output element (reference kernels).
        case argmax([Int])
        /// oneDNN pooling workspace, laid out as the forward primitive chose.
        case workspace(RawBuffer)
    }
    let record: Record
    /// Layout of the oneDNN primitive that wrote the workspace.
    let layout: DNNLLayout

    init(inputShape: [Int], outputShape: [Int], record: Record, layout: DNNLLayout = .plain) {
        self.inputShape = inputShape
        self.outputShape = outputShape
        self.record = record
        self.layout = layout
    }
}

/// A 64-byte aligned block of bytes owned by Swift and handed to oneDNN as a memory handle.
final class RawBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let bytes: Int

    init(bytes: Int) {
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, max(bytes, 64)) == 0, let raw else {
            fatalError("RawBuffer: out of memory allocating \(bytes) bytes")
        }
        pointer = raw
        self.bytes = bytes
    }

    deinit { free(pointer) }
}
