/// One thing to paint into an axial plane: an implicit field over a box, and the tissues it
/// paints where the field is below each threshold (outer shell first, then deeper layers).
struct PaintItem {
    var box: Box
    /// Spacing (mm) of the lattice the field is sampled on; values in between are bilinear.
    /// Organ fields are smooth, so a few millimetres suffice; small objects ask for less.
    var step: Float
    /// Descending thresholds: tissue of the last layer whose threshold exceeds the value.
    var layers: [(threshold: Float, tissue: UInt8)]
    /// Paint only over these tissues (nil: over anything).
    var clip: TissueSet?
    var field: (Float, Float) -> Float

    init(box: Box, step: Float, layers: [(Float, UInt8)], clip: TissueSet? = nil, field: @escaping (Float, Float) -> Float) {
        self.box = box
        self.step = step
        self.layers = layers.map { (threshold: $0.0, tissue: $0.1) }
        self.clip = clip
        self.field = field
    }

    init(box: Box, step: Float, tissue: Tissue, clip: TissueSet? = nil, field: @escaping (Float, Float) -> Float) {
        self.init(box: box, step: step, layers: [(0, tissue.rawValue)], clip: clip, field: field)
    }
}

/// Paints items into a tissue plane: fields are sampled on a coarse lattice and interpolated,
/// cells wholly outside are skipped, so the cost is mostly one compare per covered pixel.
struct SliceRasterizer {
    let nx: Int, ny: Int
    /// Pixel size (mm) and the pixel coordinates of the anatomical origin.
    let spacing: Float
    let cu: Float, cv: Float
    private var coarse: [Float] = []
    private var row: [Float] = []

    init(nx: Int, ny: Int, spacing: Float, cu: Float, cv: Float) {
        self.nx = nx; self.ny = ny; self.spacing = spacing; self.cu = cu; self.cv = cv
    }

    @inline(__always) func u(_ c: Int) -> Float { (Float(c) - cu) * spacing }
    @inline(__always) func v(_ r: Int) -> Float { (Float(r) - cv) * spacing }

    mutating func paint(_ item: PaintItem, into tissue: UnsafeMutablePointer<UInt8>) {
        let s = spacing
        let c0 = max(0, Int((item.box.u0 / s + cu).rounded(.down)))
        let c1 = min(nx - 1, Int((item.box.u1 / s + cu).rounded(.up)))
        let r0 = max(0, Int((item.box.v0 / s + cv).rounded(.down)))
        let r1 = min(ny - 1, Int((item.box.v1 / s + cv).rounded(.up)))
        if c0 > c1 || r0 > r1 { return }
        let g = max(1, min(8, Int((item.step / s).rounded())))
        let na = (c1 - c0) / g + 2, nb = (r1 - r0) / g + 2
        if coarse.count < na * nb { coarse = [Float](repeating: 0, count: na * nb) }
        if row.count < na { row = [Float](repeating: 0, count: na) }
        let field = item.field
        for b in 0..<nb {
            let vv = v(r0 + b * g)
            for a in 0..<na { coarse[b * na + a] = field(u(c0 + a * g), vv) }
        }
        let th0 = item.layers[0].threshold
        let nLayers = item.layers.count
        var ths: (Float, Float, Float, Float) = (th0, -1e30, -1e30, -1e30)
        var tis: (UInt8, UInt8, UInt8, UInt8) = (item.layers[0].tissue, 0, 0, 0)
        if nLayers > 1 { ths.1 = item.layers[1].threshold; tis.1 = item.layers[1].tissue }
        if nLayers > 2 { ths.2 = item.layers[2].threshold; tis.2 = item.layers[2].tissue }
        if nLayers > 3 { ths.3 = item.layers[3].threshold; tis.3 = item.layers[3].tissue }
        let clip = item.clip
        let invG = 1 / Float(g)
        coarse.withUnsafeBufferPointer { cb in
            row.withUnsafeMutableBufferPointer { rb in
                for r in r0...r1 {
                    let b = (r - r0) / g
                    let fb = Float(r - r0 - b * g) * invG
                    let top = b * na, bot = top + na
                    var anyInside = false
                    for a in 0..<na {
                        let x = cb[top + a] + (cb[bot + a] - cb[top + a]) * fb
                        rb[a] = x
                        if x < th0 { anyInside = true }
                    }
                    if !anyInside { continue }
                    let rowPtr = tissue + r * nx
                    for a in 0..<(na - 1) {
                        let lo = rb[a], hi = rb[a + 1]
                        if lo >= th0 && hi >= th0 { continue }
                        let cStart = c0 + a * g
                        if cStart > c1 { break }
                        let cEnd = min(c1, cStart + g - 1)
                        let d = (hi - lo) * invG
                        var val = lo
                        for c in cStart...cEnd {
                            if val < th0 {
                                if clip == nil || clip!.contains(rowPtr[c]) {
                                    var t = tis.0
                                    if val < ths.1 { t = tis.1 }
                                    if val < ths.2 { t = tis.2 }
                                    if val < ths.3 { t = tis.3 }
                                    rowPtr[c] = t
                                }
                            }
                            val += d
                        }
                    }
                }
            }
        }
    }
}
