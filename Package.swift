// swift-tools-version:6.0
// LiverSeg: liver and liver-tumor segmentation of abdominal CT (Gruber et al.), in Swift.
// One library target per layer of the system; C libraries come from Debian's -dev packages.
import PackageDescription

// Plain -O in release: -Ounchecked would turn the shape checks that name the op and the
// shapes into undefined behaviour.
let optimize: [SwiftSetting] = []

let package = Package(
    name: "LiverSeg",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "liverseg", targets: ["liverseg"]),
        .library(name: "LiverSeg", targets: ["Tensor", "NeuralNet", "MedicalImage", "Phantom", "Evaluation", "Segmentation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // oneDNN ships no pkg-config file on Debian 12: link by name, header through a shim.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL",
                       providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),

        // Dropout's hash, vectorized with AVX-512 where the CPU has it (see dropout.c).
        .target(name: "CDropout", path: "Sources/CDropout"),

        // Layer 0: small shared pieces (atomic writes, seeded RNG, progress) used by every layer.
        .target(name: "Support", swiftSettings: optimize),
        // Layer 1: tensors and the oneDNN compute backend.
        .target(name: "Tensor", dependencies: ["CDNNL", "CDropout", "Support"], swiftSettings: optimize),
        // Layer 2: autograd, layers, U-Net, losses, optimizers, checkpoints.
        .target(name: "NeuralNet", dependencies: ["Tensor", "Support"], swiftSettings: optimize),
        // Medical image I/O: NIfTI, DICOM, geometry, resampling, PNG figures.
        .target(name: "MedicalImage", dependencies: ["CZlib", "CPNG", "Support"], swiftSettings: optimize),
        // Synthetic CT phantoms in the LiTS layout.
        .target(name: "Phantom", dependencies: ["MedicalImage", "Support"], swiftSettings: optimize),
        // Metrics, ROC, figures, reports.
        .target(name: "Evaluation", dependencies: ["MedicalImage", "Support"], swiftSettings: optimize),
        // Datasets, one-step and cascade models, training, prediction.
        .target(name: "Segmentation", dependencies: ["NeuralNet", "MedicalImage", "Evaluation", "Support"],
                swiftSettings: optimize),
        .executableTarget(name: "liverseg", dependencies: [
            "Tensor", "NeuralNet", "MedicalImage", "Phantom", "Evaluation", "Segmentation", "Support",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimize),

        .executableTarget(name: "KernelBench", dependencies: ["Tensor"], path: "benchmarks/kernels", exclude: ["README.md"], swiftSettings: optimize),

        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MedicalImageTests", dependencies: ["MedicalImage"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PhantomTests", dependencies: ["Phantom", "MedicalImage"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "MedicalImage"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SegmentationTests", dependencies: ["Segmentation"], resources: [.copy("Fixtures")]),
    ],
    // Swift 5 language mode: kernels hand raw pointers to concurrentPerform closures, which
    // Swift 6's strict Sendable checking rejects without buying safety here.
    swiftLanguageModes: [.v5]
)
