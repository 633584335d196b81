import NeuralNet
import Tensor

/// The networks of one system and how slices flow through them. Inputs are batches of HU
/// slices at the model size; outputs are per-pixel probabilities of liver (liver or tumor,
/// the LiTS "liver" structure) and of tumor.
public final class LiverTumorModel {
    public let kind: ModelKind
    public let size: Int
    public let liverWindow: IntensityWindow
    public let tumorWindow: IntensityWindow
    /// One-step: the 3-class network. Cascade/joint: network A (liver).
    public let netA: UNet
    /// Cascade/joint: network B (tumor inside the predicted liver).
    public let netB: UNet?
    /// Liver threshold t_a of the seed (also the mask threshold that feeds B).
    public var liverThreshold: Float = 0.5
    public var tumorThreshold: Float = 0.5
    /// Smaller tumor components (mL) become liver after segmentation (`TumorOperatingPoint`).
    public var minLesionML = 0.0
    /// Lesions spanning fewer slices become liver (`TrainingConfig.minLesionSlices`).
    public var minLesionSlices = 1
    /// Found lesions reach out to this tumor probability (`PostProcessing.lesions`; nil: none).
    public var tumorExtentThreshold: Float?
    /// Applied to B's windowed input (nil: the seed's [0, 1] input).
    public var tumorStandardization: Standardization?
    /// B's input is centred on the liver of its own slice (`TrainingConfig.centerTumorInput`).
    public var centerTumorInput = false
    /// B sees its whole view and M as a second channel (`TrainingConfig.tumorMaskChannel`).
    public let tumorMaskChannel: Bool
    /// The networks see the body's square of each slice (`TrainingConfig.bodyCrop`).
    public var bodyCrop = false
    /// B sees the zoomed liver crop (`LiverCrop`) rather than the whole slice.
    public let tumorCrop: Bool
    /// B's crop is cut from the scan at its own resolution (`tumorInputsFromScan`) rather
    /// than from the model-size slice. Only the cascade: joint training builds B's input from
    /// A's output of the current step, on the model-size batch.
    public let tumorCropFromScan: Bool
    /// Network A (the one-step network) sees this many neighbouring slices on each side of
    /// its slice as extra channels (`SliceContext`).
    public let liverContext: Int
    /// Network B sees this many neighbouring slices on each side (0: its slice alone), cut
    /// from A's stack, so at most `liverContext` (`TrainingConfig.tumorContext`).
    public let tumorContext: Int

    public init(kind: ModelKind, size: Int, unet: UNetConfig, liverWindow: IntensityWindow = .liver,
                tumorWindow: IntensityWindow = .tumor, tumorCrop: Bool = true, tumorCropFromScan: Bool = false,
                liverContext: Int = 0, tumorContext: Int = 0, tumorBatchNorm: Bool? = nil, tumorFilters: Int? = nil, tumorMaskChannel: Bool = false, seed: UInt64) {
        precondition(tumorContext <= liverContext || kind == .oneStep, "B's context (\(tumorContext)) is cut from A's (\(liverContext))")
        self.kind = kind
        self.liverContext = liverContext
        self.tumorContext = kind == .oneStep ? 0 : tumorContext
        self.tumorCrop = tumorCrop
        self.tumorMaskChannel = tumorMaskChannel && kind != .oneStep
        self.tumorCropFromScan = tumorCrop && tumorCropFromScan && kind == .cascade
        self.size = size
        self.liverWindow = liverWindow
        self.tumorWindow = tumorWindow
        var a = unet
        a.classes = kind == .oneStep ? 3 : 1
        a.inChannels = 2 * liverContext + 1
        netA = UNet(a, seed: seed)
        if kind == .oneStep {
            netB = nil
        } else {
            var b = unet
            b.classes = 1
            b.inChannels = 2 * self.tumorContext + 1 + (self.tumorMaskChannel ? 1 : 0)
            b.batchNorm = tumorBatchNorm ?? unet.batchNorm
            b.filters = tumorFilters ?? unet.filters
            netB = UNet(b, seed: seed &+ 1)
        }
    }

    /// The model a training configuration describes (weights freshly initialised from its seed).
    public convenience init(_ c: TrainingConfig) {
        self.init(kind: c.kind, size: c.size, unet: c.unet, liverWindow: c.liverWindow, tumorWindow: c.tumorWindow,
                  tumorCrop: c.tumorCrop, tumorCropFromScan: c.tumorCropFromScan ?? false, liverContext: c.liverContext ?? 0,
                  tumorContext: c.tumorContext ?? 0, tumorBatchNorm: c.tumorBatchNorm, tumorFilters: c.tumorFilters, tumorMaskChannel: c.tumorMaskChannel ?? false, seed: c.seed)
        centerTumorInput = c.centerTumorInput ?? false
        bodyCrop = c.bodyCrop ?? false
        minLesionSlices = c.minLesionSlices ?? 1
    }

