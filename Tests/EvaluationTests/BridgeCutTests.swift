import Testing
@testable import Evaluation

/// The largest component after cutting thin bridges, against distances worked out by hand.
struct BridgeCutTests {
    static let shape = [24, 12, 8]
    static func index(_ i: Int, _ j: Int, _ k: Int) -> Int { (k * shape[1] + j) * shape[0] + i }

    /// A 10×10×6 "liver" (x 0–9), a 6×6×4 "spleen" (x 16–21, y 2–7, z 1–4), and a bridge one
    /// voxel thick between them along x 10–15 at y 5, z 3. One tumor voxel inside the liver.
    static func organs() -> [UInt8] {
        var v = [UInt8](repeating: 0, count: shape.reduce(1, *))
        for k in 0..<6 { for j in 0..<10 { for i in 0..<10 { v[index(i, j, k)] = 1 } } }
        for k in 1..<5 { for j in 2..<8 { for i in 16..<22 { v[index(i, j, k)] = 1 } } }
        for i in 10..<16 { v[index(i, 5, 3)] = 1 }
        v[index(4, 4, 2)] = 2
        return v
    }

    @Test func radiusZeroKeepsTheJoinedOrgansWhole() {
        var v = Self.organs()
        BridgeCut.keepLargest(&v, range: 1...2, shape: Self.shape, radius: 0)
        #expect(v == Self.organs())
    }

    @Test func radiusOneCutsTheBridgeWhereTheGrowthsMeet() {
        var v = Self.organs()
        BridgeCut.keepLargest(&v, range: 1...2, shape: Self.shape, radius: 1)
        // Cores after one erosion: liver x 1–8, y 1–8, z 1–4; spleen x 17–20, y 3–6, z 2–3.
        // Growing through the bridge, the liver's core reaches x = 10, 11, 12, 13 at steps
        // 2, 3, 4, 5 and the spleen's reaches x = 15, 14, 13 at steps 2, 3, 4: x 10–12 stay
        // with the liver, x 13–15 go with the spleen.
        var expected = Self.organs()
        for k in 1..<5 { for j in 2..<8 { for i in 16..<22 { expected[Self.index(i, j, k)] = 0 } } }
        for i in 13..<16 { expected[Self.index(i, 5, 3)] = 0 }
        #expect(v == expected)
        #expect(v.filter { $0 != 0 }.count == 600 + 3)
        #expect(v[Self.index(4, 4, 2)] == 2)
    }

    @Test func aMaskThatErodesAwayFallsBackToThePlainLargestComponent() {
        // Two slabs two voxels thick (nothing survives one erosion): 6×6×2 and 4×4×2 voxels.
        var v = [UInt8](repeating: 0, count: Self.shape.reduce(1, *))
        for k in 0..<2 { for j in 0..<6 { for i in 0..<6 { v[Self.index(i, j, k)] = 1 } } }
        for k in 4..<6 { for j in 0..<4 { for i in 10..<14 { v[Self.index(i, j, k)] = 1 } } }
        var expected = v
        for k in 4..<6 { for j in 0..<4 { for i in 10..<14 { expected[Self.index(i, j, k)] = 0 } } }
        BridgeCut.keepLargest(&v, range: 1...2, shape: Self.shape, radius: 1)
        #expect(v == expected)
    }

    @Test func anEmptyMaskStaysEmpty() {
        var v = [UInt8](repeating: 0, count: Self.shape.reduce(1, *))
        BridgeCut.keepLargest(&v, range: 1...2, shape: Self.shape, radius: 1)
        #expect(!v.contains { $0 != 0 })
    }
}
