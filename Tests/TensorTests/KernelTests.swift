import Testing
import Support
@_spi(KernelTuning) @testable import Tensor

/// The oneDNN kernels against the reference loops on random inputs: odd and even sizes, several
/// channel counts, batch > 1, with and without bias, in both layout policies (NCHW primitives and
/// blocked primitives with reorders). Tolerance: 1e-4 of the largest reference magnitude (float32
/// sums of at most a few hundred products; oneDNN reorders the sums).
@Suite(.serialized)
struct KernelTests {
    static let tolerance: Float = 1e-4

    static func random(_ shape: [Int], _ rng: inout SeededRNG) -> Tensor {
        Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform(-1, 1)) })
    }

    static func expectClose(_ a: Tensor, _ ref: Tensor, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.shape == ref.shape, "\(what): shape", sourceLocation: sourceLocation)
        guard a.shape == ref.shape else { return }
        let scale = max(1, ref.scalars.map(abs).max() ?? 0)
        var worst: Float = 0, at = 0
        for i in 0..<a.count {
            let d = abs(a[flat: i] - ref[flat: i])
            if !(d <= worst) { worst = d; at = i }
        }
        #expect(worst <= tolerance * scale, "\(what): max |Δ| \(worst) at \(at) (scale \(scale))", sourceLocation: sourceLocation)
    }

    /// Runs `body` with NCHW primitives, with blocked primitives, and with the default rules
    /// (task-local overrides: tests of other suites running in parallel keep the default).
    static func bothLayouts(_ body: (String) -> Void) {
        for policy in [KernelLayoutPolicy.nchw, .blocked, .auto] {
            KernelTuning.$convLayout.withValue(policy) {
                KernelTuning.$transposedConvLayout.withValue(policy) { body("\(policy)") }
            }
        }
    }

    // (N, Ci, Co, H, W, K, padding)
    static let convCases: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (2, 3, 5, 7, 9, 3, 1), (3, 16, 8, 8, 8, 3, 1), (2, 1, 4, 6, 5, 3, 1),
        (2, 4, 6, 5, 6, 3, 0), (2, 17, 3, 4, 7, 1, 0), (1, 32, 16, 6, 6, 3, 1),
    ]

    @Test func conv2dForwardMatchesReference() {
        var rng = SeededRNG(seed: 11)
        for (n, ci, co, h, w, k, p) in Self.convCases {
            let x = Self.random([n, ci, h, w], &rng), wt = Self.random([co, ci, k, k], &rng), b = Self.random([co], &rng)
            for (bias, relu, slope) in [(true, false, Float(0)), (false, false, 0), (true, true, 0), (true, true, 0.1)] {
                let ref = ReferenceKernels.conv2d(x, wt, bias ? b : nil, padding: p, fuseReLU: relu, reluSlope: slope)
                Self.bothLayouts { layout in
                    let y = Kernels.conv2d(x, wt, bias ? b : nil, padding: p, fuseReLU: relu, reluSlope: slope)
                    Self.expectClose(y, ref, "conv2d \(layout) x \(x.shape) w \(wt.shape) p \(p) bias \(bias) relu \(relu) slope \(slope)")
                }
            }
        }
    }

    @Test func conv2dBackwardMatchesReference() {
        var rng = SeededRNG(seed: 12)
        for (n, ci, co, h, w, k, p) in Self.convCases {
            let x = Self.random([n, ci, h, w], &rng), wt = Self.random([co, ci, k, k], &rng)
            let gy = Self.random([n, co, h + 2 * p - k + 1, w + 2 * p - k + 1], &rng)
            let gxRef = ReferenceKernels.conv2dBackwardData(gy, wt, inputShape: x.shape, padding: p)
            let (dwRef, dbRef) = ReferenceKernels.conv2dBackwardWeights(x, gy, kernel: k, padding: p)
            Self.bothLayouts { layout in
                let gx = Kernels.conv2dBackwardData(gy, wt, inputShape: x.shape, padding: p)
                Self.expectClose(gx, gxRef, "conv2dBackwardData \(layout) x \(x.shape) w \(wt.shape) p \(p)")
                let (dw, db) = Kernels.conv2dBackwardWeights(x, gy, kernel: k, padding: p)
                Self.expectClose(dw, dwRef, "conv2dBackwardWeights dw \(layout) x \(x.shape) w \(wt.shape) p \(p)")
                Self.expectClose(db, dbRef, "conv2dBackwardWeights db \(layout) x \(x.shape) w \(wt.shape) p \(p)")
                let both = Kernels.conv2dBackward(x, gy, wt, padding: p)
                Self.expectClose(both.dx!, gxRef, "conv2dBackward dx \(layout) x \(x.shape) w \(wt.shape) p \(p)")
                Self.expectClose(both.dw, dwRef, "conv2dBackward dw \(layout) x \(x.shape) w \(wt.shape) p \(p)")
                Self.expectClose(both.db, dbRef, "conv2dBackward db \(layout) x \(x.shape) w \(wt.shape) p \(p)")
                let weightsOnly = Kernels.conv2dBackward(x, gy, wt, padding: p, inputGradient: false)
                #expect(weightsOnly.dx == nil)
                Self.expectClose(weightsOnly.dw, dwRef, "conv2dBackward weights only \(layout) x \(x.shape)")
            }
        }
    }

    // (N, Ci, Co, H, W)
    static let deconvCases: [(Int, Int, Int, Int, Int)] = [(2, 3, 5, 3, 4), (2, 16, 8, 4, 4), (3, 8, 16, 5, 3), (2, 1, 2, 2, 3)]

    @Test func transposedConvMatchesReference() {
        var rng = SeededRNG(seed: 13)
        for (n, ci, co, h, w) in Self.deconvCases {
            let x = Self.random([n, ci, h, w], &rng), wt = Self.random([ci, co, 2, 2], &rng), b = Self.random([co], &rng)
            let gy = Self.random([n, co, 2 * h, 2 * w], &rng)
            let yRef = ReferenceKernels.convTranspose2x2(x, wt, b), yRefNoBias = ReferenceKernels.convTranspose2x2(x, wt, nil)
            let gxRef = ReferenceKernels.convTranspose2x2BackwardData(gy, wt, inputShape: x.shape)
            let (dwRef, dbRef) = ReferenceKernels.convTranspose2x2BackwardWeights(x, gy)
            Self.bothLayouts { layout in
                let what = "\(layout) x \(x.shape) w \(wt.shape)"
                Self.expectClose(Kernels.convTranspose2x2(x, wt, b), yRef, "convTranspose2x2 \(what)")
                Self.expectClose(Kernels.convTranspose2x2(x, wt, nil), yRefNoBias, "convTranspose2x2 no bias \(what)")
                Self.expectClose(Kernels.convTranspose2x2BackwardData(gy, wt, inputShape: x.shape), gxRef, "convTranspose2x2BackwardData \(what)")
                let (dw, db) = Kernels.convTranspose2x2BackwardWeights(x, gy)
                Self.expectClose(dw, dwRef, "convTranspose2x2BackwardWeights dw \(what)")
                Self.expectClose(db, dbRef, "convTranspose2x2BackwardWeights db \(what)")
            }
        }
    }

    @Test(arguments: [KernelLayoutPolicy.nchw, .blocked])
    func maxPoolMatchesReference(policy: KernelLayoutPolicy) {
        KernelTuning.$poolLayout.withValue(policy) { Self.checkMaxPool() }
    }

    static func checkMaxPool() {
        var rng = SeededRNG(seed: 14)
        for shape in [[2, 3, 6, 8], [2, 5, 7, 9], [3, 16, 4, 5], [1, 1, 2, 2], [2, 17, 5, 4]] {
            let x = random(shape, &rng)
            let (yRef, sRef) = ReferenceKernels.maxPool2x2(x)
            let (y, s) = Kernels.maxPool2x2(x)
            #expect(y.scalars == yRef.scalars, "maxPool2x2 x \(shape)")
            let yInference = Kernels.maxPool2x2Inference(x)
            #expect(yInference.shape == yRef.shape && yInference.scalars == yRef.scalars, "maxPool2x2Inference x \(shape)")
            let gy = random(yRef.shape, &rng)
            let gxRef = ReferenceKernels.maxPool2x2Backward(gy, state: sRef)
            let gx = Kernels.maxPool2x2Backward(gy, state: s)
            #expect(gx.shape == shape)
            #expect(gx.scalars == gxRef.scalars, "maxPool2x2Backward x \(shape)")
            // A state from the reference kernel works with the production backward too.
            #expect(Kernels.maxPool2x2Backward(gy, state: sRef).scalars == gxRef.scalars)
        }
    }

    @Test func primitivesAreCachedAndThreadCountsAgree() {
        var rng = SeededRNG(seed: 15)
        let x = Self.random([2, 8, 10, 10], &rng), w = Self.random([8, 8, 3, 3], &rng)
        let y1 = Kernels.conv2d(x, w, nil, padding: 1)
        // Other suites may add primitives meanwhile: compare the ones of this (unusual) shape.
        let mine = KernelTuning.cachedPrimitives(matching: "x [2,8,10,10] w [8,8,3,3]")
        let y2 = Kernels.conv2d(x, w, nil, padding: 1)
        #expect(!mine.isEmpty)
        #expect(KernelTuning.cachedPrimitives(matching: "x [2,8,10,10] w [8,8,3,3]") == mine)
        #expect(y1.scalars == y2.scalars)
        // Task-local: a global setThreads(1) here changed the thread count under the trainer
        // tests running in parallel and broke their bit-exact resume comparison now and then.
        let y3 = Kernels.$threadsOverride.withValue(1) { Kernels.conv2d(x, w, nil, padding: 1) }
        Self.expectClose(y3, y1, "conv2d on 1 thread")
    }

    @Test func cacheEvictsLeastRecentlyUsed() {
        var rng = SeededRNG(seed: 16)
        let w = Self.random([4, 2, 3, 3], &rng)
        let saved = KernelTuning.cacheCapacity
        defer { KernelTuning.cacheCapacity = saved }
        KernelTuning.releaseCaches()
        KernelTuning.cacheCapacity = 4
        // Eight shapes through a cache of four: it never holds more than four, and results stay right.
        for size in 3..<11 {
            let x = Self.random([1, 2, size, size], &rng)
            Self.expectClose(Kernels.conv2d(x, w, nil, padding: 1), ReferenceKernels.conv2d(x, w, nil, padding: 1), "conv2d \(size)")
            #expect(KernelTuning.cachedPrimitiveCount <= 4)
        }
    }
}
