import Testing
import Tensor
@testable import NeuralNet

/// Three steps of each optimizer against torch.optim with the same gradients.
@Suite struct OptimizerTests {
    let fx = try! Fixtures.load("optim.safetensors")

    func run(_ prefix: String, _ make: ([Variable]) -> Optimizer) {
        let p = Variable(fx.tensors["p0"]!, requiresGrad: true)
        let opt = make([p])
        for k in 1...3 {
            p.grad = fx.tensors["g\(k)"]!
            opt.step()
            #expect(Fixtures.relativeError(p.value, fx.tensors["\(prefix).step\(k)"]!) < 1e-6, "\(prefix) step \(k)")
        }
    }

    @Test func sgdMomentum() { run("sgd_m") { SGD($0, learningRate: 0.1, momentum: 0.9) } }
    @Test func sgdNesterovWeightDecay() { run("sgd_nesterov_wd") { SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) } }
    @Test func adam() { run("adam") { Adam($0, learningRate: 0.01) } }

    /// Saving and restoring the state mid-way continues the same trajectory (resume after a crash).
    @Test func stateRoundTripContinuesTheTrajectory() throws {
        let p = Variable(fx.tensors["p0"]!, requiresGrad: true)
        let a = Adam([p], learningRate: 0.01)
        p.grad = fx.tensors["g1"]!; a.step()
        let q = Variable(p.value, requiresGrad: true)
        let b = Adam([q], learningRate: 0.01)
        try b.loadState(Dictionary(uniqueKeysWithValues: a.state))
        for k in 2...3 { p.grad = fx.tensors["g\(k)"]!; q.grad = p.grad; a.step(); b.step() }
        #expect(p.value.scalars == q.value.scalars)
        #expect(Fixtures.relativeError(q.value, fx.tensors["adam.step3"]!) < 1e-6)
    }

    @Test func schedules() {
        #expect(LearningRateSchedule.constant.rate(base: 0.1, at: 50) == 0.1)
        #expect(abs(LearningRateSchedule.step(every: 10, gamma: 0.5).rate(base: 0.1, at: 25) - 0.025) < 1e-9)
        #expect(abs(LearningRateSchedule.polynomial(total: 100, power: 0.9).rate(base: 0.01, at: 50) - 0.01 * 0.535886731) < 1e-8)
    }
}
