import Foundation
import Testing
import Tensor
@testable import NeuralNet

/// The U-Net, its loss and every gradient against PyTorch 2.13 (fixtures written by
/// scripts/fixtures/make_neuralnet_fixtures.py, float64 references rounded to float32).
@Suite struct TorchEquivalenceTests {
    func run(_ file: String, batchNorm: Bool) throws {
        let fx = try Fixtures.load(file)
        let md = fx.metadata
        let config = UNetConfig(inChannels: Int(md["in_channels"]!)!, classes: Int(md["classes"]!)!,
                                filters: Int(md["filters"]!)!, depth: Int(md["depth"]!)!, dropout: 0,
                                batchNorm: md["batch_norm"] == "true")
        #expect(config.batchNorm == batchNorm)
        let net = UNet(config, seed: 123)
        let params = fx.tensors.filter { k, _ in !k.hasPrefix("grad.") && !k.hasPrefix("after.") && !["input", "target", "logits", "loss"].contains(k) }
        try Checkpoint.assign(params, to: net, path: file)
        let x = Variable(fx.tensors["input"]!, requiresGrad: true)
        let target = fx.tensors["target"]!
        let logits = net(x, training: batchNorm)   // the BN fixture is in training mode
        #expect(Fixtures.relativeError(logits.value, fx.tensors["logits"]!) < 1e-4)
        let loss = Losses.crossEntropy(logits: logits, labels: target)
        #expect(abs(loss.value[flat: 0] - fx.tensors["loss"]![flat: 0]) / fx.tensors["loss"]![flat: 0] < 1e-5)
        loss.backward()
        for (name, v) in net.namedVariables where v.requiresGrad {
            let ref = fx.tensors["grad." + name]!
            let g = v.grad!
            if name.contains("conv") && name.hasSuffix("bias") && batchNorm {
                // A bias feeding batch norm has true gradient 0 (BN removes the mean).
                #expect(g.maxAbs() < 1e-4, "\(name): \(g.maxAbs())")
            } else {
                #expect(Fixtures.relativeError(g, ref) < 1e-4, "\(name)")
            }
        }
        #expect(Fixtures.relativeError(x.grad!, fx.tensors["grad.input"]!) < 1e-4)
        if batchNorm {
            for (name, v) in net.namedVariables where name.contains("running_") {
                #expect(Fixtures.relativeError(v.value, fx.tensors["after." + name]!) < 1e-5, "\(name)")
            }
        }
    }

    @Test func unetWithoutBatchNormMatchesPyTorch() throws { try run("unet_d2.safetensors", batchNorm: false) }
    @Test func unetWithBatchNormInTrainingMatchesPyTorch() throws { try run("unet_d2_bn.safetensors", batchNorm: true) }

    /// Inference folds batch norm into the convolutions (`BatchNorm2D.folded`); with gradients
    /// recorded the same network runs convolution, batch norm and ReLU as separate ops. The two
    /// agree, with the running statistics PyTorch's training step left (not the initial 0 and 1).
    @Test func foldedBatchNormAtInferenceMatchesTheSeparateOps() throws {
        let fx = try Fixtures.load("unet_d2_bn.safetensors")
        let md = fx.metadata
        let config = UNetConfig(inChannels: Int(md["in_channels"]!)!, classes: Int(md["classes"]!)!,
                                filters: Int(md["filters"]!)!, depth: Int(md["depth"]!)!, dropout: 0, batchNorm: true)
        let net = UNet(config, seed: 123)
        var params = fx.tensors.filter { k, _ in !k.hasPrefix("grad.") && !k.hasPrefix("after.") && !["input", "target", "logits", "loss"].contains(k) }
        for (k, v) in fx.tensors where k.hasPrefix("after.") { params[String(k.dropFirst(6))] = v }
        try Checkpoint.assign(params, to: net, path: "unet_d2_bn.safetensors")
        let x = fx.tensors["input"]!
        let separate = net(Variable(x, requiresGrad: true), training: false).value
        let folded = Autograd.withoutGradients { net(Variable(x), training: false).value }
        #expect(Fixtures.relativeError(folded, separate) < 1e-5)
        // The running statistics matter here: with the initial ones the output differs.
        #expect(fx.tensors.keys.contains { $0.hasPrefix("after.") && $0.hasSuffix("running_mean") })
    }

    @Test func parameterCountMatchesTheArchitecture() {
        // Depth 4, F=32, 1 input channel, 1 class, no BN: the seed's network. Counted by hand:
        // convs 3×3 (w + b) down: (1·32+32·32)·9+64, (32·64+64·64)·9+128, … ; up/dec/head likewise.
        var expected = 0
        let ch = [32, 64, 128, 256, 512]
        var cin = 1
        for c in ch { expected += (cin * c + c * c) * 9 + 2 * c; cin = c }
        for l in (0..<4).reversed() { expected += ch[l + 1] * ch[l] * 4 + ch[l] + (2 * ch[l] * ch[l] + ch[l] * ch[l]) * 9 + 2 * ch[l] }
        expected += 32 + 1
        #expect(UNet(UNetConfig(), seed: 0).parameterCount == expected)
        // And the fixture's PyTorch model has exactly as many parameters as ours.
        let fx = try! Fixtures.load("unet_d2.safetensors")
        let torchCount = fx.tensors.filter { $0.key.hasPrefix("grad.") && $0.key != "grad.input" }.values.reduce(0) { $0 + $1.count }
        #expect(UNet(UNetConfig(inChannels: 1, classes: 3, filters: 4, depth: 2), seed: 0).parameterCount == torchCount)
    }
}
