/// Like `precondition`, but also checked in `-Ounchecked` builds (the package's release setting),
/// where a wrong shape would otherwise run a kernel out of bounds.
@inline(__always)
func kernelCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Shape checks and output shapes shared by the oneDNN kernels and the reference kernels, so both
/// reject misuse with the same message (naming the op and the shapes) before touching memory.
enum KernelShapes {
    static func fmt(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ",") + "]" }

    static func require4D(_ s: [Int], _ what: String, _ op: String) {
        guard s.count == 4 else {
            fatalError("\(op): \(what) \(fmt(s)) must be 4-D (N,C,H,W)")
        }
        guard s.allSatisfy({ $0 > 0 }) else {
            fatalError("\(op): \(what) \(fmt(s)) has an empty dimension")
        }
    }

    static func requireBias(_ b: [Int]?, co: Int, _ op: String, weight: [Int]) {
        guard let b else { return }
        guard b == [co] else {
            fatalError("\(op): bias \(fmt(b)) does not match weight \(fmt(weight)) (expected [\(co)])")
        }
    }

    /// Output shape of a stride-1 convolution; checks x [N,Ci,H,W] against w [Co,Ci,K,K].
    static func conv2d(x: [Int], w: [Int], b: [Int]?, padding: Int, op: String = "conv2d") -> [Int] {
        require4D(x, "input", op)
        require4D(w, "weight", op)
        guard w[2] == w[3] else {
            fatalError("\(op): weight \(fmt(w)) has a non-square kernel \(w[2])×\(w[3])")
        }
        guard x[1] == w[1] else {
            fatalError("\(op): input \(fmt(x)) has \(x[1]) channels but weight \(fmt(w)) expects \(w[1])")
        }
        guard padding >= 0 else { fatalError("\(op): negative padding \(padding)") }
        requireBias(b, co: w[0], op, weight: w)
        let ho = x[2] + 2 * padding - w[2] + 1, wo = x[3] + 2 * padding - w[3] + 1
        guard ho > 0, wo > 0 else {
            fatalError("\(op): input \(fmt(x)) is smaller than kernel \(fmt(w)) with padding \(padding)")
        }
        return [x[0], w[0], ho, wo]
    }

    static func conv2dBackwardData(gy: [Int], w: [Int], inputShape: [Int], padding: Int) {
        let op = "conv2dBackwardData"
        require4D(gy, "output gradient", op)
        let y = conv2d(x: inputShape, w: w, b: nil, padding: padding, op: op)
        guard gy == y else {
            fatalError("\(op): output gradient \(fmt(gy)) does not match the conv output \(fmt(y)) of input \(fmt(inputShape)), weight \(fmt(w)), padding \(padding)")
        }
    }

    /// Weight shape [Co,Ci,K,K] of the convolution whose output gradient is gy.
    static func conv2dBackwardWeights(x: [Int], gy: [Int], kernel: Int, padding: Int) -> [Int] {
        let op = "conv2dBackwardWeights"
        require4D(x, "input", op)
        require4D(gy, "output gradient", op)
        guard kernel > 0 else { fatalError("\(op): kernel size \(kernel) must be positive") }
        let w = [gy[1], x[1], kernel, kernel]
        let y = conv2d(x: x, w: w, b: nil, padding: padding, op: op)
        guard gy == y else {
            fatalError("\(op): output gradient \(fmt(gy)) does not match the conv output \(fmt(y)) of input \(fmt(x)), kernel \(kernel), padding \(padding)")
        }
        return w
    }

    /// Output shape of the 2×2 stride-2 transposed convolution; w is [Ci,Co,2,2] (PyTorch layout).
    static func convTranspose2x2(x: [Int], w: [Int], b: [Int]?, op: String = "convTranspose2x2") -> [Int] {
        require4D(x, "input", op)
        require4D(w, "weight", op)
        guard w[2] == 2, w[3] == 2 else {
            fatalError("\(op): weight \(fmt(w)) must have a 2×2 kernel ([Ci,Co,2,2])")
        }
        guard x[1] == w[0] else {
            fatalError("\(op): input \(fmt(x)) has \(x[1]) channels but weight \(fmt(w)) expects \(w[0])")
        }
        requireBias(b, co: w[1], op, weight: w)
        return [x[0], w[1], 2 * x[2], 2 * x[3]]
    }

    static func convTranspose2x2BackwardData(gy: [Int], w: [Int], inputShape: [Int]) {
        let op = "convTranspose2x2BackwardData"
        require4D(gy, "output gradient", op)
        let y = convTranspose2x2(x: inputShape, w: w, b: nil, op: op)
        guard gy == y else {
            fatalError("\(op): output gradient \(fmt(gy)) does not match the output \(fmt(y)) of input \(fmt(inputShape)) and weight \(fmt(w))")
        }
    }

    /// Weight shape [Ci,Co,2,2].
    static func convTranspose2x2BackwardWeights(x: [Int], gy: [Int]) -> [Int] {
        let op = "convTranspose2x2BackwardWeights"
        require4D(x, "input", op)
        require4D(gy, "output gradient", op)
        guard gy[0] == x[0], gy[2] == 2 * x[2], gy[3] == 2 * x[3] else {
            fatalError("\(op): output gradient \(fmt(gy)) does not match input \(fmt(x)) (expected [\(x[0]),Co,\(2 * x[2]),\(2 * x[3])])")
        }
        return [x[1], gy[1], 2, 2]
    }

    static func maxPool2x2(x: [Int]) -> [Int] {
        let op = "maxPool2x2"
        require4D(x, "input", op)
        guard x[2] >= 2, x[3] >= 2 else {
            fatalError("\(op): input \(fmt(x)) is smaller than the 2×2 window")
        }
        return [x[0], x[1], x[2] / 2, x[3] / 2]
    }

    static func maxPool2x2Backward(gy: [Int], state: MaxPoolState) {
        guard gy == state.outputShape else {
            fatalError("maxPool2x2Backward: output gradient \(fmt(gy)) does not match the pooled output \(fmt(state.outputShape)) of input \(fmt(state.inputShape))")
        }
    }
}
