import Testing
@testable import Tensor

/// The hashed dropout mask: the right share dropped, kept elements scaled by 1/(1 − p), the same
/// mask for a key however the work is split, another mask for another key, and no pattern
/// along the index (neighbouring elements are dropped independently).
struct DropoutTests {
    @Test func maskHasTheRightShareAndScaleAndDependsOnlyOnTheKey() {
        let n = 1 << 20
        let x = Tensor(shape: [1, 1, 1, n], values: (0..<n).map { Float($0 % 7) - 3 })
        let p: Float = 0.4
        let (y, mask) = Tensor.dropout(x, p: p, key: 12345)
        var dropped = 0, bothDropped = 0
        for i in 0..<n {
            let m = mask[flat: i]
            #expect(m == 0 || m == 1 / (1 - p))
            if y[flat: i] != x[flat: i] * m { Issue.record("output \(i) is not input × mask"); break }
            if m == 0 { dropped += 1; if i > 0 && mask[flat: i - 1] == 0 { bothDropped += 1 } }
        }
        // Binomial(n, 0.4): standard deviation 0.00048 of n; allow 5 of them.
        #expect(abs(Double(dropped) / Double(n) - 0.4) < 0.0024)
        // Pairs of neighbours both dropped: p² = 0.16 if independent.
        #expect(abs(Double(bothDropped) / Double(n - 1) - 0.16) < 0.002)

        // Element i's draw depends on (key, i) only, so the parallel chunks give what one
        // sequential pass gives, and a second call the same mask.
        let cut = UInt64((Double(p) * 16_777_216).rounded())             // p of 2^24
        let sequential = (0..<n).map { dropoutHash(12345, UInt64($0)) >> 40 < cut ? Float(0) : 1 / (1 - p) }
        let sameAsSequential = mask.scalars == sequential, sameAgain = Tensor.dropout(x, p: p, key: 12345).mask.scalars == mask.scalars
        #expect(sameAsSequential && sameAgain)
        let other = Tensor.dropout(x, p: p, key: 12346).mask
        let differ = (0..<n).filter { other[flat: $0] != mask[flat: $0] }.count
        // Independent masks differ where exactly one drops: 2·p·(1 − p) = 0.48.
        #expect(abs(Double(differ) / Double(n) - 0.48) < 0.003)
    }
}
