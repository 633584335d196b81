import Foundation
import Support

/// Something painted into axial planes: the items it contributes at height z (mm).
struct SceneObject {
    let name: String
    let zMin: Float, zMax: Float
    let items: (Float) -> [PaintItem]
}

/// The random anatomy of one case, as implicit 3-D shapes in the anatomical frame
/// (u toward the patient's left, v posterior, z superior; origin at the body axis at the
/// liver's centre height). `objects` lists them in painting order: later objects cover
/// earlier ones, which is how organs dent each other and how vessels and tumors sit inside.
final class Anatomy {
    // Body outline and walls.
    let A: Float, B: Float, bPost: Float, nAnt: Float, nPost: Float, belly: Float
    let tsc0: Float, tm0: Float, waistPhase: Float
    let fatNoise: WaveNoise
    // Spine.
    let vVB: Float, rVBu: Float, rVBv: Float, vCanal: Float, levelSpacing: Float, levelPhase: Float
    // Diaphragm domes.
    let domeR: (u: Float, v: Float, z: Float), domeL: (u: Float, v: Float, z: Float)
    // Liver.
    let liverRight: (u: Float, v: Float, ru: Float, rv: Float, rzUp: Float, rzDown: Float, taper: Float, shiftU: Float, shiftV: Float)
    let liverLeft: (u: Float, v: Float, z: Float, ru: Float, rv: Float, rz: Float)
    let caudate: (u: Float, v: Float, z: Float, ru: Float, rv: Float, rz: Float)
    let fissure: (u: Float, w: Float, vEnd: Float, zTop: Float)
    let liverNoise: WaveNoise
    /// Cirrhotic liver (HCC's usual background): shrunken right lobe, large caudate and left
    /// lobe, nodular surface; often with ascites, a fluid layer between organs and the wall.
    let cirrhosis: Bool
    let nodularity: WaveNoise
    let ascites: Float
    /// Vertical extent of the liver (mm).
    let liverZ: ClosedRange<Float>
    // Vessels and organs placed relative to the spine.
    let aorta: (u: Float, v: Float, r: Float)
    let ivc: (u: Float, v: Float, ru: Float, rv: Float)
    let portalPoint: P3
    var hepaticVessels: [(Segment, Tissue)] = []
    var kidneys: [Kidney] = []
    let table: (v: Float, curve: Float, half: Float, thick: Float)

    private(set) var objects: [SceneObject] = []

    init(rng: inout SeededRNG, tumorPlan: TumorPlan) {
        A = rng.f(135, 190)
        B = A * rng.f(0.62, 0.76)
        bPost = B * rng.f(0.82, 0.92)
        nAnt = rng.f(2.0, 2.5)
        nPost = nAnt + rng.f(0.6, 1.4)
        belly = rng.chance(0.4) ? rng.f(0, 0.18) : 0
        tsc0 = rng.f(6, 36)
        tm0 = rng.f(7, 13)
        waistPhase = rng.f(0, 6.28)
        fatNoise = WaveNoise(rng: &rng, count: 6, wavelength: 60...200, amplitude: 0.25)

        rVBu = rng.f(17, 22)
        rVBv = rng.f(14, 17)
        let tscBack = max(3, tsc0 * 0.55)
        let spinousTip = bPost - tscBack - 3
        vCanal = spinousTip - rng.f(32, 38)
        vVB = vCanal - rng.f(8, 10) - 1.5 - rVBv
        levelSpacing = rng.f(28, 36)
        levelPhase = rng.f(0, levelSpacing)

        let rzUp = rng.f(62, 82)
        let rzDown = rng.f(90, 130)
        liverRight = (u: -0.42 * A + rng.f(-8, 8), v: B * rng.f(-0.06, 0.1), ru: 0.45 * A * rng.f(0.9, 1.1),
                      rv: 0.86 * B * rng.f(0.9, 1.05), rzUp: rzUp, rzDown: rzDown,
                      taper: rng.f(0.25, 0.5), shiftU: rng.f(0, 25), shiftV: rng.f(-20, 5))
        liverLeft = (u: A * rng.f(0.0, 0.18), v: -0.5 * B * rng.f(0.85, 1.05), z: rng.f(15, 40),
                     ru: A * rng.f(0.28, 0.46), rv: B * rng.f(0.22, 0.32), rz: rng.f(35, 55))
        caudate = (u: -0.06 * A, v: 0.12 * B + rng.f(-5, 5), z: rng.f(0, 20), ru: rng.f(18, 26), rv: rng.f(20, 28), rz: rng.f(30, 45))
        fissure = (u: liverLeft.u - liverLeft.ru * rng.f(0.3, 0.7), w: rng.f(1.2, 3), vEnd: liverLeft.v - liverLeft.rv * rng.f(0.2, 0.7), zTop: rng.f(-20, 20))
        liverNoise = WaveNoise(rng: &rng, count: 8, wavelength: 50...150, amplitude: rng.f(2.5, 6))
        cirrhosis = rng.chance(0.2)
        nodularity = WaveNoise(rng: &rng, count: 8, wavelength: 8...22, amplitude: cirrhosis ? rng.f(0.8, 1.8) : 0)
        ascites = (cirrhosis ? rng.chance(0.6) : rng.chance(0.05)) ? rng.f(3, 14) : 0

        domeR = (u: liverRight.u * 0.9, v: -0.05 * B, z: rzUp + 4)
        domeL = (u: 0.4 * A, v: -0.05 * B, z: rzUp + 4 - rng.f(8, 28))
        let top = rzUp + 4 - 4
        liverZ = (-rzDown - 5)...top

        let rAo = rng.f(9, 13)
        aorta = (u: rng.f(8, 18), v: vVB - rVBv - rAo - 2, r: rAo)
        let ivcRv = rng.f(8, 12)
        ivc = (u: -rng.f(18, 28), v: vVB - rVBv - ivcRv - rng.f(2, 8), ru: rng.f(10, 15), rv: ivcRv)
        portalPoint = P3(-0.18 * A, ivc.v - ivc.rv - rng.f(8, 16), rng.f(-30, -15))
        table = (v: bPost + rng.f(1, 8), curve: rng.f(0.0003, 0.0008), half: rng.f(190, 240), thick: rng.f(18, 35))
        kidneys = sampleKidneys(&rng)
        buildHepaticVessels(&rng)
        objects = []
        let placed = TumorShape.place(plan: tumorPlan, in: self, rng: &rng)
        self.tumorsStorage = placed
        buildObjects(&rng)
    }

