import Testing
@testable import MedicalImage

@Test func spacingAndAxisCodesOfLPSAffine() {
    // DICOM-like LPS grid: i → Left (−x in RAS), j → Posterior (−y), k → Superior.
    let g = Geometry(shape: [4, 5, 6], affine: [-0.7, 0, 0, 10, 0, -0.8, 0, 20, 0, 0, 2.5, -30, 0, 0, 0, 1])
    #expect(g.spacing == [0.7, 0.8, 2.5])
    #expect(g.axisCodes == "LPS")
    #expect(g.world(1, 1, 1) == [9.3, 19.2, -27.5])
}
