import Foundation
import NeuralNet
import Testing
@testable import Segmentation

/// Network B with a width of its own (`--tumor-filters`).
@Suite struct TumorFiltersTests {
    /// Output channels of a network's first convolution.
    static func firstWidth(_ net: UNet) throws -> Int {
        try #require(net.namedVariables(prefix: "").first { $0.0.hasSuffix("conv1.weight") }).1.value.shape[0]
    }

    @Test func bTakesItsOwnWidthAndAKeepsTheSharedOne() throws {
        var c = TinyDataset.config(.cascade)
        c.tumorInitFromLiver = nil
        let same = LiverTumorModel(c)
        #expect(try Self.firstWidth(same.netA) == 4 && Self.firstWidth(same.netB!) == 4)
        c.tumorFilters = 8
        let wide = LiverTumorModel(c)
        #expect(try Self.firstWidth(wide.netA) == 4 && Self.firstWidth(wide.netB!) == 8)
        // Every level doubles B's own width: its deepest level (depth 2) has 8·4 filters.
        #expect(wide.netB!.config.filters == 8 && wide.netA.config.filters == 4)
        #expect(wide.netB!.namedVariables(prefix: "").contains { $0.1.value.shape.first == 32 })
        // A run saved before the option has no key in model.json (nil is not written): B as wide as A.
        let json = try JSONEncoder().encode(TinyDataset.config(.cascade))
        #expect(!String(decoding: json, as: UTF8.self).contains("tumorFilters"))
        let old = try JSONDecoder().decode(TrainingConfig.self, from: json)
        #expect(old.tumorFilters == nil && LiverTumorModel(old).netB!.config.filters == 4)
    }

    @Test func widthsThatCannotWorkAreRefused() throws {
        var c = TinyDataset.config(.cascade)
        c.tumorFilters = 0
        #expect(throws: SegmentationError.self) { try c.validate() }
        c.tumorFilters = 8          // A's weights cannot be copied into a B of another width
        #expect(throws: SegmentationError.self) { try c.validate() }
        c.tumorFilters = 4
        try c.validate()
        c.tumorInitFromLiver = nil; c.tumorFilters = 8
        try c.validate()
    }

    /// A cascade with a B twice as wide as A trains, resumes to the same weights, loads back
    /// with B's width, and segments.
    @Test func aRunWithAWiderBTrainsResumesAndLoadsBack() throws {
        let data = TinyDataset.tempDir("tumorfilters")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyDataset.write(data, cases: 3)
        var c = TinyDataset.config(.cascade)
        c.tumorInitFromLiver = nil; c.tumorFilters = 8
        let runA = try TrainerTests.trainStraightAndResumed(data: data, config: c, stopAfter: 2)
        let (model, _) = try RunDirectory(runA).loadModel()
        #expect(try Self.firstWidth(model.netB!) == 8 && Self.firstWidth(model.netA) == 4)
        let (image, _) = try SliceDataset.loadCase(try CaseDiscovery.cases(in: data)[0])
        #expect(try Predictor(model: model).segment(image).labels.geometry == image.geometry)
    }
}