    /// Tumors placed in this liver (set once during init).
    private(set) var tumorsStorage: [TumorShape] = []
    var placedTumors: [TumorShape] { tumorsStorage }

    /// Sets lesion i's `contrastScale` to scales[i]; before the attenuations are applied.
    func scaleTumorContrast(_ scales: [Float]) {
        precondition(scales.count == tumorsStorage.count, "one contrast factor per lesion")
        for i in tumorsStorage.indices { tumorsStorage[i].contrastScale = scales[i] }
    }

    // MARK: Body

    @inline(__always) func halfWidth(_ z: Float) -> Float { A * (1 + 0.03 * sin(z / 80 + waistPhase)) }
    @inline(__always) func halfDepthAnt(_ z: Float) -> Float { B * (1 + belly * min(max((20 - z) / 180, 0), 1)) }

    // Per-plane cache of the body-wall fields (they are needed by many objects and cost
    // powers and sines): sampled once per plane on a 2 mm lattice, then interpolated.
    private var cacheZ: Float = .nan
    private var cacheBox = Box(u0: 0, u1: 0, v0: 0, v1: 0)
    private var cacheNU = 0, cacheNV = 0
    private let cacheStep: Float = 3
    private var cacheCapacity = 0
    private var cacheBody = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var cacheFat = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var cacheMuscle = UnsafeMutablePointer<Float>.allocate(capacity: 1)

    deinit {
        cacheBody.deallocate(); cacheFat.deallocate(); cacheMuscle.deallocate()
    }

    /// Prepares the body-wall cache for the plane at height z.
    func prepare(z: Float) {
        if z == cacheZ { return }
        let box = bodyBox(z)
        cacheBox = Box(u0: box.u0 - 8, u1: box.u1 + 8, v0: box.v0 - 8, v1: box.v1 + 8)
        cacheNU = Int((cacheBox.u1 - cacheBox.u0) / cacheStep) + 2
        cacheNV = Int((cacheBox.v1 - cacheBox.v0) / cacheStep) + 2
        let n = cacheNU * cacheNV
        if cacheCapacity < n {
            cacheBody.deallocate(); cacheFat.deallocate(); cacheMuscle.deallocate()
            cacheBody = .allocate(capacity: n); cacheFat = .allocate(capacity: n); cacheMuscle = .allocate(capacity: n)
            cacheCapacity = n
        }
        for b in 0..<cacheNV {
            let v = cacheBox.v0 + Float(b) * cacheStep
            for a in 0..<cacheNU {
                let u = cacheBox.u0 + Float(a) * cacheStep
                cacheBody[b * cacheNU + a] = bodySDExact(u, v, z)
                cacheFat[b * cacheNU + a] = fatThicknessExact(u, v, z)
                cacheMuscle[b * cacheNU + a] = muscleThickness(u, v)
            }
        }
        cacheZ = z
    }

    @inline(__always) private func cached(_ g: UnsafeMutablePointer<Float>, _ u: Float, _ v: Float) -> Float {
        let fx = min(max((u - cacheBox.u0) / cacheStep, 0), Float(cacheNU) - 1.001)
        let fy = min(max((v - cacheBox.v0) / cacheStep, 0), Float(cacheNV) - 1.001)
        let a = Int(fx), b = Int(fy)
        let wx = fx - Float(a), wy = fy - Float(b)
        let i = b * cacheNU + a
        let top = g[i] + (g[i + 1] - g[i]) * wx
        let bot = g[i + cacheNU] + (g[i + cacheNU + 1] - g[i + cacheNU]) * wx
        return top + (bot - top) * wy
    }

    @inline(__always) private func inCache(_ u: Float, _ v: Float, _ z: Float) -> Bool {
        z == cacheZ && u >= cacheBox.u0 && u <= cacheBox.u1 && v >= cacheBox.v0 && v <= cacheBox.v1
    }

    @inline(__always) func bodySD(_ u: Float, _ v: Float, _ z: Float) -> Float {
        inCache(u, v, z) ? cached(cacheBody, u, v) : bodySDExact(u, v, z)
    }

    @inline(__always) func fatThickness(_ u: Float, _ v: Float, _ z: Float) -> Float {
        inCache(u, v, z) ? cached(cacheFat, u, v) : fatThicknessExact(u, v, z)
    }

    @inline(__always) func cavitySD(_ u: Float, _ v: Float, _ z: Float) -> Float {
        if inCache(u, v, z) { return cached(cacheBody, u, v) + cached(cacheFat, u, v) + cached(cacheMuscle, u, v) }
        return bodySDExact(u, v, z) + fatThicknessExact(u, v, z) + muscleThickness(u, v)
    }