    /// The part of a volume's slices the networks see (the volume in canonical orientation,
    /// its planes written by `plane`).
    public func region(width: Int, height: Int, depth: Int, spacing: (Double, Double),
                       plane: (Int, UnsafeMutableBufferPointer<Float>) -> Void) -> SliceRegion {
        SliceRegion.view(bodyCrop: bodyCrop, width: width, height: height, depth: depth, spacing: spacing, plane: plane)
    }

    /// All tensors by name ("A.down0.conv1.weight", …) for checkpoints.
    public var namedVariables: [(String, Variable)] {
        netA.namedVariables(prefix: "A") + (netB?.namedVariables(prefix: "B") ?? [])
    }

    /// Windowed network input [B, 1, S, S] from HU slices.
    func windowed(_ hu: Tensor, _ w: IntensityWindow) -> Tensor { hu.map { w($0) } }

    /// Input of network B: w_t(M·X), i.e. the tumor-windowed slice where the liver mask is
    /// set and 0 elsewhere (the seed's X̄ = w(M·X) with intensities already in [0, 1]),
    /// standardized inside the mask when the model has `tumorStandardization`. Outside the
    /// mask a standardized input is 0, the liver's mean, rather than the image of w = 0 (about
    /// −7): that step would be the strongest edge B sees, and B learned lesions far more slowly
    /// with it (docs/experiments.md). With `centerTumorInput`, `TumorInputCentering` instead.
    func tumorInput(_ hu: Tensor, mask: Tensor) -> Tensor {
        let w = tumorWindow
        if tumorMaskChannel { return Tensor.concatChannels([TumorInputCentering.apply(hu, mask: mask, window: w, keepOutside: true), mask]) }
        if centerTumorInput { return TumorInputCentering.apply(hu, mask: mask, window: w) }
        let z = tumorStandardization ?? Standardization(mean: 0, std: 1)
        // The slice's neighbours (`tumorContext`) are cut by the slice's own M.
        let m = Tensor.concatChannels(Array(repeating: mask, count: hu.shape[1]))
        return hu.zipWith(m, op: "tumorInput") { h, m in m > 0 ? z(w(h)) : 0 }
    }

    /// Network A's logits for HU slices with their neighbours [n, 2·liverContext + 1, S, S]
    /// (`SliceContext.stack`; cascade: liver; one-step: the 3 classes), at inference (no gradients).
    public func logitsA(_ hu: Tensor) -> Tensor {
        Autograd.withoutGradients { netA(Variable(windowed(hu, liverWindow)), training: false).value }
    }

    /// Liver mask M from A's logits: probability ≥ t_a (the ROC convention).
    func mask(fromLiverLogits z: Tensor) -> Tensor {
        let t = liverThreshold
        return z.sigmoid().map { $0 >= t ? 1 : 0 }
    }

    /// What network B looks at for slices `hu` with liver masks `mask` ([n, 1, S, S] each):
    /// the zoomed liver crops when `tumorCrop` is on (slices with an empty mask stay whole),
    /// with the same crop applied to every other tensor given (e.g. the tumor target; nearest
    /// for labels, bilinear for `softOthers` such as coverage targets). `hu` may hold several
    /// channels (B's neighbouring slices): each is cut by its slice's crop.
    func tumorView(hu: Tensor, mask: Tensor, also others: [Tensor] = [], softOthers: Bool = false) -> (hu: Tensor, mask: Tensor, others: [Tensor], crops: [LiverCrop?]) {
        let n = hu.shape[0], s = size, p = s * s
        guard tumorCrop else { return (hu, mask, others, Array(repeating: nil, count: n)) }
        let outs = ([hu, mask] + others).map { Tensor(uninitializedShape: $0.shape) }
        var crops: [LiverCrop?] = []
        for i in 0..<n {
            let c = LiverCrop(mask: UnsafeBufferPointer(start: mask.readPointer + i * p, count: p), size: s)
            crops.append(c)
            for (k, (src, dst)) in zip([hu, mask] + others, outs).enumerated() {
                let channels = src.shape[1]
                for ch in 0..<channels {
                    let o = (i * channels + ch) * p
                    let sp = UnsafeBufferPointer(start: src.readPointer + o, count: p)
                    let dp = UnsafeMutableBufferPointer(start: dst.writePointer + o, count: p)
                    if let c { c.crop(sp, into: dp, nearest: k == 1 || (k > 1 && !softOthers)) } else { _ = dp.update(from: sp) }
                }
            }
        }
        return (outs[0], outs[1], Array(outs.dropFirst(2)), crops)
    }

