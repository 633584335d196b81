/// An exact axis permutation and flip of a voxel grid, e.g. to bring any scan to canonical RAS
/// for the networks and the predicted labels back onto the input's grid. No interpolation:
/// voxels move, values do not change, and `revert` restores the original grid bit for bit.
public struct Reorientation: Sendable, Equatable {
    /// Geometry before reorienting (restored by `revert`).
    public let source: Geometry
    /// Geometry after reorienting.
    public let target: Geometry
    /// For each source voxel axis: the target axis it becomes, and whether it is reversed.
    public let axis: [Int]
    public let flip: [Bool]

    /// Reorientation of `geometry` to the axis codes `codes` (default canonical "RAS"; any
    /// permutation of one of R/L, A/P, S/I each, e.g. "LPS").
    public init(from geometry: Geometry, to codes: String = "RAS") throws {
        let letters = Array(codes.uppercased())
        let worldOf: [Character: (Int, Int)] = ["R": (0, 1), "L": (0, -1), "A": (1, 1), "P": (1, -1), "S": (2, 1), "I": (2, -1)]
        guard letters.count == 3, let t = Optional(letters.compactMap { worldOf[$0] }), t.count == 3,
              Set(t.map(\.0)).count == 3 else {
            throw MedicalImageError(.badValue, codes, "not axis codes: use one of R/L, A/P, S/I per axis, e.g. RAS or LPS")
        }
        let o = geometry.orientation
        var axis = [0, 0, 0], flip = [false, false, false]
        for src in 0..<3 {
            let dst = t.firstIndex { $0.0 == o[src].worldAxis }!
            axis[src] = dst
            flip[src] = o[src].sign != t[dst].1
        }
        self.init(source: geometry, axis: axis, flip: flip)
    }

    init(source: Geometry, axis: [Int], flip: [Bool]) {
        self.source = source
        self.axis = axis
        self.flip = flip
        var shape = [0, 0, 0]
        for s in 0..<3 { shape[axis[s]] = source.shape[s] }
        // Target index → source index: src[s] = flip ? n−1 − dst[axis[s]] : dst[axis[s]].
        // So A_target = A_source · T with T[s][axis[s]] = ±1 and T[s][3] = n−1 when flipped.
        var m = [Double](repeating: 0, count: 16)
        for r in 0..<3 {
            var trans = source.a(r, 3)
            for s in 0..<3 {
                let col = axis[s]
                m[r * 4 + col] = flip[s] ? -source.a(r, s) : source.a(r, s)
                if flip[s] { trans += source.a(r, s) * Double(source.shape[s] - 1) }
            }
            m[r * 4 + 3] = trans
        }
        m[15] = 1
        target = Geometry(shape: shape, affine: m)
    }

    public var isIdentity: Bool { axis == [0, 1, 2] && flip == [false, false, false] }

    /// Stride (and start) in the input array for a unit step along each output axis; forward:
    /// the input is on the source grid and the output on the target grid.
    private func walk(forward: Bool) -> (start: Int, stride: [Int]) {
        var stride = [0, 0, 0]
        var start = 0
        let srcStrides = [1, source.shape[0], source.shape[0] * source.shape[1]]
        let dstStrides = [1, target.shape[0], target.shape[0] * target.shape[1]]
        for s in 0..<3 {
            let d = axis[s]
            let sign = flip[s] ? -1 : 1
            if forward {
                // Output (target) axis d walks source axis s.
                stride[d] = sign * srcStrides[s]
                if flip[s] { start += (source.shape[s] - 1) * srcStrides[s] }
            } else {
                stride[s] = sign * dstStrides[d]
                if flip[s] { start += (source.shape[s] - 1) * dstStrides[d] }
            }
        }
        return (start, stride)
    }

    /// Plane `k` (the third axis) of the target grid, read straight from voxels on the source
    /// grid: one slice of the reoriented volume without building all of it (the whole copy
    /// would double a segmentation's memory for every input not already in the target order).
    public func targetSlice(_ k: Int, of voxels: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        gatherSlice(k, of: voxels, into: out) { $0 }
    }