    /// Signed radial distance to the skin.
    func bodySDExact(_ u: Float, _ v: Float, _ z: Float) -> Float {
        let a = halfWidth(z)
        let (b, n) = v < 0 ? (halfDepthAnt(z), nAnt) : (bPost, nPost)
        let rho = pow(pow(abs(u) / a, n) + pow(abs(v) / b, n), 1 / n)
        let r = (u * u + v * v).squareRoot()
        if rho < 1e-4 { return -min(a, b) }
        return r * (1 - 1 / rho)
    }

    /// Subcutaneous fat thickness: more over the belly and flanks, thin over the spine.
    func fatThicknessExact(_ u: Float, _ v: Float, _ z: Float) -> Float {
        let r = max((u * u + v * v).squareRoot(), 1)
        let ant = max(0, -v) / r, lat = abs(u) / r
        return max(2.5, tsc0 * (0.55 + 0.8 * ant + 0.3 * lat) * (1 + fatNoise(u, v, z)))
    }

    /// Abdominal wall muscle thickness: thicker posteriorly (paraspinal, quadratus lumborum).
    @inline(__always) func muscleThickness(_ u: Float, _ v: Float) -> Float {
        let r = max((u * u + v * v).squareRoot(), 1)
        let ant = max(0, -v) / r
        // Rectus abdominis: thicker either side of the midline.
        let rectus = ant * 5 * exp(-sq(abs(u) - 40) / (2 * 25 * 25))
        return tm0 * (0.75 + 0.3 * ant) + rectus
    }


    func bodyBox(_ z: Float) -> Box {
        Box(u0: -halfWidth(z) - 3, u1: halfWidth(z) + 3, v0: -halfDepthAnt(z) - 3, v1: bPost + 3)
    }

    // MARK: Diaphragm and liver

    /// Height of the diaphragm surface above (u, v): two domes, lower posteriorly.
    @inline(__always) func diaphragmZ(_ u: Float, _ v: Float) -> Float {
        let r = domeR.z - 75 * sq((u - domeR.u) / A) - 60 * sq((v - domeR.v) / B)
        let l = domeL.z - 75 * sq((u - domeL.u) / A) - 60 * sq((v - domeL.v) / B)
        return max(r, l)
    }

    /// Signed distance (approximately, mm) to the liver surface.
    func liverSD(_ u: Float, _ v: Float, _ z: Float) -> Float {
        let lr = liverRight
        let below = min(max(-z / lr.rzDown, 0), 1)
        let scale = 1 - lr.taper * below
        let (sR, sL, sC): (Float, Float, Float) = cirrhosis ? (0.82, 1.1, 1.35) : (1, 1, 1)
        let fR = ellipsoidSD(u - (lr.u - lr.shiftU * below), v - (lr.v + lr.shiftV * below), z,
                             lr.ru * scale * sR, lr.rv * scale * sR, (z > 0 ? lr.rzUp : lr.rzDown) * (0.5 + 0.5 * sR))
        let ll = liverLeft
        // The left lobe thins toward its tip (a wedge rather than an egg).
        let wedge = 1 - 0.45 * min(max((u - ll.u) / ll.ru, 0), 1)
        let fL = ellipsoidSD(u - ll.u, v - ll.v, z - ll.z, ll.ru * sL, ll.rv * wedge * sL, ll.rz)
        let c = caudate
        let fC = ellipsoidSD(u - c.u, v - c.v, z - c.z, c.ru * sC, c.rv * sC, c.rz * sC)
        var f = smin(smin(fR, fL, 28), fC, 15)
        f += liverNoise(u, v, z)
        if cirrhosis { f += nodularity(u, v, z) }
        f = smax(f, cavitySD(u, v, z) + 1 + ascites, 6)
        f = smax(f, z - (diaphragmZ(u, v) - 4), 5)
        // The spine and the crura in front of it bound the liver medially and posteriorly.
        f = smax(f, -ellipseSD(u, v - vVB - 8, rVBu + 14, rVBv + 24), 6)
        // The right kidney makes an impression, it is not engulfed.
        if let k = kidneys.first, abs(z - k.z) < k.rz + 20 { f = smax(f, -(k.sd(u, v, z) - k.fat - 1), 5) }
        if z < fissure.zTop {
            let cleft = max(abs(u - fissure.u) - fissure.w, v - fissure.vEnd)
            f = max(f, -cleft)
        }
        return f
    }

    func liverBox() -> Box {
        Box(u0: -A - 5, u1: liverLeft.u + liverLeft.ru + 10, v0: -halfDepthAnt(0) - 10, v1: bPost)
    }

    // MARK: Intrahepatic vessels

    private func buildHepaticVessels(_ rng: inout SeededRNG) {
        var segs: [(Segment, Tissue)] = []
        func branch(_ p: P3, _ dir: P3, _ length: Float, _ r: Float, _ depth: Int, _ t: Tissue, _ rng: inout SeededRNG) {
            let jitter = P3(rng.f(-0.25, 0.25), rng.f(-0.25, 0.25), rng.f(-0.25, 0.25))
            let d = (dir + jitter).normalized
            let end = p + d * length
            segs.append((Segment(a: p, b: end, ra: r, rb: r * 0.8), t))
            guard depth > 0, r > 1.4 else { return }
            for side in [Float(-1), 1] {
                let turn = P3(rng.f(-0.8, 0.8), rng.f(-0.8, 0.8), rng.f(-0.8, 0.8)) * side
                let start = p + d * (length * rng.f(0.55, 1.0))
                branch(start, (d + turn).normalized, length * rng.f(0.55, 0.8), r * rng.f(0.6, 0.75), depth - 1, t, &rng)
            }
        }
        // Portal vein: right and left branches from the hilum.
        let pp = portalPoint
        let rP = rng.f(5, 7)
        let toRight = P3(liverRight.u - pp.u, liverRight.v + 10 - pp.v, 10).normalized
        branch(pp, toRight, rng.f(45, 65), rP, 3, .portalVein, &rng)
        let toLeft = P3(liverLeft.u - pp.u, liverLeft.v + 15 - pp.v, liverLeft.z - pp.z).normalized
        branch(pp, toLeft, rng.f(40, 60), rP * 0.8, 3, .portalVein, &rng)
        // Hepatic veins converge on the IVC just below the diaphragm.
        let hv = P3(ivc.u, ivc.v, liverZ.upperBound - rng.f(18, 30))
        let targets = [P3(-0.8 * A, 0.1 * B, -50), P3(-0.3 * A, -0.6 * B, -40), P3(liverLeft.u, liverLeft.v, liverLeft.z)]
        for tgt in targets {
            branch(hv, (tgt - hv).normalized, rng.f(50, 80), rng.f(4, 6.5), 3, .hepaticVein, &rng)
        }
        hepaticVessels = segs
    }

