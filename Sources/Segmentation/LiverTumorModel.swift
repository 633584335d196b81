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

    public init(kind: ModelKind, size: Int, unet: UNetConfig, liverWindow: IntensityWindow = .liver,
                tumorWindow: IntensityWindow = .tumor, seed: UInt64) {
        self.kind = kind
        self.size = size
        self.liverWindow = liverWindow
        self.tumorWindow = tumorWindow
        var a = unet
        a.classes = kind == .oneStep ? 3 : 1
        netA = UNet(a, seed: seed)
        if kind == .oneStep {
            netB = nil
        } else {
            var b = unet
            b.classes = 1
            netB = UNet(b, seed: seed &+ 1)
        }
    }

    /// All tensors by name ("A.down0.conv1.weight", …) for checkpoints.
    public var namedVariables: [(String, Variable)] {
        netA.namedVariables(prefix: "A") + (netB?.namedVariables(prefix: "B") ?? [])
    }

    /// Windowed network input [B, 1, S, S] from HU slices.
    func windowed(_ hu: Tensor, _ w: IntensityWindow) -> Tensor { hu.map { w($0) } }

    /// Input of network B: w_t(M·X), i.e. the tumor-windowed slice where the liver mask is
    /// set and 0 elsewhere (the seed's X̄ = w(M·X) with intensities already in [0, 1]).
    func tumorInput(_ hu: Tensor, mask: Tensor) -> Tensor {
        hu.zipWith(mask, op: "tumorInput") { h, m in m > 0 ? self.tumorWindow(h) : 0 }
    }

    /// Liver mask M from A's logits: probability ≥ t_a (the ROC convention).
    func mask(fromLiverLogits z: Tensor) -> Tensor {
        let t = liverThreshold
        return z.sigmoid().map { $0 >= t ? 1 : 0 }
    }

    /// Liver and tumor probabilities [B, 1, S, S] for a batch of HU slices (no gradients).
    /// In the cascade the tumor probability is zero outside the liver mask (B never looks there).
    public func predict(hu: Tensor) -> (liver: Tensor, tumor: Tensor) {
        Autograd.withoutGradients {
            switch kind {
            case .oneStep:
                let p = netA(Variable(windowed(hu, liverWindow)), training: false).value.softmaxChannels()
                let parts = p.splitChannels([1, 1, 1])
                return (parts[1] + parts[2], parts[2])
            case .cascade, .joint:
                let za = netA(Variable(windowed(hu, liverWindow)), training: false).value
                let m = mask(fromLiverLogits: za)
                let pb = netB!(Variable(tumorInput(hu, mask: m)), training: false).value.sigmoid()
                return (za.sigmoid(), pb * m)
            }
        }
    }
}
