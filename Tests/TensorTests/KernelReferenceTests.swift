import Testing
@testable import Tensor

/// The reference kernels against cases small enough to work out by hand (comments show the sums).
struct KernelReferenceTests {
    // x = 1…9 in a 3×3 plane; w has taps at (0,1)=1, (1,0)=2, (2,2)=3, so with padding 1
    // y[i,j] = x[i-1,j] + 2·x[i,j-1] + 3·x[i+1,j+1] (cross-correlation, as PyTorch), zeros outside.
    let x = Tensor(shape: [1, 1, 3, 3], values: [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let w = Tensor(shape: [1, 1, 3, 3], values: [0, 1, 0, 2, 0, 0, 0, 0, 3])

    @Test func conv2dByHand() {
        let y = ReferenceKernels.conv2d(x, w, nil, padding: 1)
        // (0,0): 0+0+3·5  (0,1): 0+2·1+3·6  (0,2): 0+2·2+0  (1,0): 1+0+3·8  (1,1): 2+2·4+3·9
        // (1,2): 3+2·5+0  (2,0): 4+0+0  (2,1): 5+2·7+0  (2,2): 6+2·8+0
        #expect(y.shape == [1, 1, 3, 3])
        #expect(y.scalars == [15, 20, 4, 25, 37, 13, 4, 19, 22])
        let valid = ReferenceKernels.conv2d(x, w, Tensor(shape: [1], values: [0.5]), padding: 0)
        #expect(valid.shape == [1, 1, 1, 1])
        let expected: Float = 2 + 2 * 4 + 3 * 9 + 0.5
        #expect(valid.scalars == [expected])
    }

    @Test func conv2dReLUByHand() {
        let y = ReferenceKernels.conv2d(x, w, Tensor(shape: [1], values: [-15]), padding: 1, fuseReLU: true)
        #expect(y.scalars == [0, 5, 0, 10, 22, 0, 0, 4, 7])
        // Leaky, slope 0.25: the negatives y − 15 = −11, −2, −11, −15 become a quarter of themselves.
        let leaky = ReferenceKernels.conv2d(x, w, Tensor(shape: [1], values: [-15]), padding: 1, fuseReLU: true, reluSlope: 0.25)
        #expect(leaky.scalars == [0, 5, -2.75, 10, 22, -0.5, -2.75, 4, 7])
    }

    @Test func conv2dBackwardByHand() {
        let gy = Tensor(shape: [1, 1, 3, 3], repeating: 1)
        // x[i,j] feeds y[i+1,j] (tap 1), y[i,j+1] (tap 2), y[i-1,j-1] (tap 3) where those exist.
        let gx = ReferenceKernels.conv2dBackwardData(gy, w, inputShape: [1, 1, 3, 3], padding: 1)
        #expect(gx.scalars == [3, 3, 1, 3, 6, 4, 2, 5, 3])
        let (dw, db) = ReferenceKernels.conv2dBackwardWeights(x, gy, kernel: 3, padding: 1)
        #expect(dw.shape == [1, 1, 3, 3])
        #expect(dw[0, 0, 1, 1] == 45)            // every x once
        #expect(dw[0, 0, 0, 0] == 1 + 2 + 4 + 5) // x[oy-1, ox-1]: the top-left 2×2
        #expect(dw[0, 0, 2, 2] == 5 + 6 + 8 + 9) // x[oy+1, ox+1]: the bottom-right 2×2
        #expect(dw[0, 0, 0, 1] == 1 + 2 + 3 + 4 + 5 + 6)
        #expect(db.scalars == [9])
    }

    @Test func transposedConvOfOneHotPlacesTheKernel() {
        // Ci = 2, Co = 3; a single 1 at channel 1, (1,2) must copy w[1,o] into y[o, 2…3, 4…5].
        var x = Tensor(shape: [1, 2, 3, 3], repeating: 0)
        x[0, 1, 1, 2] = 1
        let w = Tensor(shape: [2, 3, 2, 2], values: (0..<24).map { Float($0 + 1) })
        let b = Tensor(shape: [3], values: [10, 20, 30])
        let y = ReferenceKernels.convTranspose2x2(x, w, b)
        #expect(y.shape == [1, 3, 6, 6])
        for o in 0..<3 {
            for r in 0..<6 {
                for c in 0..<6 {
                    let inBlock = (2...3).contains(r) && (4...5).contains(c)
                    let expected = b[o] + (inBlock ? w[1, o, r - 2, c - 4] : 0)
                    #expect(y[0, o, r, c] == expected)
                }
            }
        }
        // Backward: a one-hot gradient at y[0,2,3,4] reaches x[·,c,1,2] through w[c,2,1,0].
        var gy = Tensor(shape: [1, 3, 6, 6], repeating: 0)
        gy[0, 2, 3, 4] = 1
        let gx = ReferenceKernels.convTranspose2x2BackwardData(gy, w, inputShape: [1, 2, 3, 3])
        #expect(gx[0, 0, 1, 2] == w[0, 2, 1, 0] && gx[0, 1, 1, 2] == w[1, 2, 1, 0])
        #expect(gx.scalars.filter { $0 != 0 }.count == 2)
        let (dw, db) = ReferenceKernels.convTranspose2x2BackwardWeights(x, gy)
        #expect(dw[1, 2, 1, 0] == 1 && dw.scalars.filter { $0 != 0 }.count == 1)
        #expect(db.scalars == [0, 0, 1])
    }

    @Test func maxPoolTiesAndOddSizes() {
        // 4×5 input: the last column is dropped (floor). Window (0,0) ties 3,3,_,3 → first one wins;
        // window (0,1) all equal → top-left; window (1,0) max at bottom-right; window (1,1) bottom-left.
        let x = Tensor(shape: [1, 1, 4, 5], values: [
            3, 3, 7, 7, 100,
            1, 3, 7, 7, 100,
            0, 1, -5, -2, 100,
            2, 4, -1, -3, 100,
        ])
        let (y, state) = ReferenceKernels.maxPool2x2(x)
        #expect(y.shape == [1, 1, 2, 2])
        #expect(y.scalars == [3, 7, 4, -1])
        let gx = ReferenceKernels.maxPool2x2Backward(Tensor(shape: [1, 1, 2, 2], values: [1, 2, 3, 4]), state: state)
        #expect(gx.scalars == [
            1, 0, 2, 0, 0,
            0, 0, 0, 0, 0,
            0, 0, 0, 0, 0,
            0, 3, 4, 0, 0,
        ])
    }
}
