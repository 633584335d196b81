/// The seed's systems, plus the joint training it left as future work.
public enum ModelKind: String, Codable, Sendable, CaseIterable {
    /// Sec. 2.1: one U-Net, 3-class softmax (background, liver, tumor).
    case oneStep = "one-step"
    /// Sec. 2.2/2.3: U-Net A (liver) → mask M → U-Net B (tumor) on w(M·X), trained one after the other.
    case cascade
    /// Eq. 2.1: the cascade's two networks trained together on c·L_A + (1 − c)·L_B.
    case joint
}
