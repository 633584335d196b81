import Foundation
import MedicalImage
import Support

/// Synthetic abdominal CT in the portal venous phase with exact liver/tumor labels.
///
/// Each case is a random anatomy (implicit 3-D organ shapes), rasterized axial plane by
/// plane into tissue classes, mapped to HU with per-case attenuations and a smooth texture,
/// integrated over the slice thickness (partial volume), blurred in-plane like a
/// reconstruction kernel, and given CT-like correlated noise. Case i depends only on
/// (seed, i) and the config: any case can be generated alone, byte-identically.
public struct PhantomGenerator: Sendable {
    public let config: PhantomConfig

    public init(_ config: PhantomConfig = PhantomConfig()) {
        self.config = config
    }

    public func makeCase(index: Int, seed: UInt64) throws -> PhantomCase {
        try build(index: index, seed: seed).case
    }

    /// Mixed into the seed for the lesions' contrast factors ("tumorctr").
    static let contrastStreamKey: UInt64 = 0x7475_6D6F_7263_7472

    /// Slice thicknesses scanners reconstruct at (mm).
    static let thicknesses: [Float] = [0.7, 0.8, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0]

    /// Everything random about a case except the pixels: anatomy, grid, imaging settings.
    struct Plan {
        let anat: Anatomy
        let table: TissueTable
        let n: Int, s: Float, nz: Int, dz: Float, zBottom: Float, zTop: Float
        let offU: Float, offV: Float, recoL: Float, recoP: Float, oS: Float, lps: Bool
        let sigma: Float, blurMM: Float, fineMM: Float
        let noiseSeed: UInt64, textureSeed: UInt64
        let streakRays: [(angle: Float, amp: Float)]
        var frame: CaseFrame { CaseFrame(recoL: recoL, recoP: recoP, offU: offU, offV: offV, oS: oS, zBottom: zBottom) }
    }

    func plan(index: Int, seed: UInt64) throws -> Plan {
        try config.validate()
        guard index >= 0 else { throw PhantomError("case index \(index) must be ≥ 0") }
        var rng = SeededRNG(seed: seed, stream: UInt64(index))
        var table = TissueTable.sample(&rng)
        let nTumors: Int
        if let r = config.tumorCount {
            nTumors = r.lowerBound + rng.below(r.count)
        } else {
            nTumors = TumorShape.sampleCount(&rng)
        }
        let anat = Anatomy(rng: &rng, tumorPlan: TumorPlan(count: nTumors))
        if let range = config.tumorContrast {
            // A stream of its own: the case's other draws stay as they are without the option.
            var contrastRng = SeededRNG(seed: seed ^ Self.contrastStreamKey, stream: UInt64(index))
            anat.scaleTumorContrast(anat.placedTumors.map { _ in Float(contrastRng.uniform(range.lowerBound, range.upperBound)) })
        }
        for (i, t) in anat.placedTumors.enumerated() { t.apply(index: i, to: &table) }

        // Grid: field of view from the patient's size, slice thickness from the coverage.
        let n = config.size
        let width = 2 * anat.A, depth = anat.halfDepthAnt(-200) + anat.bPost + 15
        let minS512 = max(0.6, (max(width, depth) + 30) / 512)
        let s512 = minS512 < 0.9 ? rng.f(minS512, 0.9) : minS512
        let s = s512 * 512 / Float(n)
        let nz = config.slices.lowerBound + rng.below(config.slices.count)
        let liverH = anat.liverZ.upperBound - anat.liverZ.lowerBound
        var options = Self.thicknesses.filter { t in let c = Float(nz) * t; return c >= liverH + 20 && c <= 420 }
        if options.isEmpty {
            options = [Float(nz) * 5 < liverH + 20 ? 5 : Self.thicknesses.first { Float(nz) * $0 >= liverH + 20 } ?? 0.7]
        }
        let dz = options[rng.below(options.count)]
        let coverage = Float(nz) * dz
        let slack = coverage - liverH
        let zTop: Float = slack >= 0
            ? anat.liverZ.upperBound + min(slack, 60) * rng.f(0.1, 1)
            : anat.liverZ.upperBound - (-slack) * rng.f(0, 1)
        let zBottom = zTop - Float(nz - 1) * dz

        let offU = rng.f(-12, 12)
        let spanCenter = (-anat.halfDepthAnt(-200) + anat.bPost + 15) / 2
        let offV = -spanCenter + rng.f(-10, 10)
        let recoL = rng.f(-30, 30), recoP = rng.f(-40, 40)
        let oS = rng.f(-450, 150)
        let lps = rng.chance(0.5)

        // Imaging parameters.
        var sigma = rng.f(8, 19) * (2.5 / max(dz, 0.7)).squareRoot().squareRoot()
        if anat.A > 170 { sigma *= 1.15 }
        sigma = min(max(sigma, 8), 25)
        let blurMM = rng.f(0.35, 0.65)
        let fineMM = rng.f(0.45, 0.75)
        let noiseSeed = rng.next()
        let textureSeed = rng.next()
        let streakRays: [(angle: Float, amp: Float)] = config.streaks
            ? (0..<8).map { _ in (rng.f(0, Float.pi), rng.f(-45, 25)) } : []

        return Plan(anat: anat, table: table, n: n, s: s, nz: nz, dz: dz, zBottom: zBottom, zTop: zTop,
                    offU: offU, offV: offV, recoL: recoL, recoP: recoP, oS: oS, lps: lps,
                    sigma: sigma, blurMM: blurMM, fineMM: fineMM, noiseSeed: noiseSeed, textureSeed: textureSeed,
                    streakRays: streakRays)
    }

