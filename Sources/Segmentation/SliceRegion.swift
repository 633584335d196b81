import Evaluation
import MedicalImage

/// The rectangle of an axial slice (in the scan's pixels, canonical orientation) that the
/// networks see, resized to the model size. The whole slice, or the square around the body.
///
/// Much of a CT's field of view can be air, table and padding. Cropping to the body before
/// the resize gives the networks more resolution for free where it is (a body square of 75 %
/// of the slice turns a 128² input into a 170² one), and the liver's edge is where a small
/// model loses Dice. nnU-Net crops to the non-zero region for the same reason. The demo's
/// phantoms are wide (their squares are 75–100 % of the slice), so the gain there is small.
public struct SliceRegion: Equatable, Sendable {
    /// May extend past the slice (the edge pixels repeat there).
    public var x0: Int, y0: Int, width: Int, height: Int

    public init(x0: Int, y0: Int, width: Int, height: Int) {
        precondition(width > 0 && height > 0, "SliceRegion: empty region")
        (self.x0, self.y0, self.width, self.height) = (x0, y0, width, height)
    }

    public static func full(width: Int, height: Int) -> SliceRegion { SliceRegion(x0: 0, y0: 0, width: width, height: height) }

    /// Above this (HU) a pixel is tissue rather than air: fat is about −100, lung −500 to
    /// −900, the table's foam pad below −500.
    public static let tissueHU: Float = -500

    /// Tissue thinner than twice this (mm) is not body: the table's shell, a skin fold, blur
    /// bridging the gap between patient and table.
    public static let openingRadius = 6.0

    /// The square around the body of a volume whose `depth` canonical planes `plane(k, buffer)`
    /// writes: on the maximum intensity projection along z (the body over all slices), the
    /// tissue eroded by `openingRadius`, its largest 8-connected component (the trunk: the
    /// table and thin structures are gone or apart), that component's box widened back by the
    /// radius and by `margin` of its side on each side, as a square centred on it, inside the
    /// slice where it fits. The whole slice when nothing is tissue or the body fills the slice.
    public static func body(width w: Int, height h: Int, depth: Int, spacing: (Double, Double), margin: Double = 0.04,
                            plane: (Int, UnsafeMutableBufferPointer<Float>) -> Void) -> SliceRegion {
        let full = SliceRegion.full(width: w, height: h)
        guard depth > 0 else { return full }
        var mip = [Float](repeating: -.infinity, count: w * h)
        var buffer = [Float](repeating: 0, count: w * h)
        for k in 0..<depth {
            buffer.withUnsafeMutableBufferPointer { plane(k, $0) }
            for i in mip.indices where buffer[i] > mip[i] { mip[i] = buffer[i] }
        }
        // Erosion: tissue farther than the radius from any air (the slice's edge counts as tissue).
        let air = mip.map { !($0 > tissueHU) }
        let d2 = DistanceTransform.squared(feature: air, shape: (w, h, 1), spacing: (spacing.0, spacing.1, 1))
        let r2 = openingRadius * openingRadius
        let core = d2.map { $0 > r2 ? UInt8(1) : 0 }
        let parts = core.withUnsafeBufferPointer { Components($0, labels: 1...1, shape: [w, h, 1]) }
        guard let largest = parts.sizes.indices.max(by: { parts.sizes[$0] < parts.sizes[$1] }) else { return full }
        let box = parts.boxes()[largest]
        let rx = Int((openingRadius / spacing.0).rounded(.up)), ry = Int((openingRadius / spacing.1).rounded(.up))
        let lo = (max(0, box.lower[0] - rx), max(0, box.lower[1] - ry)), hi = (min(w - 1, box.upper[0] + rx), min(h - 1, box.upper[1] + ry))
        let side = Int((Double(max(hi.0 - lo.0 + 1, hi.1 - lo.1 + 1)) * (1 + 2 * margin)).rounded(.up))
        guard side < max(w, h) else { return full }
        func place(_ lo: Int, _ hi: Int, _ n: Int) -> Int {
            let start = (lo + hi + 1 - side) / 2
            return side <= n ? max(0, min(n - side, start)) : start
        }
        return SliceRegion(x0: place(lo.0, hi.0, w), y0: place(lo.1, hi.1, h), width: side, height: side)
    }

    /// The networks' view of a volume's slices: the body's square with `bodyCrop`, else the whole slice.
    public static func view(bodyCrop: Bool, width w: Int, height h: Int, depth: Int, spacing: (Double, Double),
                            plane: (Int, UnsafeMutableBufferPointer<Float>) -> Void) -> SliceRegion {
        bodyCrop ? body(width: w, height: h, depth: depth, spacing: spacing, plane: plane) : .full(width: w, height: h)
    }

    /// The same for a volume in canonical orientation held in memory.
    public static func view(bodyCrop: Bool, of volume: Volume<Float>) -> SliceRegion {
        bodyCrop ? body(of: volume) : .full(width: volume.shape[0], height: volume.shape[1])
    }

    /// The body's square of a volume in canonical orientation.
    public static func body(of volume: Volume<Float>) -> SliceRegion {
        let (w, h, d) = (volume.shape[0], volume.shape[1], volume.shape[2])
        return volume.voxels.withUnsafeBufferPointer { v in
            body(width: w, height: h, depth: d, spacing: (volume.geometry.spacing[0], volume.geometry.spacing[1])) { k, out in _ = out.update(from: UnsafeBufferPointer(rebasing: v[(k * w * h)..<((k + 1) * w * h)])) }
        }
    }
}