    /// `targetSlice` with each voxel converted on the way (raw integers to intensities);
    /// specialized per caller inside this module.
    @inline(__always)
    func gatherSlice<S>(_ k: Int, of voxels: UnsafeBufferPointer<S>, into out: UnsafeMutableBufferPointer<Float>, _ convert: (S) -> Float) {
        let (nx, ny) = (target.shape[0], target.shape[1])
        precondition(k >= 0 && k < target.shape[2] && voxels.count == source.shape.reduce(1, *) && out.count >= nx * ny,
                     "Reorientation.targetSlice: plane \(k) or buffer sizes do not fit the grids")
        let (start, stride) = walk(forward: true)
        var o = 0
        let bk = start + k * stride[2]
        for j in 0..<ny {
            var idx = bk + j * stride[1]
            for _ in 0..<nx { out[o] = convert(voxels[idx]); idx += stride[0]; o += 1 }
        }
    }

    /// Moves voxels from the source grid to the target grid.
    public func apply<T>(_ volume: Volume<T>) -> Volume<T> {
        precondition(volume.shape == source.shape, "Reorientation.apply: volume shape \(volume.shape) is not the source shape \(source.shape)")
        var out = volume
        out.geometry = target
        if isIdentity { return out }
        out.voxels = permute(volume.voxels, from: source.shape, to: target.shape, forward: true)
        return out
    }

    /// Moves voxels from the target grid back to the source grid (and geometry).
    public func revert<T>(_ volume: Volume<T>) -> Volume<T> {
        precondition(volume.shape == target.shape, "Reorientation.revert: volume shape \(volume.shape) is not the target shape \(target.shape)")
        var out = volume
        out.geometry = source
        if isIdentity { return out }
        out.voxels = permute(volume.voxels, from: target.shape, to: source.shape, forward: false)
        return out
    }

    private func permute<T>(_ v: [T], from: [Int], to: [Int], forward: Bool) -> [T] {
        let (start, stride) = walk(forward: forward)
        let count = to[0] * to[1] * to[2]
        // Called unspecialized from other modules: copy plain-data scalars by size, so the
        // inner loop is a load and a store rather than a witness call per voxel.
        @inline(__always) func gather<U>(_: U.Type, _ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer) {
            let p = src.assumingMemoryBound(to: U.self), q = dst.assumingMemoryBound(to: U.self)
            var o = 0
            for k in 0..<to[2] {
                let bk = start + k * stride[2]
                for j in 0..<to[1] {
                    var idx = bk + j * stride[1]
                    for _ in 0..<to[0] { q[o] = p[idx]; idx += stride[0]; o += 1 }
                }
            }
        }
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            v.withUnsafeBufferPointer { p in
                let src = UnsafeRawPointer(p.baseAddress!), dst = UnsafeMutableRawPointer(out.baseAddress!)
                switch (_isPOD(T.self), MemoryLayout<T>.stride) {
                case (true, 1): gather(UInt8.self, src, dst)
                case (true, 2): gather(UInt16.self, src, dst)
                case (true, 4): gather(UInt32.self, src, dst)
                case (true, 8): gather(UInt64.self, src, dst)
                default:
                    var o = 0
                    for k in 0..<to[2] {
                        let bk = start + k * stride[2]
                        for j in 0..<to[1] {
                            var idx = bk + j * stride[1]
                            for _ in 0..<to[0] {
                                (out.baseAddress! + o).initialize(to: p[idx])
                                idx += stride[0]
                                o += 1
                            }
                        }
                    }
                }
            }
            initialized = count
        }
    }
}

extension Volume {
    /// This volume with its axes permuted/flipped to `codes` (canonical RAS by default), and the
    /// reorientation that undoes it.
    public func reoriented(to codes: String = "RAS") throws -> (volume: Volume<Scalar>, reorientation: Reorientation) {
        let r = try Reorientation(from: geometry, to: codes)
        return (r.apply(self), r)
    }
}