    func build(index: Int, seed: UInt64, keepTissues: Bool = false) throws -> (case: PhantomCase, anatomy: Anatomy) {
        let pl = try plan(index: index, seed: seed)
        let anat = pl.anat, table = pl.table, n = pl.n, s = pl.s, nz = pl.nz, dz = pl.dz
        let zBottom = pl.zBottom, zTop = pl.zTop, offU = pl.offU, offV = pl.offV
        let recoL = pl.recoL, recoP = pl.recoP, oS = pl.oS, lps = pl.lps, sigma = pl.sigma
        let streakRays = pl.streakRays, noiseSeed = pl.noiseSeed, frame = pl.frame
        let noise = NoiseFilter(sigmaFine: pl.fineMM / s, sigmaCoarse: 2.5 * pl.fineMM / s, alpha: 0.55, sigma: sigma)
        let blurK = gaussianKernel(sigma: pl.blurMM / s)
        var texRng = SeededRNG(seed: pl.textureSeed)
        let cu = Float(n - 1) / 2 + offU / s, cv = Float(n - 1) / 2 + offV / s
        var raster = SliceRasterizer(nx: n, ny: n, spacing: s, cu: cu, cv: cv)
        let halfFOV = Float(n) * s / 2 + 20
        let texStep = max(3.5, s * 2)
        let texture = TextureField(uRange: (-halfFOV - abs(offU))...(halfFOV + abs(offU)),
                                   vRange: (-halfFOV - abs(offV))...(halfFOV + abs(offV)),
                                   zRange: (zBottom - dz - 6)...(zTop + dz + 6), step: texStep, rng: &texRng)

        // Render positions: slice centres and, for thick slices, the slice boundaries, so the
        // thickness integral is Simpson's rule over the slab.
        let thick = dz > 1.25
        let nPos = thick ? 2 * nz + 1 : nz + 2
        func position(_ j: Int) -> Float { thick ? zBottom - dz / 2 + Float(j) * dz / 2 : zBottom + Float(j - 1) * dz }
        func neighbours(_ k: Int) -> (Int, Int, Int) { thick ? (2 * k, 2 * k + 1, 2 * k + 2) : (k, k + 1, k + 2) }
        _ = nPos

        let plane = n * n
        var image = [Float](repeating: 0, count: plane * nz)
        var labels = [UInt8](repeating: 0, count: plane * nz)
        var tissues = [UInt8](repeating: 0, count: keepTissues ? plane * nz : 0)
        var tissueCount = [Int](repeating: 0, count: 256)
        var tissueSum = [Double](repeating: 0, count: 256), tissueSq = [Double](repeating: 0, count: 256)

        // Rolling cache of rendered planes (HU and tissue) keyed by position index.
        var cacheKey = [-1, -1, -1]
        var cacheHU = [[Float]](repeating: [Float](repeating: 0, count: plane), count: 3)
        var cacheTissue = [[UInt8]](repeating: [UInt8](repeating: 0, count: plane), count: 3)
        var texPlane: [Float] = []
        var texRow = [Float](repeating: 0, count: texture.gx)
        let huLUT = table.hu, texLUT = table.texture, labelLUT = table.label

        func render(_ j: Int) -> Int {
            let slot = j % 3
            if cacheKey[slot] == j { return slot }
            let z = position(j)
            cacheTissue[slot].withUnsafeMutableBufferPointer { tp in
                tp.update(repeating: 0)
                anat.prepare(z: z)
                for obj in anat.objects where z >= obj.zMin && z <= obj.zMax {
                    for item in obj.items(z) { raster.paint(item, into: tp.baseAddress!) }
                }
            }
            texture.plane(atZ: z, into: &texPlane)
            let gx = texture.gx, gy = texture.gy
            cacheHU[slot].withUnsafeMutableBufferPointer { hp in
                cacheTissue[slot].withUnsafeBufferPointer { tp in
                    texPlane.withUnsafeBufferPointer { tx in
                        for r in 0..<n {
                            let fy = min(max((raster.v(r) - texture.v0) / texStep, 0), Float(gy - 1) - 0.001)
                            let b = Int(fy), wy = fy - Float(b)
                            for a in 0..<gx { texRow[a] = tx[b * gx + a] + (tx[(b + 1) * gx + a] - tx[b * gx + a]) * wy }
                            let ua = (raster.u(0) - texture.u0) / texStep, du = s / texStep
                            for c in 0..<n {
                                let fx = min(max(ua + Float(c) * du, 0), Float(gx - 1) - 0.001)
                                let a = Int(fx), wx = fx - Float(a)
                                let tv = texRow[a] + (texRow[a + 1] - texRow[a]) * wx
                                let t = Int(tp[r * n + c])
                                hp[r * n + c] = huLUT[t] + texLUT[t] * tv
                            }
                        }
                    }
                }
            }
            cacheKey[slot] = j
            return slot
        }

        var slab = [Float](repeating: 0, count: plane)
        var noisePlane = [Float](repeating: 0, count: plane)
        var scratchA = [Float](repeating: 0, count: plane)
        var scratchB = [Float](repeating: 0, count: plane)
        var tumorVoxels = [Int](repeating: 0, count: anat.placedTumors.count)
        let spineU = cu, spineV = cv + anat.vVB / s

        for k in 0..<nz {
            let (jl, jc, jr) = neighbours(k)
            let sl = render(jl), sc = render(jc), sr = render(jr)
            for p in 0..<plane {
                slab[p] = (cacheHU[sl][p] + 4 * cacheHU[sc][p] + cacheHU[sr][p]) * (1.0 / 6.0)
            }
            slab.withUnsafeMutableBufferPointer { sp in
                scratchA.withUnsafeMutableBufferPointer { ap in
                    blurPlane(sp.baseAddress!, ap.baseAddress!, nx: n, ny: n, kernel: blurK)
                }
            }
            var nrng = SeededRNG(seed: noiseSeed, stream: UInt64(k))
            noisePlane.withUnsafeMutableBufferPointer { np in
                scratchA.withUnsafeMutableBufferPointer { ap in
                    scratchB.withUnsafeMutableBufferPointer { bp in
                        noise.fill(np.baseAddress!, nx: n, ny: n, rng: &nrng, scratch: ap.baseAddress!, bp.baseAddress!)
                    }
                }
            }
            if !streakRays.isEmpty {
                addStreaks(&slab, n: n, centerU: spineU, centerV: spineV, spacing: s, rays: streakRays, phase: Float(k) * 0.01)
            }
            let tissue = cacheTissue[sc]
            let base = k * plane
            if keepTissues {
                for r in 0..<n { for c in 0..<n { tissues[base + (lps ? r : n - 1 - r) * n + (lps ? c : n - 1 - c)] = tissue[r * n + c] } }
            }
            for r in 0..<n {
                let j = lps ? r : n - 1 - r
                for c in 0..<n {
                    let i = lps ? c : n - 1 - c
                    let p = r * n + c
                    let hu = min(max((slab[p] + noisePlane[p]).rounded(), -1024), 3071)
                    let t = Int(tissue[p])
                    image[base + j * n + i] = hu
                    labels[base + j * n + i] = labelLUT[t]
                    tissueCount[t] += 1
                    tissueSum[t] += Double(hu)
                    tissueSq[t] += Double(hu) * Double(hu)
                    if t >= Int(Tissue.tumorBase) { tumorVoxels[Tissue.tumorIndex(UInt8(t))] += 1 }
                }
            }
        }

        // Geometry: internal pixel (c, r) runs toward patient Left and Posterior.
        let hx = Double(n - 1) / 2 * Double(s)
        let affine: [Double] = lps
            ? [-Double(s), 0, 0, hx - Double(recoL), 0, -Double(s), 0, hx - Double(recoP), 0, 0, Double(dz), Double(oS), 0, 0, 0, 1]
            : [Double(s), 0, 0, -hx - Double(recoL), 0, Double(s), 0, -hx - Double(recoP), 0, 0, Double(dz), Double(oS), 0, 0, 0, 1]
        let geometry = Geometry(shape: [n, n, nz], affine: affine)

        let stats = Self.summarize(count: tissueCount, sum: tissueSum, sq: tissueSq, labels: labelLUT)
        let liverVox = stats["liver"]?.count ?? 0, tumorVox = stats["tumor"]?.count ?? 0
        let tumors = anat.placedTumors.enumerated().map { i, t in
            TumorInfo(kind: t.kind, diameterMM: Double(t.diameter), lobes: t.lobes.count, touchesSurface: t.touchesSurface,
                      contrastHU: Double(t.contrastScale * t.deltaBody),
                      contrastScale: config.tumorContrast == nil ? nil : Double(t.contrastScale), voxels: tumorVoxels[i])
        }
        let info = PhantomCaseInfo(index: index, seed: seed, shape: [n, n, nz], spacing: [Double(s), Double(s), Double(dz)],
                                   affine: affine, axisCodes: geometry.axisCodes, noiseSigmaHU: Double(sigma),
                                   liverHU: Double(table[.liver]), cirrhosis: anat.cirrhosis, ascitesMM: Double(anat.ascites), tumors: tumors, liverVoxels: liverVox, tumorVoxels: tumorVox,
                                   tumorFraction: liverVox + tumorVox > 0 ? Double(tumorVox) / Double(liverVox + tumorVox) : 0,
                                   stats: stats)
        let vol = Volume<Float>(geometry: geometry, voxels: image, onDiskType: .int16)
        let lab = Volume<UInt8>(geometry: geometry, voxels: labels, onDiskType: .uint8)
        return (PhantomCase(image: vol, labels: lab, info: info, frame: frame, tissues: keepTissues ? tissues : nil), anat)
    }