    // MARK: Scene assembly

    private func buildObjects(_ rng: inout SeededRNG) {
        var o: [SceneObject] = []
        let zAll: (Float, Float) = (-1000, 1000)
        func add(_ name: String, _ z: (Float, Float), _ items: @escaping (Float) -> [PaintItem]) {
            o.append(SceneObject(name: name, zMin: z.0, zMax: z.1, items: items))
        }

        // Table, then body layers.
        let tb = table
        add("table", zAll) { _ in
            [PaintItem(box: Box(u0: -tb.half, u1: tb.half, v0: tb.v - 60, v1: tb.v + tb.thick + 2), step: 2,
                       layers: [(0, Tissue.tableShell.rawValue), (-2, Tissue.tableCore.rawValue)]) { u, v in
                let vs = tb.v - tb.curve * u * u
                return max(abs(v - vs - tb.thick / 2) - tb.thick / 2, abs(u) - tb.half)
            }]
        }
        add("body", zAll) { [unowned(unsafe) self] z in
            [PaintItem(box: bodyBox(z), step: 3, layers: [(0, Tissue.skin.rawValue), (-2, Tissue.subcutaneousFat.rawValue)]) { [unowned(unsafe) self] u, v in
                self.bodySD(u, v, z)
            }]
        }
        add("wall", zAll) { [unowned(unsafe) self] z in
            [PaintItem(box: bodyBox(z), step: 3, tissue: .muscle) { [unowned(unsafe) self] u, v in self.bodySD(u, v, z) + self.fatThickness(u, v, z) }]
        }
        add("cavity", zAll) { [unowned(unsafe) self] z in
            [PaintItem(box: bodyBox(z), step: 3, tissue: .visceralFat) { [unowned(unsafe) self] u, v in self.cavitySD(u, v, z) }]
        }

        // Thorax: lungs above the diaphragm, diaphragm muscle, heart, posterior mediastinum.
        let zLungMin = min(domeR.z, domeL.z) - 75 * 1.2 - 60 * 1.5
        add("lung", (zLungMin, 1000)) { [unowned(unsafe) self] z in
            [PaintItem(box: bodyBox(z), step: 2.5, tissue: .lung) { [unowned(unsafe) self] u, v in
                max(self.cavitySD(u, v, z) + 2, self.diaphragmZ(u, v) - z)
            }]
        }
        add("diaphragm", (zLungMin - 6, 1000)) { [unowned(unsafe) self] z in
            [PaintItem(box: bodyBox(z), step: 2, tissue: .muscle) { [unowned(unsafe) self] u, v in
                max(self.cavitySD(u, v, z), abs(z - (self.diaphragmZ(u, v) - 2)) - 2)
            }]
        }
        let heart = (u: 0.12 * A, v: -0.2 * B, z: diaphragmZ(0.12 * A, -0.2 * B) + rng.f(55, 70), ru: 0.38 * A, rv: 0.5 * B, rz: Float(60))
        add("heart", (heart.z - heart.rz - 5, heart.z + heart.rz)) { z in
            [PaintItem(box: Box(cu: heart.u, cv: heart.v, ru: heart.ru + 5, rv: heart.rv + 5), step: 3,
                       layers: [(3, Tissue.visceralFat.rawValue), (0, Tissue.myocardium.rawValue), (-9, Tissue.heartBlood.rawValue)]) { u, v in
                ellipsoidSD(u - heart.u, v - heart.v, z - heart.z, heart.ru, heart.rv, heart.rz)
            }]
        }
        let vb = (v: vVB, ru: rVBu, rv: rVBv)
        add("mediastinum", (zLungMin, 1000)) { [unowned(unsafe) self] z in
            [PaintItem(box: Box(cu: 0, cv: vb.v - vb.rv - 10, ru: 30, rv: 26), step: 2, tissue: .visceralFat) { [unowned(unsafe) self] u, v in
                max(ellipseSD(u - 4, v - (vb.v - vb.rv - 10), 26, 20), self.diaphragmZ(u, v) - z)
            }]
        }

        // Back muscles either side of the spinous processes, then the psoas.
        let rP = rng.f(20, 28), rPv = rng.f(20, 26), vc = vCanal
        for side in [Float(-1), 1] {
            let cu = side * (5 + rP * 0.95), cv = vc + 12
            add("paraspinal", zAll) { _ in
                [PaintItem(box: Box(cu: cu, cv: cv, ru: rP + 3, rv: rPv + 3), step: 1.5, tissue: .muscle) { u, v in
                    ellipseSD(u - cu, v - cv, rP, rPv)
                }]
            }
        }
        for side in [Float(-1), 1] {
            add("psoas", (-1000, -30)) { z in
                let grow = min(max((-35 - z) / 120, 0), 1)
                let r = 5 + 17 * grow
                let cu = side * (vb.ru + r * 0.8 + 1), cv = vb.v + 2
                return [PaintItem(box: Box(cu: cu, cv: cv, ru: r + 2, rv: r + 2), step: 1.5, tissue: .muscle) { u, v in
                    ellipseSD(u - cu, v - cv, r, r * 0.9)
                }]
            }
        }

        addBowel(&o, &rng)
        if ascites > 0 {
            let t = ascites
            // Fluid along the wall of the upper abdomen, down to below the liver.
            add("ascites", (liverZ.lowerBound - 60, liverZ.upperBound)) { [unowned(unsafe) self] z in
                [PaintItem(box: bodyBox(z), step: 2, tissue: .ascites) { [unowned(unsafe) self] u, v in
                    let c = self.cavitySD(u, v, z)
                    return max(max(c, -c - t - 2), z - (self.diaphragmZ(u, v) - 4))
                }]
            }
        }

        // Liver, then what dents it.
        let lbox = liverBox()
        add("liver", (liverZ.lowerBound - 10, liverZ.upperBound + 5)) { [unowned(unsafe) self] z in
            [PaintItem(box: lbox, step: 2.5, tissue: .liver) { [unowned(unsafe) self] u, v in self.liverSD(u, v, z) }]
        }
        if rng.chance(0.85) {
            let g = (u: -0.12 * A + rng.f(-12, 12), v: -0.38 * B + rng.f(-8, 8), z: rng.f(-65, -35),
                     ru: rng.f(11, 19), rv: rng.f(11, 19), rz: rng.f(28, 42), tilt: rng.f(0.2, 0.6))
            let (ct, st) = (cos(g.tilt), sin(g.tilt))
            add("gallbladder", (g.z - g.rz - 5, g.z + g.rz + 5)) { z in
                [PaintItem(box: Box(cu: g.u, cv: g.v, ru: g.ru + 3, rv: g.rz + 3), step: 1.5, tissue: .gallbladder) { u, v in
                    let dv = v - g.v, dz = z - g.z
                    return ellipsoidSD(u - g.u, ct * dv - st * dz, st * dv + ct * dz, g.ru, g.rv, g.rz)
                }]
            }
        }
        addStomachSpleen(&o, &rng)
        addKidneys(&o)
        addPancreasAndVessels(&o, &rng)
        addSpine(&o)
        addRibs(&o, &rng)

        // Intrahepatic vessels, then tumors: both only inside the liver.
        let liverish = TissueSet([Tissue.liver.rawValue, Tissue.portalVein.rawValue, Tissue.hepaticVein.rawValue])
        for (seg, t) in hepaticVessels {
            let r = seg.maxRadius
            add("hepatic vessel", (min(seg.a.z, seg.b.z) - r, max(seg.a.z, seg.b.z) + r)) { z in
                guard let box = seg.box(atZ: z) else { return [] }
                return [PaintItem(box: box, step: max(0.5, min(2, r / 2)), tissue: t, clip: liverish) { u, v in
                    seg.distance(P3(u, v, z)).d
                }]
            }
        }
        var tumorClip = liverish
        for i in 0..<placedTumors.count {
            for p in [TumorPart.body, .rim, .core, .margin] { tumorClip.insert(Tissue.tumor(i, p)) }
        }
        for (i, t) in placedTumors.enumerated() {
            let clip = tumorClip
            add("tumor", (t.zRange.lowerBound, t.zRange.upperBound)) { z in
                [PaintItem(box: t.box, step: max(0.5, min(2.5, t.radius / 3)), layers: t.layers(index: i), clip: clip) { u, v in
                    t.field(u, v, z)
                }]
            }
        }
        objects = o
    }

