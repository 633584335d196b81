/// A dense Float32 tensor with a row-major shape; 4-D image tensors are NCHW.
/// A value type: copies share storage until written (copy on write).
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    @usableFromInline var storage: TensorStorage

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// A tensor of `shape` with every element `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        Tensor.checkShape(shape, op: "Tensor.init")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *))
        storage.pointer.initialize(repeating: value, count: storage.count)
    }

    /// A tensor of `shape` holding `values` in row-major order.
    public init(shape: [Int], values: [Float]) {
        Tensor.checkShape(shape, op: "Tensor.init")
        let n = shape.reduce(1, *)
        precondition(values.count == n, "Tensor.init: \(values.count) values do not fill shape \(shape) (\(n) elements)")
        self.shape = shape
        storage = TensorStorage(count: n)
        values.withUnsafeBufferPointer { storage.pointer.initialize(from: $0.baseAddress!, count: n) }
    }

    /// A tensor whose elements are left for the caller to fill (kernels write every element).
    public init(uninitializedShape shape: [Int]) {
        Tensor.checkShape(shape, op: "Tensor.init")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *))
    }

    init(shape: [Int], storage: TensorStorage) {
        self.shape = shape
        self.storage = storage
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }

    static func checkShape(_ shape: [Int], op: String) {
        precondition(shape.allSatisfy { $0 >= 0 }, "\(op): negative dimension in shape \(shape)")
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "reshaped: cannot view \(shape) (\(count) elements) as \(newShape)")
        return Tensor(shape: newShape, storage: storage)
    }

    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    @inlinable public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Mutable access; copies the storage first if another tensor shares it.
    @inlinable public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) { storage = TensorStorage(copying: storage) }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Raw pointer for kernels that only read.
    @inlinable public var readPointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }

    /// Raw pointer for kernels that write; the caller must own the tensor uniquely
    /// (fresh from `init(uninitializedShape:)` or after `makeUnique()`).
    @inlinable public var writePointer: UnsafeMutablePointer<Float> { storage.pointer }

    public mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = TensorStorage(copying: storage) }
    }

    public subscript(flat i: Int) -> Float {
        get { precondition(i >= 0 && i < count, "Tensor[flat:]: index \(i) out of range for \(shape)"); return storage.pointer[i] }
        set {
            precondition(i >= 0 && i < count, "Tensor[flat:]: index \(i) out of range for \(shape)")
            makeUnique(); storage.pointer[i] = newValue
        }
    }

    /// Element at a full index (for tests and small tensors).
    public subscript(_ index: Int...) -> Float {
        get { storage.pointer[offset(index)] }
        set { let o = offset(index); makeUnique(); storage.pointer[o] = newValue }
    }

    func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor subscript: \(index.count) indices for shape \(shape)")
        var o = 0
        for (d, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[d], "Tensor subscript: index \(index) out of range for shape \(shape)")
            o = o * shape[d] + i
        }
        return o
    }

    public var description: String { "Tensor\(shape)" }
}
