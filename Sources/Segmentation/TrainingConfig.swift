import NeuralNet
import Tensor

/// Everything that defines a training run; saved in the run directory so that `--resume`
/// continues exactly and `segment` rebuilds the model.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var kind: ModelKind = .cascade
    /// Side of the square network input (the seed: 512).
    public var size = 256
    public var filters = 32
    public var depth = 4
    /// Dropout in the up path (the seed: 0.4).
    public var dropout: Float = 0.4
    public var batchNorm = false
    /// Batch normalization in the cascade's (joint) network B; nil: as `batchNorm`. With it, A
    /// learned the liver better on the demo's phantoms and B the tumor worse (docs/experiments.md,
    /// session 10).
    public var tumorBatchNorm: Bool?
    /// Filters of the first level of the cascade's (joint) network B; nil: `filters`.
    public var tumorFilters: Int?
    /// Negative slope of every activation (`UNetConfig.leakySlope`; nil or 0: the seed's ReLU).
    public var leakySlope: Float?
    public var batchSize = 4
    /// Slices per batch of the cascade's liver network (nil: `batchSize`).
    public var liverBatchSize: Int?
    /// Stage 1 (plain cross-entropy) and stage 2 (the tumor weighting) epochs. The cascade
    /// trains A for `stage1Epochs`, then B for `stage1Epochs` + `stage2Epochs`.
    public var stage1Epochs = 10
    public var stage2Epochs = 5
    /// Liver network epochs for the cascade (nil: stage1Epochs).
    public var liverEpochs: Int?
    public var learningRate1: Float = 1e-3
    public var learningRate2: Float = 1e-4
    /// "constant" (the seed: a fixed rate per stage) or "poly": within each phase the rate
    /// falls as (1 − t)^0.9 (nnU-Net's schedule), which settles a short run's weights.
    /// nil (runs saved before the option existed): constant.
    public var learningRateSchedule: String?
    /// "sgd" (the seed: SGD with momentum) or "adam".
    public var optimizer = "sgd"
    public var momentum: Float = 0.9
    /// Stage-2 weighting of the tumor loss: α of eq. 2.2 or the balanced α_k of eq. 2.3.
    public var tumorWeighting: BinaryWeighting = .balanced
    /// Network B works on the square around the liver mask, zoomed to the model size
    /// (see `LiverCrop`), instead of the whole slice.
    public var tumorCrop = true
    /// The cascade cuts B's crop from the scan at its own resolution rather than from the
    /// model-size slice (lesions of 1–5 model pixels become 2–4× larger; see `LiverCrop`).
    /// Off by default: on the phantom experiment it made B collapse in 4 of 5 runs (see
    /// docs/experiments.md); nil (runs saved before the option existed) also means off.
    public var tumorCropFromScan: Bool? = false
    /// Share of B's training slices per epoch drawn from slices that hold tumor (nil: slices
    /// as they come). Lesions sit on a minority of liver slices; oversampling them, as nnU-Net
    /// oversamples foreground patches, lets a short run see enough of them.
    public var tumorSliceShare: Double?
    /// Adds this weight × soft Dice (over the batch) to the cross-entropy of networks A and B
    /// (cascade and joint; nil: the seed's cross-entropy alone). Dice is blind to the class
    /// ratio, which is what lets B learn lesions of a few per cent of its pixels in a short
    /// run; nnU-Net trains with the same sum.
    public var diceWeight: Float?
    /// Network A's cross-entropy weighs tumor pixels this many times a liver pixel (cascade and
    /// joint; nil: 1, the seed's loss). In the cascade a tumor voxel A leaves out is lost to B
    /// as well, while a liver voxel it leaves out costs the liver Dice alone; on the held-out
    /// phantoms A left out 7–11 % of the voxels of lesions of 100 voxels or more against
    /// 3.2–3.5 % of the liver's other voxels (docs/experiments.md, session 15).
    public var liverTumorWeight: Float?
    /// Network B's cross-entropy becomes the focal loss with this γ (`Losses.binaryCrossEntropy`,
    /// `focusing`), in both of its stages: B finds the well-contrasted lesions inside the liver
    /// and misses the faint ones and those under the capsule, whose pixels the many easy ones
    /// outweigh. nil/0: the plain cross-entropy, as the seed.
    public var tumorFocusing: Float?
    /// The cascade's B learns on masks M from networks A trained on the other cases, in this
    /// many folds of the training cases (`Trainer.predictMasksCrossValidated`), instead of A's
    /// masks on its own training cases. With `liverFrom` the fold networks still train, for the
    /// liver phase's epochs (`liverEpochs`), on this run's cases. nil/0/1: A's own, as the seed.
    public var tumorMaskFolds: Int?
    /// Share of the rim lesions of B's training slices whose mask M is cut open at the lesion
    /// (`MaskLesionCut`), so that B learns lesions the mask's edge runs through, as A's edge
    /// does on new cases. Cascade only (the joint model's M is A's of the moment). nil/0: M as
    /// A made it. At 0.5 it raised the longer recipe's four-seed per-case tumor Dice by +0.028
    /// / −0.003 / +0.038 on the three held-out sets (docs/experiments.md, session 21).
    public var tumorMaskCuts: Double?
    /// Share of B's training slices whose mask M grows at random into the tissue next to the
    /// liver (`MaskSpill`), as A's masks do on new cases, so that B learns that such tissue is
    /// not tumor. Cascade only. nil/0: M as A made it. At 0.5, with B on 48 phantoms, it halved
    /// one seed's false lesions (16 → 8) and left the other's score as it was
    /// (docs/experiments.md, session 25).
    public var tumorMaskSpills: Double?
    /// Network B's loss gives every lesion piece of a batch the same total weight
    /// (`LesionWeights`: inverse-size weighting), so the small, faint lesions count as much as
    /// the large ones. Cascade and joint. nil/false: every pixel counts once, as the seed.
    public var tumorLesionWeights: Bool?
    /// The cascade's network A, with its liver threshold, comes from this finished run directory
    /// (`TrainedLiverNetwork`), and the run trains B alone: the liver phase is skipped
    /// (`liverEpochs` is then only the fold networks' of `tumorMaskFolds`). nil: A trains
    /// first, as the seed.
    public var liverFrom: String?
    /// The cascade's B starts from A's trained weights (all but the 1×1 head) instead of
    /// random ones. nil/false: random, as the seed.
    public var tumorInitFromLiver: Bool?
    /// The cascade's B ends as the mean of its weights after each epoch of its last phase
    /// (stage 2, at the low rate; stochastic weight averaging), instead of the epoch of best
    /// validation Dice: B's validation Dice swings from epoch to epoch, and the best of them is
    /// picked on a few validation cases. nil: off.
    public var averageTumorWeights: Bool?
    /// Network B trains on patches of this side cut from its view, half centred on a lesion
    /// (`TumorPatches`; nil: the whole view). Inference always sees the whole view.
    public var tumorPatch: Int?
    /// B's input w(M·X) is standardized by the mean and spread of w over the training slices'
    /// liver (`Standardization`; stored with the model). nil or false: the seed's [0, 1] input.
    /// Off by default: on the demo data it made B worse (docs/experiments.md).
    public var standardizeTumorInput: Bool?
    /// B's input is centred on its slice's liver: w(X) minus the median of w inside M, times 5,
    /// and 0 outside M (`TumorInputCentering`). nil (runs saved before the option existed):
    /// the seed's w(M·X). On by default: B learned lesions within the demo's budget only with
    /// it (docs/experiments.md, session 5).
    public var centerTumorInput: Bool? = true
    /// Network B sees its whole crop (centred as above, not zeroed outside M) with M as a second
    /// input channel, instead of the masked slice alone. Tried for the lesions under the liver's
    /// capsule that A's mask cuts and B misses: it did not find them, and at the long preset it
    /// lost on both held-out phantom sets (docs/experiments.md, session 14). Needs
    /// `centerTumorInput`. nil: off.
    public var tumorMaskChannel: Bool?
    /// The networks see the square around the body (`SliceRegion.body`) rather than the whole
    /// slice, at the same model size. nil (runs saved before the option existed): the whole
    /// slice. On by default: it costs no training time and one pass over the scan at inference;
    /// the demo's phantoms fill 75–100 % of the slice, so there it gains little (README).
    public var bodyCrop: Bool? = true
    /// Network A (the one-step network) also sees this many slices on each side of its slice,
    /// as input channels (`SliceContext`). nil (runs saved before the option existed): 0, the
    /// seed's single slice.
    public var liverContext: Int? = 1
    /// Network B (cascade and joint) also sees this many neighbouring slices on each side, cut
    /// from A's stack (so at most `liverContext`), treated like its slice: centred on the
    /// slice's liver median (or windowed) and cut by the slice's mask M. A lesion is a 3-D
    /// object: its neighbours hold it too, while noise and a single slice's partial volume do
    /// not. nil: 0, B sees its slice alone.
    public var tumorContext: Int?
    /// Networks A and B learn the share of each of their pixels that is liver, or tumor, on
    /// the scan (`SliceResize.coverage`) instead of the 0/1 label picked by nearest neighbour
    /// (cascade and joint; the one-step network's softmax keeps hard classes). On by default:
    /// on the demo's phantoms it raised held-out liver Dice in 10 of 12 cases (0.934 → 0.939
    /// per case; docs/experiments.md, session 9). nil (runs saved before the option existed): off.
    public var coverageTargets: Bool? = true
    /// Lesions (after the operating point, `PostProcessing.lesions`) must span at least this many
    /// slices. 2 by default: a lesion is a 3-D object, and most false lesions of the 2-D tumor
    /// network lay on a single slice, at the liver's first or last slices where partial volume
    /// darkens it (docs/experiments.md, session 10). nil (runs saved before the option existed): 1.
    public var minLesionSlices: Int? = 2
    /// c of the joint loss (eq. 2.1).
    public var jointC: Float = 0.5
    public var liverWindow: IntensityWindow = .liver
    public var tumorWindow: IntensityWindow = .tumor
    /// Share of slices without liver, relative to the number with liver.
    public var nonLiverFraction = 0.15
    /// Share of cases held out for validation (split by case, never by slice).
    public var validationFraction = 0.2
    /// At most this many training slices per epoch (nil: all), drawn anew each epoch.
    public var maxSlicesPerEpoch: Int?
    public var augmentation = Augmentation()
    public var seed: UInt64 = 1

    public init() {}

    public var unet: UNetConfig {
        UNetConfig(inChannels: 1, classes: 1, filters: filters, depth: depth, dropout: dropout, batchNorm: batchNorm, leakySlope: leakySlope)
    }

    /// Named starting points; every field can still be overridden.
    /// - demo: fits in minutes on 2 CPU cores (128², F=16, Adam — SGD at the seed's rate needs
    ///   far more epochs than a demo can spend).
    /// - long: the demo's settings with more of B's epochs (30 + 8; A's 20 are the demo's) and B
    ///   seeing a slice on each side; ~10 minutes on 2 cores.
    /// - full: 256², F=32, longer; the setting for real CT on a CPU.
    /// - paper: the seed's choices: 512², SGD with momentum at 1e-3 then 1e-4, dropout 0.4.
    public static func preset(_ name: String) throws -> TrainingConfig {
        var c = TrainingConfig()
        switch name {
        case "demo":
            // B stage 2 with α 0.30, not balanced: the literal balanced weights give slices
            // without tumor no background weight, and within two epochs they undid what a
            // centred B had learned (held-out tumor Dice 0.36 → 0.25; docs/experiments.md).
            // A learns more from its 256 slices an epoch in 64 steps of 4 than in 32 of 8: held-out
            // liver Dice 0.939 → 0.950 on 12 phantoms for 2 s more an epoch (docs/experiments.md).
            c.size = 128; c.filters = 16; c.batchSize = 8; c.liverBatchSize = 4
            // B's validation Dice levels off after 3 of its epochs; 4 + 2 instead of 6 + 2 gave
            // the same held-out tumor Dice and 28 s back (docs/experiments.md, session 9).
            // A gets the long preset's 20 epochs: with 8 its held-out liver Dice missed 0.93 on
            // an AVX2 CPU (0.928); with 20, three seeds score 0.947–0.957 on the demo's cases
            // and 0.959 on average on 12 more (0.945 with 8), for about 3 minutes more
            // (docs/experiments.md, session 23).
            c.stage1Epochs = 4; c.stage2Epochs = 2; c.liverEpochs = 20
            c.tumorWeighting = .alpha(0.3)
            c.optimizer = "adam"; c.learningRate1 = 2e-3; c.learningRate2 = 3e-4
            c.maxSlicesPerEpoch = 256
        case "long":
            // The demo's settings, trained longer (#6): about 10 minutes on 2 cores. B's validation
            // Dice was still rising after the demo's 4 + 2 epochs when given 10 + 4 and 30 + 8
            // (held-out tumor Dice 0.646 → 0.658 per case on 12 phantoms; docs/experiments.md, session 14).
            // B sees a slice on each side: over 4 seeds × 3 held-out sets the per-case tumor Dice
            // went 0.579 → 0.618 on average and its spread between seeds 0.20 → 0.03; at the
            // demo's 4 + 2 epochs it did not help (docs/experiments.md, session 16).
            c = try preset("demo")
            c.stage1Epochs = 30; c.stage2Epochs = 8
            c.tumorContext = 1
        case "full":
            c.size = 256; c.filters = 32; c.batchSize = 4
            c.stage1Epochs = 30; c.stage2Epochs = 10
            c.optimizer = "adam"; c.learningRate1 = 1e-3; c.learningRate2 = 1e-4
        case "paper":
            c.size = 512; c.filters = 32; c.batchSize = 4
            c.stage1Epochs = 50; c.stage2Epochs = 30
            c.optimizer = "sgd"; c.learningRate1 = 1e-3; c.learningRate2 = 1e-4
        default:
            throw SegmentationError("unknown preset '\(name)'; choose demo, long, full or paper")
        }
        return c
    }

    /// Network A's pixel weights for a batch's tumor target (`liverTumorWeight`): 1 on liver
    /// and background, the weight on tumor, and in between by the pixel's tumor share when the
    /// targets are coverage shares. nil without the option.
    func liverPixelWeights(tumor: Tensor) -> Tensor? {
        liverTumorWeight.map { w in tumor.map { 1 + (w - 1) * $0 } }
    }

    public func validate() throws {
        guard size > 0, size % (1 << depth) == 0 else {
            throw SegmentationError("size \(size) must be a positive multiple of 2^depth = \(1 << depth)")
        }
        guard filters > 0, batchSize > 0, (liverBatchSize ?? 1) > 0, stage1Epochs >= 0, stage2Epochs >= 0, stage1Epochs + stage2Epochs > 0 else {
            throw SegmentationError("filters and batch size must be positive and at least one epoch must be trained")
        }
        if let l = learningRateSchedule, !["constant", "poly"].contains(l) { throw SegmentationError("learning-rate schedule must be constant or poly, got \(l)") }
        guard ["sgd", "adam"].contains(optimizer) else { throw SegmentationError("optimizer must be sgd or adam, got \(optimizer)") }
        if let s = leakySlope, !(0..<1).contains(s) { throw SegmentationError("leaky slope must be in [0, 1), got \(s)") }
        guard (0..<1).contains(dropout) else { throw SegmentationError("dropout must be in [0, 1), got \(dropout)") }
        guard (0...1).contains(jointC) else { throw SegmentationError("joint c must be in [0, 1], got \(jointC)") }
        if let d = diceWeight, !(d >= 0 && d.isFinite) { throw SegmentationError("Dice weight must be ≥ 0, got \(d)") }
        if averageTumorWeights == true && kind != .cascade {
            throw SegmentationError("--average-tumor-weights averages the cascade's tumor network; the \(kind.rawValue) model has none trained alone")
        }
        if let f = tumorFilters {
            guard f > 0 else { throw SegmentationError("the tumor network's filters must be positive, got \(f)") }
            if f != filters && tumorInitFromLiver == true {
                throw SegmentationError("--tumor-init-from-liver copies A's weights, so B needs A's \(filters) filters, not \(f)")
            }
        }
        if let k = tumorMaskFolds, k < 0 || (k >= 2 && (kind != .cascade || tumorCropFromScan == true)) {
            throw SegmentationError("cross-validated masks for B need the cascade with B's crop cut from the model's slice, and 2 or more folds (0 or 1: off), got \(k)")
        }
        if let q = tumorMaskCuts, !(0...1).contains(q) || (q > 0 && kind != .cascade) {
            throw SegmentationError("--tumor-mask-cuts is a share in [0, 1] of the cascade's rim lesions, got \(q) for the \(kind.rawValue) model")
        }
        if let q = tumorMaskSpills, !(0...1).contains(q) || (q > 0 && kind != .cascade) {
            throw SegmentationError("--tumor-mask-spills is a share in [0, 1] of the cascade tumor network's training slices, got \(q) for the \(kind.rawValue) model")
        }
        if tumorLesionWeights == true && kind == .oneStep {
            throw SegmentationError("--tumor-lesion-weights weighs the tumor network's loss; the one-step model has none")
        }
        if liverFrom != nil {
            guard kind == .cascade else { throw SegmentationError("--liver-from gives the cascade its liver network; the \(kind.rawValue) model trains its own") }
        }
        if let g = tumorFocusing, !(g >= 0 && g.isFinite) { throw SegmentationError("the tumor network's focal γ must be ≥ 0, got \(g)") }
        if let w = liverTumorWeight, !(w > 0 && w.isFinite) { throw SegmentationError("the liver network's tumor weight must be > 0, got \(w)") }
        if let q = tumorPatch, !(q > 0 && q <= size && q % (1 << depth) == 0) {
            throw SegmentationError("tumor patch \(q) must be a positive multiple of 2^depth = \(1 << depth) no larger than the size \(size)")
        }
        if let m = minLesionSlices, m < 1 { throw SegmentationError("lesions must span at least 1 slice, got \(m)") }
        if let z = liverContext, !(0...4).contains(z) { throw SegmentationError("liver context must be 0…4 slices on each side, got \(z)") }
        if let t = tumorContext, t > 0, kind != .oneStep {
            guard t <= (liverContext ?? 0) else {
                throw SegmentationError("the tumor network's context (\(t)) is cut from the liver network's, so it must be at most --liver-context (\(liverContext ?? 0))")
            }
            guard tumorCropFromScan != true else {
                throw SegmentationError("the tumor network's context is cut from the model-size slices, not from the scan; drop --tumor-crop scan or give --tumor-context 0")
            }
        }
        if let t = tumorSliceShare, !(0...1).contains(t) { throw SegmentationError("tumor slice share must be in [0, 1], got \(t)") }
        guard validationFraction >= 0 && validationFraction < 1 else { throw SegmentationError("validation fraction must be in [0, 1)") }
        // An epoch of no slices learns nothing (and its mean loss is 0/0).
        if let m = maxSlicesPerEpoch, m < 1 { throw SegmentationError("slices per epoch must be at least 1, got \(m)") }
        guard nonLiverFraction >= 0 && nonLiverFraction.isFinite else { throw SegmentationError("the share of slices without liver must be ≥ 0, got \(nonLiverFraction)") }
        guard learningRate1 > 0 && learningRate1.isFinite && learningRate2 > 0 && learningRate2.isFinite else {
            throw SegmentationError("learning rates must be positive, got \(learningRate1) and \(learningRate2)")
        }
        if centerTumorInput == true && standardizeTumorInput == true {
            throw SegmentationError("the tumor input is either centred per slice or standardized by the training livers, not both")
        }
        if tumorMaskChannel == true && centerTumorInput != true {
            throw SegmentationError("the tumor network's mask channel (--tumor-mask-channel) needs its centred input; drop --no-center-tumor-input")
        }
        if bodyCrop == true && tumorCropFromScan == true {
            throw SegmentationError("the tumor crop is cut from the scan (--tumor-crop scan) only when the networks see the whole slice; add --no-body-crop")
        }
        if case .alpha(let a) = tumorWeighting, !(a > 0 && a < 1) { throw SegmentationError("α must be in (0, 1), got \(a)") }
    }
}
