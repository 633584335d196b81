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
        withoutActuallyEscaping(f) { f in
            parallelFor(count) { r in for i in r { dst[i] = f(src[i]) } }
        }
        return out
    }

    /// Combines two same-shaped tensors elementwise.
    @inlinable
    public func zipWith(_ other: Tensor, op: String = "zipWith", _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "\(op): shapes \(shape) and \(other.shape) differ")
        let out = Tensor(uninitializedShape: shape)
        let a = readPointer, b = other.readPointer, dst = out.writePointer
        withoutActuallyEscaping(f) { f in
            parallelFor(count) { r in for i in r { dst[i] = f(a[i], b[i]) } }
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, op: "add") { $0 + $1 } }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, op: "subtract") { $0 - $1 } }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, op: "multiply") { $0 * $1 } }
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

    public func relu() -> Tensor { map { max($0, 0) } }

    /// Gradient of ReLU: passes `self` (dL/dy) where the ReLU's output `y` was positive.
    public func reluBackward(output y: Tensor) -> Tensor { zipWith(y, op: "reluBackward") { $1 > 0 ? $0 : 0 } }

    /// Logistic sigmoid, stable for large |x|.
    public func sigmoid() -> Tensor {
        map { x in x >= 0 ? 1 / (1 + expf(-x)) : { let e = expf(x); return e / (1 + e) }() }
    }
}

#if canImport(Glibc)
import Glibc
#endif
