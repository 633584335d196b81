import Testing
@testable import Tensor

/// Misuse stops the process with a message naming the op and the shapes (exit tests run the
/// closure in a child process and read its standard error).
struct KernelMisuseTests {
    static func stderrText(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func conv2dChannelMismatchNamesShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Kernels.conv2d(Tensor(shape: [2, 3, 8, 8]), Tensor(shape: [16, 4, 3, 3]), nil, padding: 1)
        }
        #expect(Self.stderrText(result).contains("conv2d: input [2,3,8,8] has 3 channels but weight [16,4,3,3] expects 4"))
    }

    @Test func nonFourDInputNamesOp() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Kernels.maxPool2x2(Tensor(shape: [3, 8, 8]))
        }
        #expect(Self.stderrText(result).contains("maxPool2x2: input [3,8,8] must be 4-D (N,C,H,W)"))
    }

    @Test func transposedConvBiasMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Kernels.convTranspose2x2(Tensor(shape: [1, 4, 3, 3]), Tensor(shape: [4, 2, 2, 2]), Tensor(shape: [3]))
        }
        #expect(Self.stderrText(result).contains("convTranspose2x2: bias [3] does not match weight [4,2,2,2] (expected [2])"))
    }

    @Test func backwardGradientShapeMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Kernels.conv2dBackwardData(Tensor(shape: [2, 16, 8, 8]), Tensor(shape: [16, 3, 3, 3]), inputShape: [2, 3, 8, 8], padding: 0)
        }
        #expect(Self.stderrText(result).contains("conv2dBackwardData: output gradient [2,16,8,8] does not match the conv output [2,16,6,6]"))
    }

    @Test func combinedBackwardWeightMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Kernels.conv2dBackward(Tensor(shape: [2, 3, 8, 8]), Tensor(shape: [2, 16, 8, 8]), Tensor(shape: [16, 4, 3, 3]), padding: 1)
        }
        #expect(Self.stderrText(result).contains("conv2dBackward: weight [16,4,3,3] does not match input [2,3,8,8] and output gradient [2,16,8,8] (expected [16,3,3,3])"))
    }
}
