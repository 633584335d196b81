/// Elementwise arithmetic. Memory-bound loops, vectorized by the compiler in release builds
/// and split across cores for large tensors.
extension Tensor {
    static func checkSameShape(_ a: Tensor, _ b: Tensor, op: String) {
        precondition(a.shape == b.shape, "\(op): shapes \(a.shape) and \(b.shape) differ")
    }

    /// Applies `f` to every element into a new tensor.
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let src = readPointer, dst = out.writePointer
        parallelFor(count) { r in for i in r { dst[i] = f(src[i]) } }
        return out
    }

    /// Combines two same-shaped tensors elementwise.
    @inlinable
    public func zipWith(_ other: Tensor, op: String = "zipWith", _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "\(op): shapes \(shape) and \(other.shape) differ")
        let out = Tensor(uninitializedShape: shape)
        let a = readPointer, b = other.readPointer, dst = out.writePointer
        parallelFor(count) { r in for i in r { dst[i] = f(a[i], b[i]) } }
        return out
    }

    /// `zipWith` for the operations training runs on every activation: a closure passed
    /// through `parallelFor` stays a call per element, a static method of a type parameter is
    /// specialized and vectorized (the train step spent ~8 % of its CPU time in those calls).
    @inline(__always)
    func combined<Op: ElementwisePair>(with other: Tensor, _: Op.Type) -> Tensor {
        precondition(shape == other.shape, "\(Op.name): shapes \(shape) and \(other.shape) differ")
        let out = Tensor(uninitializedShape: shape)
        let a = readPointer, b = other.readPointer, dst = out.writePointer
        parallelFor(count) { r in for i in r { dst[i] = Op.apply(a[i], b[i]) } }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.combined(with: b, Add.self) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.combined(with: b, Subtract.self) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.combined(with: b, Multiply.self) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { $0 * s } }

    /// self += alpha * x, in place (gradient accumulation, optimizer updates).
    public mutating func addScaled(_ x: Tensor, _ alpha: Float = 1) {
        Tensor.checkSameShape(self, x, op: "addScaled")
        makeUnique()
        let dst = writePointer, src = x.readPointer
        parallelFor(count) { r in for i in r { dst[i] += alpha * src[i] } }
    }

    /// Multiplies every element by `s`, in place.
    public mutating func scale(by s: Float) {
        makeUnique()
        let dst = writePointer
        parallelFor(count) { r in for i in r { dst[i] *= s } }
    }

    /// Sets every element to `v`, in place.
    public mutating func fill(_ v: Float) {
        makeUnique()
        let dst = writePointer
        parallelFor(count) { r in for i in r { dst[i] = v } }
    }

    /// ReLU; leaky (x·slope below 0) where `negativeSlope` > 0.
    public func relu(negativeSlope s: Float = 0) -> Tensor { s == 0 ? map { max($0, 0) } : map { $0 > 0 ? $0 : $0 * s } }

    /// Gradient of ReLU: passes `self` (dL/dy) where the ReLU's output `y` was positive, and
    /// dL/dy · slope elsewhere (a leaky ReLU's output has its input's sign, so `y` decides).
    public func reluBackward(output y: Tensor, negativeSlope s: Float = 0) -> Tensor {
        s == 0 ? combined(with: y, ReLUBackward.self) : zipWith(y, op: "reluBackward") { g, v in v > 0 ? g : g * s }
    }

    /// Logistic sigmoid, stable for large |x|.
    public func sigmoid() -> Tensor {
        map { x in x >= 0 ? 1 / (1 + expf(-x)) : { let e = expf(x); return e / (1 + e) }() }
    }
}

/// An elementwise operation on two tensors, as a type so that loops over it are specialized.
protocol ElementwisePair {
    static var name: String { get }
    static func apply(_ a: Float, _ b: Float) -> Float
}
enum Add: ElementwisePair {
    static let name = "add"
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
}
enum Subtract: ElementwisePair {
    static let name = "subtract"
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b }
}
enum Multiply: ElementwisePair {
    static let name = "multiply"
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
}
/// dL/dx of ReLU from dL/dy (a) and the ReLU's output (b).
enum ReLUBackward: ElementwisePair {
    static let name = "reluBackward"
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { b > 0 ? a : 0 }
}

#if canImport(Glibc)
import Glibc
#endif
