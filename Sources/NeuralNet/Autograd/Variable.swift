import Tensor

/// A node of the computation graph (reverse-mode autograd, micrograd style): a value, the
/// nodes it was computed from, and a closure that turns the gradient of the output into
/// gradients of those inputs. We chose closures over hand-written per-layer backward passes
/// so that losses such as the joint loss (eq. 2.1) compose from parts without new code;
/// each closure calls the same oneDNN backward kernels a hand-written layer would.
public final class Variable {
    /// Every assignment or in-place change of `value` (optimizer steps, checkpoint loads, batch
    /// norm's running statistics) counts up `version`, so a cache of derived data (the compiled
    /// inference graph's reordered weights) knows when it is stale.
    public var value: Tensor { didSet { version &+= 1 } }
    public private(set) var version = 0
    /// dL/d(value), filled by `backward()` for nodes that require gradients.
    public var grad: Tensor?
    public let requiresGrad: Bool
    let parents: [Variable]
    let backwardFn: ((Tensor) -> [Tensor?])?

    /// A leaf: an input (no gradient) or a trainable parameter (`requiresGrad`).
    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        parents = []
        backwardFn = nil
    }

    /// An interior node. The graph is only recorded when gradients are wanted
    /// (inference keeps no intermediate tensors alive).
    init(_ value: Tensor, parents: [Variable], backward: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        let needs = Autograd.isRecording && parents.contains { $0.requiresGrad }
        requiresGrad = needs
        self.parents = needs ? parents : []
        backwardFn = needs ? backward : nil
    }

    public var shape: [Int] { value.shape }

    /// Back-propagates from this node (a scalar loss: seed gradient 1) through the graph,
    /// accumulating into `grad` of every node that requires it.
    public func backward(seed: Tensor? = nil) {
        precondition(requiresGrad, "backward: this value does not depend on any parameter")
        let start = seed ?? Tensor(shape: value.shape, repeating: 1)
        precondition(start.shape == value.shape, "backward: seed \(start.shape) for value \(value.shape)")
        // Topological order by iterative DFS (recursion would overflow on deep graphs).
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (v, expanded) = stack.popLast() {
            if expanded { order.append(v); continue }
            if visited.contains(ObjectIdentifier(v)) { continue }
            visited.insert(ObjectIdentifier(v))
            stack.append((v, true))
            for p in v.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
        for v in order.reversed() {
            guard let g = pending.removeValue(forKey: ObjectIdentifier(v)) else { continue }
            if v.backwardFn == nil {
                // Leaf parameter: accumulate (gradients of several losses add up).
                if v.grad == nil { v.grad = g } else { v.grad!.addScaled(g) }
                continue
            }
            let grads = v.backwardFn!(g)
            for (p, pg) in zip(v.parents, grads) where p.requiresGrad {
                guard let pg else { continue }
                precondition(pg.shape == p.value.shape, "backward: gradient \(pg.shape) for value \(p.value.shape)")
                let key = ObjectIdentifier(p)
                if var acc = pending[key] {
                    pending[key] = nil
                    acc.addScaled(pg)
                    pending[key] = acc
                } else {
                    pending[key] = pg
                }
            }
        }
    }
}

/// Whether operations record the graph for a later `backward()`.
/// Task-local, so concurrent inference and training (or parallel tests) do not switch
/// each other's recording off.
public enum Autograd {
    @TaskLocal public static var isRecording = true

    /// Runs `body` without recording (inference, validation).
    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        try $isRecording.withValue(false) { try body() }
    }
}