    /// Dark and bright bands through the spine, as beam hardening between dense bone gives.
    private func addStreaks(_ slab: inout [Float], n: Int, centerU: Float, centerV: Float, spacing s: Float,
                            rays: [(angle: Float, amp: Float)], phase: Float) {
        let reach = 120 / s, width: Float = 1.2
        let c0 = max(0, Int(centerU - reach)), c1 = min(n - 1, Int(centerU + reach))
        let r0 = max(0, Int(centerV - reach)), r1 = min(n - 1, Int(centerV + reach))
        if c0 > c1 || r0 > r1 { return }
        let dirs = rays.map { (cos($0.angle + phase), sin($0.angle + phase), $0.amp) }
        for r in r0...r1 {
            let y = Float(r) - centerV
            for c in c0...c1 {
                let x = Float(c) - centerU
                let dist = (x * x + y * y).squareRoot()
                if dist < 12 / s { continue }
                let fall = exp(-dist / reach)
                var add: Float = 0
                for d in dirs {
                    let perp = x * d.1 - y * d.0
                    add += d.2 * exp(-perp * perp / (2 * width * width))
                }
                slab[r * n + c] += add * fall
            }
        }
    }

    static let reportedTissues: [(String, [Tissue])] = [
        ("spleen", [.spleen]), ("kidney cortex", [.kidneyCortex]), ("aorta", [.aorta]), ("ivc", [.ivc]),
        ("muscle", [.muscle]), ("fat", [.subcutaneousFat, .visceralFat]), ("bone marrow", [.marrow]),
        ("cortical bone", [.corticalBone]), ("gallbladder", [.gallbladder]), ("air", [.air]),
        ("liver vessels", [.portalVein, .hepaticVein]), ("liver parenchyma", [.liver]),
    ]

    static func summarize(count: [Int], sum: [Double], sq: [Double], labels: [UInt8]) -> [String: HUStats] {
        func stats(_ ids: [Int]) -> HUStats {
            var n = 0, s = 0.0, q = 0.0
            for i in ids { n += count[i]; s += sum[i]; q += sq[i] }
            if n == 0 { return HUStats(count: 0, mean: 0, std: 0) }
            let m = s / Double(n)
            return HUStats(count: n, mean: m, std: max(0, q / Double(n) - m * m).squareRoot())
        }
        var out: [String: HUStats] = [:]
        let names = ["background", "liver", "tumor"]
        for l in 0..<3 { out[names[l]] = stats((0..<256).filter { Int(labels[$0]) == l }) }
        out["body background"] = stats((0..<256).filter { labels[$0] == 0 && $0 != Int(Tissue.air.rawValue)
                                             && $0 != Int(Tissue.tableCore.rawValue) && $0 != Int(Tissue.tableShell.rawValue) })
        for (name, ts) in reportedTissues { out[name] = stats(ts.map { Int($0.rawValue) }) }
        return out
    }
}