    /// B's slices out of a stack of slices with A's neighbours [n, 2·liverContext + 1, S, S]:
    /// the middle 2·tumorContext + 1 channels.
    public func tumorSlices(_ stack: Tensor) -> Tensor {
        let c = stack.shape[1], keep = 2 * tumorContext + 1
        guard c > keep else { return stack }
        return stack.splitChannels([(c - keep) / 2, keep, (c - keep) / 2])[1]
    }

    /// B's tumor probability for slices `hu` (with `tumorContext` neighbours on each side as
    /// channels, `tumorSlices`) with liver masks `mask` [n, 1, S, S], on the slice grid and
    /// zero outside the mask (B is only asked about the liver).
    public func tumorProbability(hu: Tensor, mask: Tensor) -> Tensor {
        precondition(hu.shape[1] == 2 * tumorContext + 1, "B sees \(2 * tumorContext + 1) slices, given \(hu.shape[1])")
        let view = tumorView(hu: hu, mask: mask)
        let pb = probabilityB(tumorInput(view.hu, mask: view.mask))
        let s = size, p = s * s
        let out = Tensor(uninitializedShape: mask.shape)
        for (i, c) in view.crops.enumerated() {
            let src = UnsafeBufferPointer(start: pb.readPointer + i * p, count: p)
            let dst = UnsafeMutableBufferPointer(start: out.writePointer + i * p, count: p)
            if let c { c.uncrop(src, into: dst) } else { _ = dst.update(from: src) }
        }
        return out * mask
    }

    /// B's inputs cut from the scan (`tumorCropFromScan`): for slice n of `scan` (each
    /// `width`×`height` HU, the field of view of the model-size slice) with A's liver
    /// probability `liver` [n, 1, S, S], the liver square at scan resolution zoomed to S×S,
    /// and the mask M in the same square (A's probability resampled, then thresholded, so
    /// its edge is not a staircase of model pixels). Slices without liver are left out.
    /// `threshold` defaults to the liver threshold t_a (`liver` is then A's probability).
    public func tumorInputsFromScan(scan: [UnsafeBufferPointer<Float>], width: Int, height: Int,
                                    liver: Tensor, threshold: Float? = nil) -> (hu: Tensor, mask: Tensor, crops: [LiverCrop], slices: [Int]) {
        let s = size, p = s * s, t = threshold ?? liverThreshold
        var crops: [LiverCrop] = [], slices: [Int] = []
        for n in scan.indices {
            let m = UnsafeBufferPointer(start: liver.readPointer + n * p, count: p).map { $0 >= t ? Float(1) : 0 }
            if let c = m.withUnsafeBufferPointer({ LiverCrop(mask: $0, size: s) }) { crops.append(c); slices.append(n) }
        }
        let hu = Tensor(uninitializedShape: [slices.count, 1, s, s]), mask = Tensor(uninitializedShape: [slices.count, 1, s, s])
        for (j, (n, c)) in zip(slices, crops).enumerated() {
            c.crop(scan[n], width: width, height: height, into: UnsafeMutableBufferPointer(start: hu.writePointer + j * p, count: p))
            let mp = UnsafeMutableBufferPointer(start: mask.writePointer + j * p, count: p)
            c.crop(UnsafeBufferPointer(start: liver.readPointer + n * p, count: p), into: mp)
            for i in 0..<p { mp[i] = mp[i] >= t ? 1 : 0 }
        }
        return (hu, mask, crops, slices)
    }

    /// B's tumor probability in crop space for inputs made by `tumorInputsFromScan` (zero outside M).
    public func tumorProbability(crops hu: Tensor, mask: Tensor) -> Tensor {
        probabilityB(tumorInput(hu, mask: mask)) * mask
    }

    /// Network B's probability for its input (no gradients).
    func probabilityB(_ input: Tensor) -> Tensor {
        Autograd.withoutGradients { netB!(Variable(input), training: false).value.sigmoid() }
    }

    /// Liver and tumor probabilities [B, 1, S, S] for a batch of HU slices with their
    /// neighbours, as `logitsA` takes them (no gradients). In the cascade the tumor
    /// probability is zero outside the liver mask (B never looks there).
    public func predict(hu: Tensor) -> (liver: Tensor, tumor: Tensor) {
        switch kind {
        case .oneStep:
            let p = logitsA(hu).softmaxChannels()
            let parts = p.splitChannels([1, 1, 1])
            return (parts[1] + parts[2], parts[2])
        case .cascade, .joint:
            let za = logitsA(hu)
            return (za.sigmoid(), tumorProbability(hu: tumorSlices(hu), mask: mask(fromLiverLogits: za)))
        }
    }
}