    private func addBowel(_ o: inout [SceneObject], _ rng: inout SeededRNG) {
        func tube(_ name: String, _ seg: Segment, wall: Float, content: Tissue, gasFraction: Float) {
            let r = seg.maxRadius
            let z0 = min(seg.a.z, seg.b.z) - r, z1 = max(seg.a.z, seg.b.z) + r
            o.append(SceneObject(name: name, zMin: z0, zMax: z1) { z in
                guard let box = seg.box(atZ: z) else { return [] }
                var items = [PaintItem(box: box, step: 2, layers: [(0, Tissue.bowelWall.rawValue), (-wall, content.rawValue)]) { u, v in
                    seg.distance(P3(u, v, z)).d
                }]
                if gasFraction > 0 {
                    items.append(PaintItem(box: box, step: 2, tissue: .gas) { u, v in
                        let (d, t) = seg.distance(P3(u, v, z))
                        let rr = seg.ra + (seg.rb - seg.ra) * t
                        let axisV = seg.a.v + (seg.b.v - seg.a.v) * t
                        // Gas rises to the anterior (non-dependent) side of the lumen.
                        return max(d + wall, v - (axisV - rr + 2 * rr * gasFraction))
                    })
                }
                return items
            })
        }
        // Small bowel loops in the mid and lower abdomen.
        let nLoops = 14 + rng.below(20)
        for _ in 0..<nLoops {
            let c = P3(A * rng.f(-0.35, 0.5), B * rng.f(-0.6, 0.1), rng.f(-320, -50))
            let d = P3(rng.f(-1, 1), rng.f(-1, 1), rng.f(-1, 1)).normalized
            let half = rng.f(12, 30)
            let r = rng.f(8, 14)
            tube("small bowel", Segment(a: c - d * half, b: c + d * half, ra: r, rb: r), wall: rng.f(1.8, 3),
                 content: .bowelFluid, gasFraction: rng.chance(0.3) ? rng.f(0.1, 0.5) : 0)
        }
        // Colon frame: ascending, transverse, descending.
        let rC = rng.f(17, 25)
        let zHF = rng.f(-110, -70), zSF = rng.f(-30, 10)
        let pts = [P3(-0.62 * A, 0.05 * B, -330), P3(-0.6 * A, -0.05 * B, zHF),
                   P3(-0.2 * A, -0.6 * B, zHF - rng.f(0, 50)), P3(0.25 * A, -0.6 * B, zHF - rng.f(-20, 50)),
                   P3(0.62 * A, -0.05 * B, zSF), P3(0.66 * A, 0.12 * B, -330)]
        for k in 0..<(pts.count - 1) {
            tube("colon", Segment(a: pts[k], b: pts[k + 1], ra: rC * rng.f(0.8, 1.1), rb: rC * rng.f(0.8, 1.1)),
                 wall: rng.f(1.8, 3), content: .stool, gasFraction: rng.f(0.2, 0.8))
        }
    }

