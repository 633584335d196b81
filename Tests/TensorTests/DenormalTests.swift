import CDNNL
import Foundation
import Testing
@testable import Tensor

/// Denormals are flushed in the elementwise loops on every thread, the dispatch workers
/// included, so that a result does not depend on which thread computed it. Without flushing,
/// each expected zero below is 1e-40.
@Suite
struct DenormalTests {
    /// 1e-20 · 1e-20 = 1e-40, a denormal result; 2¹⁸ elements run in parallel chunks.
    static func tinyProducts() -> [Float] {
        let a = Tensor(shape: [1 << 18], repeating: 1e-20)
        return (a * a).scalars
    }

    @Test func elementwiseResultsFlushToZero() {
        #expect(Self.tinyProducts().allSatisfy { $0 == 0 })
        // Products in the normal range are untouched.
        let b = Tensor(shape: [1 << 18], repeating: 1e-18)
        #expect((b * b).scalars.allSatisfy { $0 == Float(1e-18) * Float(1e-18) && $0 > 0 })
    }

    /// The loops restore the caller's mode: a library user's thread that keeps denormals keeps
    /// them in its own code after a tensor operation, which itself still flushed.
    @Test func theCallersModeIsRestored() {
        let own = liverseg_denormal_mode()
        liverseg_set_denormal_mode(0)
        defer { liverseg_set_denormal_mode(own) }
        #expect(Self.tinyProducts().allSatisfy { $0 == 0 })
        #expect(!Denormals.flushedOnThisThread)
        #expect(Denormals.flushed { Denormals.flushedOnThisThread })
        #expect(!Denormals.flushedOnThisThread)
    }
}
