import Foundation
import MedicalImage

/// PNG montages of axial slices for judging realism by eye: soft-tissue window, displayed
/// the radiological way (patient's right on the image's left, anterior up) whatever the
/// file's axis order, with the liver region outlined in green and tumors in red.
public enum PhantomPreview {
    /// A montage of `tiles` slices spread over the labelled liver (and a little beyond).
    public static func montage(image: Volume<Float>, labels: Volume<UInt8>, tiles: Int = 12, columns: Int = 4,
                               tileSize: Int = 256, window: (center: Float, width: Float) = (50, 400)) -> RGBImage {
        let (nx, ny, nz) = (image.shape[0], image.shape[1], image.shape[2])
        // Slices with liver, spread evenly; fall back to the whole range.
        var liverSlices: [Int] = []
        for k in 0..<nz {
            let base = k * nx * ny
            var any = false
            for p in stride(from: 0, to: nx * ny, by: 7) where labels.voxels[base + p] > 0 { any = true; break }
            if any { liverSlices.append(k) }
        }
        let lo = max(0, (liverSlices.first ?? 0) - 2), hi = min(nz - 1, (liverSlices.last ?? nz - 1) + 2)
        let count = min(tiles, hi - lo + 1)
        let chosen = (0..<count).map { t in count == 1 ? lo : lo + (hi - lo) * t / (count - 1) }
        let rows = (count + columns - 1) / columns
        let ts = min(tileSize, max(nx, ny))
        var out = RGBImage(width: columns * ts, height: max(1, rows) * ts)
        let codes = Array(image.geometry.axisCodes)
        // Display column runs toward the patient's left, display row toward posterior.
        let flipI = codes[0] == "R", flipJ = codes[1] == "A"
        let wlo = window.center - window.width / 2
        for (t, k) in chosen.enumerated() {
            let ox = (t % columns) * ts, oy = (t / columns) * ts
            var lab = [UInt8](repeating: 0, count: ts * ts)
            for y in 0..<ts {
                for x in 0..<ts {
                    var i = x * nx / ts, j = y * ny / ts
                    if flipI { i = nx - 1 - i }
                    if flipJ { j = ny - 1 - j }
                    let idx = i + nx * (j + ny * k)
                    let g = UInt8(min(max((image.voxels[idx] - wlo) / window.width * 255, 0), 255))
                    out.set(ox + x, oy + y, (g, g, g))
                    lab[y * ts + x] = labels.voxels[idx]
                }
            }
            for y in 1..<(ts - 1) {
                for x in 1..<(ts - 1) {
                    let l = lab[y * ts + x]
                    if l == 0 { continue }
                    let nb = [lab[y * ts + x - 1], lab[y * ts + x + 1], lab[(y - 1) * ts + x], lab[(y + 1) * ts + x]]
                    if l == 2 && nb.contains(where: { $0 != 2 }) {
                        out.set(ox + x, oy + y, (255, 40, 40))
                    } else if nb.contains(0) {
                        out.set(ox + x, oy + y, (40, 220, 60))
                    }
                }
            }
        }
        return out
    }
}
