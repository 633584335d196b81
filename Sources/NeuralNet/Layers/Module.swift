import Tensor

/// Anything with named tensors: trainable parameters (`requiresGrad`) and buffers such as
/// batch-norm running statistics. Names follow PyTorch's dotted style so checkpoints can be
/// compared with, and loaded from, PyTorch state dicts.
public protocol Module: AnyObject {
    func namedVariables(prefix: String) -> [(String, Variable)]
}

extension Module {
    public var namedVariables: [(String, Variable)] { namedVariables(prefix: "") }
    /// Trainable parameters only.
    public var parameters: [Variable] { namedVariables.map(\.1).filter(\.requiresGrad) }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    public func zeroGradients() { for p in parameters { p.grad = nil } }
}

@inline(__always) func join(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : prefix + "." + name
}
