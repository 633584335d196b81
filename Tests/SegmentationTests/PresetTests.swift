import Foundation
import Tensor
import Testing
@testable import Segmentation

/// The presets the README and docs/experiments.md quote numbers for.
@Suite struct PresetTests {
    @Test func longIsTheDemoTrainedLongerWithBSeeingItsNeighbours() throws {
        let demo = try TrainingConfig.preset("demo"), long = try TrainingConfig.preset("long")
        #expect((demo.size, demo.filters, demo.liverEpochs, demo.stage1Epochs, demo.stage2Epochs) == (128, 16, 20, 4, 2))
        #expect((long.liverEpochs, long.stage1Epochs, long.stage2Epochs) == (20, 30, 8))
        #expect(demo.tumorContext == nil && long.tumorContext == 1 && long.liverContext == 1)
        // Everything else is the demo's: the same JSON once the epochs and B's context agree.
        var same = long
        (same.liverEpochs, same.stage1Epochs, same.stage2Epochs) = (demo.liverEpochs, demo.stage1Epochs, demo.stage2Epochs)
        same.tumorContext = nil
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        #expect(try enc.encode(same) == enc.encode(demo))
        try long.validate()
    }

    @Test func anUnknownPresetIsNamedInTheError() {
        #expect { try TrainingConfig.preset("quick") } throws: { "\($0)".contains("'quick'") && "\($0)".contains("long") }
    }

    /// `train --slices-per-epoch 0` started a run that could learn nothing; a negative share of
    /// slices without liver and a learning rate of 0 or below are refused alike, by name.
    @Test func emptyEpochsAndNonPositiveRatesAreRefused() throws {
        let demo = try TrainingConfig.preset("demo")
        try demo.validate()
        var c = demo
        c.maxSlicesPerEpoch = 0
        #expect { try c.validate() } throws: { "\($0)".contains("slices per epoch") }
        c.maxSlicesPerEpoch = 1
        try c.validate()
        c = demo
        c.nonLiverFraction = -0.1
        #expect { try c.validate() } throws: { "\($0)".contains("without liver") }
        for (l1, l2) in [(Float(0), Float(1e-4)), (1e-3, -1e-4), (.nan, 1e-4)] {
            c = demo
            (c.learningRate1, c.learningRate2) = (l1, l2)
            #expect { try c.validate() } throws: { "\($0)".contains("learning rates") }
        }
    }

    /// `--liver-tumor-weight`: A's pixel weights are 1 off tumor, the weight on tumor and in
    /// between on a pixel half covered by tumor; the weight must be positive and finite.
    @Test func liverTumorWeightWeighsTumorPixels() throws {
        var c = try TrainingConfig.preset("demo")
        let tumor = Tensor(shape: [1, 1, 1, 3], values: [0, 1, 0.5])
        #expect(c.liverPixelWeights(tumor: tumor) == nil)
        c.liverTumorWeight = 4
        #expect(c.liverPixelWeights(tumor: tumor)?.scalars == [1, 4, 2.5])
        try c.validate()
        for bad: Float in [0, -1, .nan, .infinity] {
            c.liverTumorWeight = bad
            #expect { try c.validate() } throws: { "\($0)".contains("tumor weight") }
        }
    }
}