    private func addStomachSpleen(_ o: inout [SceneObject], _ rng: inout SeededRNG) {
        let s = (u: A * rng.f(0.25, 0.4), v: B * rng.f(-0.35, -0.1), z: rng.f(-5, 30),
                 ru: rng.f(35, 55), rv: rng.f(30, 45), rz: rng.f(50, 75), wall: rng.f(3, 5), gas: rng.f(0.05, 0.6))
        let stomach: (Float, Float, Float) -> Float = { [unowned(unsafe) self] u, v, z in
            var f = ellipsoidSD(u - s.u, v - s.v, z - s.z, s.ru, s.rv, s.rz)
            f = smax(f, self.cavitySD(u, v, z) + 1 + self.ascites, 5)
            return smax(f, z - (self.diaphragmZ(u, v) - 4), 5)
        }
        let sbox = Box(cu: s.u, cv: s.v, ru: s.ru + 3, rv: s.rv + 3)
        o.append(SceneObject(name: "stomach", zMin: s.z - s.rz - 3, zMax: s.z + s.rz + 3) { z in
            [PaintItem(box: sbox, step: 2, layers: [(0, Tissue.stomachWall.rawValue), (-s.wall, Tissue.stomachFluid.rawValue)]) { u, v in stomach(u, v, z) },
             PaintItem(box: sbox, step: 2, tissue: .gas) { u, v in max(stomach(u, v, z) + s.wall, v - (s.v - s.rv + 2 * s.rv * s.gas)) }]
        })
        let sp = (u: A * rng.f(0.52, 0.68), v: B * rng.f(0.2, 0.42), z: rng.f(0, 40),
                  ru: rng.f(20, 32), rv: rng.f(45, 65), rz: rng.f(45, 65), angle: rng.f(0.4, 0.8))
        let (ca, sa) = (cos(sp.angle), sin(sp.angle))
        let spleen: (Float, Float, Float) -> Float = { [unowned(unsafe) self] u, v, z in
            let du = u - sp.u, dv = v - sp.v
            let a = ca * du - sa * dv, b = sa * du + ca * dv
            var f = ellipsoidSD(a, b, z - sp.z, sp.ru, sp.rv, sp.rz)
            // Concave hilar side facing the stomach: a crescent.
            f = smax(f, -ellipsoidSD(a + sp.ru * 1.3, b, z - sp.z, sp.ru * 0.9, sp.rv * 0.6, sp.rz * 0.7), 6)
            f = smax(f, self.cavitySD(u, v, z) + 1 + self.ascites, 6)
            return smax(f, z - (self.diaphragmZ(u, v) - 4), 5)
        }
        let r = max(sp.rv, sp.ru) + 4
        o.append(SceneObject(name: "spleen", zMin: sp.z - sp.rz - 3, zMax: sp.z + sp.rz + 3) { z in
            [PaintItem(box: Box(cu: sp.u, cv: sp.v, ru: r, rv: r), step: 2, tissue: .spleen) { u, v in spleen(u, v, z) }]
        })
    }

    struct Kidney {
        let side: Float
        let u: Float, v: Float, z: Float, ru: Float, rv: Float, rz: Float
        let hu: Float, hv: Float, cortex: Float, fat: Float

        @inline(__always) func local(_ uu: Float, _ vv: Float) -> (Float, Float) {
            let du = uu - u, dv = vv - v
            return (du * hu + dv * hv, -du * hv + dv * hu)
        }

        func sd(_ uu: Float, _ vv: Float, _ zz: Float) -> Float {
            let (a, b) = local(uu, vv)
            let f = ellipsoidSD(a, b, zz - z, ru, rv, rz)
            // Hilum: a notch on the medial side.
            return smax(f, -ellipsoidSD(a - ru * 1.05, b, (zz - z) * 1.4, ru * 0.45, rv * 0.42, rz * 0.45), 3)
        }

        func sinus(_ uu: Float, _ vv: Float, _ zz: Float) -> Float {
            let (a, b) = local(uu, vv)
            return ellipsoidSD(a - ru * 0.35, b, zz - z, ru * 0.45, rv * 0.5, rz * 0.6)
        }
    }

