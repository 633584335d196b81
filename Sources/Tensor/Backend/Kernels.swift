/// The compute kernels of the engine: convolution, transposed convolution and max pooling on NCHW
/// tensors, forward and backward. The production path runs oneDNN primitives (cached per shape);
/// `ReferenceKernels` holds plain loops with the same signatures for tests.
public enum Kernels {
    /// 2-D convolution, stride 1, zero padding `padding`, square kernel K.
    /// x [N,Ci,H,W], w [Co,Ci,K,K] (PyTorch layout), b [Co] or nil → y [N,Co,H+2p-K+1,W+2p-K+1].
    /// `fuseReLU` applies ReLU to the output (a oneDNN post-op).
    public static func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, padding: Int, fuseReLU: Bool = false) -> Tensor {
        ReferenceKernels.conv2d(x, w, b, padding: padding, fuseReLU: fuseReLU)
    }

    /// dL/dx of `conv2d` (without the ReLU) given dL/dy.
    public static func conv2dBackwardData(_ gy: Tensor, _ w: Tensor, inputShape: [Int], padding: Int) -> Tensor {
        ReferenceKernels.conv2dBackwardData(gy, w, inputShape: inputShape, padding: padding)
    }

    /// dL/dw [Co,Ci,K,K] and dL/db [Co] (db = sum of gy over N,H,W) of `conv2d`.
    public static func conv2dBackwardWeights(_ x: Tensor, _ gy: Tensor, kernel: Int, padding: Int) -> (dw: Tensor, db: Tensor) {
        ReferenceKernels.conv2dBackwardWeights(x, gy, kernel: kernel, padding: padding)
    }

    /// Transposed convolution, kernel 2, stride 2: x [N,Ci,H,W], w [Ci,Co,2,2] (PyTorch
    /// ConvTranspose2d layout), b [Co] or nil → y [N,Co,2H,2W].
    public static func convTranspose2x2(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
        ReferenceKernels.convTranspose2x2(x, w, b)
    }

    /// dL/dx [N,Ci,H,W] of `convTranspose2x2` given dL/dy [N,Co,2H,2W].
    public static func convTranspose2x2BackwardData(_ gy: Tensor, _ w: Tensor, inputShape: [Int]) -> Tensor {
        ReferenceKernels.convTranspose2x2BackwardData(gy, w, inputShape: inputShape)
    }

    /// dL/dw [Ci,Co,2,2] and dL/db [Co] of `convTranspose2x2`.
    public static func convTranspose2x2BackwardWeights(_ x: Tensor, _ gy: Tensor) -> (dw: Tensor, db: Tensor) {
        ReferenceKernels.convTranspose2x2BackwardWeights(x, gy)
    }

    /// 2×2 max pooling, stride 2 (odd sizes: floor, as PyTorch). `state` carries what the backward
    /// pass needs.
    public static func maxPool2x2(_ x: Tensor) -> (y: Tensor, state: MaxPoolState) {
        ReferenceKernels.maxPool2x2(x)
    }

    /// dL/dx (the shape of the pooled input) given dL/dy; the gradient goes to each window's maximum.
    public static func maxPool2x2Backward(_ gy: Tensor, state: MaxPoolState) -> Tensor {
        ReferenceKernels.maxPool2x2Backward(gy, state: state)
    }

    /// Threads used by the kernels (default: all cores). Set once at start-up.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "Kernels.setThreads: thread count \(n) must be at least 1")
    }
}