    private func sampleKidneys(_ rng: inout SeededRNG) -> [Kidney] {
        let zR = rng.f(-105, -65)
        return [Float(-1), 1].map { side in
            let ku = side * (rVBu + rng.f(38, 50)), kz = side < 0 ? zR : zR + rng.f(5, 30)
            let krv = rng.f(19, 25)
            // The kidney lies against the posterior wall (quadratus lumborum), not in front of the liver.
            var vWall: Float = 0
            while vWall < bPost && bodySDExact(ku, vWall, kz) + fatThicknessExact(ku, vWall, kz) + muscleThickness(ku, vWall) < 0 { vWall += 1 }
            let kv = vWall - krv * rng.f(0.7, 0.95)
            let ru = rng.f(22, 28), rz = rng.f(48, 62), angle = rng.f(0.4, 0.8)
            // Local frame: a toward the hilum (medial and anterior), b across it.
            return Kidney(side: side, u: ku, v: kv, z: kz, ru: ru, rv: krv, rz: rz,
                          hu: -side * cos(angle), hv: -sin(angle), cortex: rng.f(5, 8), fat: rng.f(3, 10))
        }
    }

    private func addKidneys(_ o: inout [SceneObject]) {
        for k in kidneys {
            let r = max(k.ru, k.rv) + k.fat + 4
            o.append(SceneObject(name: "kidney", zMin: k.z - k.rz - k.fat - 3, zMax: k.z + k.rz + k.fat + 3) { z in
                let box = Box(cu: k.u, cv: k.v, ru: r, rv: r)
                return [PaintItem(box: box, step: 2, tissue: .visceralFat) { u, v in k.sd(u, v, z) - k.fat },
                        PaintItem(box: box, step: 1.5, layers: [(0, Tissue.kidneyCortex.rawValue), (-k.cortex, Tissue.kidneyMedulla.rawValue)]) { u, v in k.sd(u, v, z) },
                        PaintItem(box: box, step: 1.5, layers: [(0, Tissue.renalSinusFat.rawValue), (-5, Tissue.renalPelvis.rawValue)]) { u, v in
                            max(k.sinus(u, v, z), k.sd(u, v, z) + 1)
                        }]
            })
        }
    }

    private func addPancreasAndVessels(_ o: inout [SceneObject], _ rng: inout SeededRNG) {
        let ao = aorta, iv = ivc
        // Pancreas: tail at the splenic hilum, body across the aorta, head by the duodenum.
        let pv = ao.v - ao.r - rng.f(14, 22)
        let pts = [P3(0.5 * A, 0.1 * B, rng.f(-15, 5)), P3(0.15 * A, pv, rng.f(-30, -15)), P3(-0.12 * A, pv - 5, rng.f(-55, -35))]
        let radii = [rng.f(7, 10), rng.f(9, 13), rng.f(13, 18)]
        for k in 0..<2 {
            let seg = Segment(a: pts[k], b: pts[k + 1], ra: radii[k], rb: radii[k + 1])
            o.append(SceneObject(name: "pancreas", zMin: min(seg.a.z, seg.b.z) - 20, zMax: max(seg.a.z, seg.b.z) + 20) { z in
                guard let box = seg.box(atZ: z) else { return [] }
                return [PaintItem(box: box, step: 2, tissue: .pancreas) { u, v in seg.distance(P3(u, v, z)).d }]
            })
        }
        // Mesenteric vessels in the fat below the pancreas.
        let fatOnly = TissueSet([Tissue.visceralFat.rawValue])
        for _ in 0..<(8 + rng.below(14)) {
            let c = P3(A * rng.f(-0.3, 0.3), ao.v - rng.f(20, 90), rng.f(-300, -40))
            let d = P3(rng.f(-0.4, 0.4), rng.f(-0.4, 0.4), 1).normalized
            let r = rng.f(1.2, 3)
            let seg = Segment(a: c - d * 40, b: c + d * 40, ra: r, rb: r * 0.8)
            o.append(SceneObject(name: "mesenteric vessel", zMin: min(seg.a.z, seg.b.z) - r, zMax: max(seg.a.z, seg.b.z) + r) { z in
                guard let box = seg.box(atZ: z) else { return [] }
                return [PaintItem(box: box, step: 0.6, tissue: .mesentericVessel, clip: fatOnly) { u, v in seg.distance(P3(u, v, z)).d }]
            })
        }
        o.append(SceneObject(name: "aorta", zMin: -1000, zMax: 1000) { _ in
            [PaintItem(box: Box(cu: ao.u, cv: ao.v, ru: ao.r + 2, rv: ao.r + 2), step: 1, tissue: .aorta) { u, v in
                ((u - ao.u) * (u - ao.u) + (v - ao.v) * (v - ao.v)).squareRoot() - ao.r
            }]
        })
        o.append(SceneObject(name: "ivc", zMin: -1000, zMax: 1000) { _ in
            [PaintItem(box: Box(cu: iv.u, cv: iv.v, ru: iv.ru + 2, rv: iv.rv + 2), step: 1, tissue: .ivc) { u, v in
                ellipseSD(u - iv.u, v - iv.v, iv.ru, iv.rv)
            }]
        })
        // Main portal vein from the confluence behind the pancreas to the hilum, outside the liver only.
        var notLiver = TissueSet([])
        for t in Tissue.allCases where ![Tissue.liver, .portalVein, .hepaticVein].contains(t) { notLiver.insert(t.rawValue) }
        let trunk = Segment(a: P3(0.05 * A, pv + 12, rng.f(-70, -50)), b: portalPoint, ra: rng.f(6, 8), rb: rng.f(6, 8))
        let clip = notLiver
        o.append(SceneObject(name: "portal trunk", zMin: min(trunk.a.z, trunk.b.z) - 10, zMax: max(trunk.a.z, trunk.b.z) + 10) { z in
            guard let box = trunk.box(atZ: z) else { return [] }
            return [PaintItem(box: box, step: 1.5, tissue: .portalTrunk, clip: clip) { u, v in trunk.distance(P3(u, v, z)).d }]
        })
    }

    /// Position of z within the vertebral level: 0 at a disc's centre, levelSpacing/2 mid-body.
    @inline(__always) func levelOffset(_ z: Float) -> Float {
        let x = (z - levelPhase).truncatingRemainder(dividingBy: levelSpacing)
        let y = x < 0 ? x + levelSpacing : x
        return min(y, levelSpacing - y)
    }

    private func addSpine(_ o: inout [SceneObject]) {
        let vb = (v: vVB, ru: rVBu, rv: rVBv), vc = vCanal
        let bone: [(Float, UInt8)] = [(0, Tissue.corticalBone.rawValue), (-1.6, Tissue.marrow.rawValue)]
        o.append(SceneObject(name: "spine", zMin: -1000, zMax: 1000) { [unowned(unsafe) self] z in
            let off = self.levelOffset(z)
            var items: [PaintItem] = []
            if off < 4 {
                items.append(PaintItem(box: Box(cu: 0, cv: vb.v, ru: vb.ru + 2, rv: vb.rv + 2), step: 1, tissue: .disc) { u, v in
                    ellipseSD(u, v - vb.v, vb.ru, vb.rv)
                })
            } else {
                // End plates are denser: a thicker cortical shell near the discs.
                let shell: Float = off < 6 ? 4 : 1.6
                items.append(PaintItem(box: Box(cu: 0, cv: vb.v, ru: vb.ru + 2, rv: vb.rv + 2), step: 1,
                                       layers: [(0, Tissue.corticalBone.rawValue), (-shell, Tissue.marrow.rawValue)]) { u, v in
                    ellipseSD(u, v - vb.v, vb.ru, vb.rv)
                })
            }
            items.append(PaintItem(box: Box(cu: 0, cv: vc, ru: 17, rv: 15), step: 1, layers: bone) { u, v in ellipseSD(u, v - vc, 15, 13) })
            // Spinous process slopes down: seen whole only in part of each level, tapering.
            let spLen: Float = off > 6 ? 15 : 8
            items.append(PaintItem(box: Box(cu: 0, cv: vc + 14 + spLen, ru: 6, rv: spLen + 3), step: 1, layers: bone) { u, v in
                roundedBoxSD(u, v - (vc + 12 + spLen), 2.2 + 1.6 * max(0, 1 - (v - vc - 12) / (2 * spLen)), spLen, 2)
            })
            if off > levelSpacing * 0.3 && off < levelSpacing * 0.45 {
                for side in [Float(-1), 1] {
                    // Transverse processes point laterally and a little backward.
                    let ang: Float = 0.35
                    let cu = side * 24, cvv = vc + 1
                    let (ca, sa) = (cos(ang), sin(ang) * side)
                    items.append(PaintItem(box: Box(cu: cu, cv: cvv, ru: 16, rv: 10), step: 1, layers: bone) { u, v in
                        let x = u - cu, y = v - cvv
                        return roundedBoxSD(ca * x + sa * y, -sa * x + ca * y, 12, 3.5, 3)
                    })
                }
            }
            items.append(PaintItem(box: Box(cu: 0, cv: vc, ru: 10, rv: 10), step: 1, tissue: .csf) { u, v in
                ellipseSD(u, v - vc, 9, 8)
            })
            return items
        })
    }

    private func addRibs(_ o: inout [SceneObject], _ rng: inout SeededRNG) {
        let z12 = rng.f(-85, -50)
        let drop = rng.f(40, 55)
        let height = rng.f(8, 10), thick = rng.f(6, 8)
        let start: Float = 0.4
        // Rib 12 is the lowest (posteriorly); ribs 11 and 12 float, the others reach the costal cartilage.
        var ribs: [(z0: Float, end: Float)] = []
        for j in 0..<10 {
            let end: Float = j == 0 ? 1.4 : j == 1 ? 1.8 : 2.9
            ribs.append((z12 + Float(j) * levelSpacing, end))
        }
        let boneLayers: [(Float, UInt8)] = [(0, Tissue.corticalBone.rawValue), (-1.3, Tissue.marrow.rawValue)]
        o.append(SceneObject(name: "ribs", zMin: z12 - 3.2 * drop - 20, zMax: 1000) { [unowned(unsafe) self] z in
            var items: [PaintItem] = []
            for rib in ribs {
                let phi = start + (rib.z0 - z) / drop
                if phi < start || phi > rib.end { continue }
                for side in [Float(-1), 1] {
                    let du = side * sin(phi), dv = cos(phi)
                    // Where the ray meets the skin (the body function is radially homogeneous).
                    let a = self.halfWidth(z)
                    let (b, n) = dv < 0 ? (self.halfDepthAnt(z), self.nAnt) : (self.bPost, self.nPost)
                    let rho = pow(pow(abs(du) / a, n) + pow(abs(dv) / b, n), 1 / n)
                    let rSkin = 1 / rho
                    let depth = self.fatThickness(du * rSkin, dv * rSkin, z) + self.muscleThickness(du * rSkin, dv * rSkin) * 0.55
                    let rr = rSkin - depth
                    let pu = du * rr, pv = dv * rr
                    let tu = side * cos(phi), tv = -sin(phi)
                    let half = min(40, (height / 2) / drop * rr + thick / 2)
                    let layers = phi > 2.35 ? [(Float(0), Tissue.cartilage.rawValue)] : boneLayers
                    let ext = half + thick
                    items.append(PaintItem(box: Box(cu: pu, cv: pv, ru: ext, rv: ext), step: 1, layers: layers) { u, v in
                        let x = u - pu, y = v - pv
                        return roundedBoxSD(x * tu + y * tv, x * du + y * dv, half, thick / 2, thick / 2 - 0.2)
                    })
                }
            }
            return items
        })
    }
}
