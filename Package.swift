// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "lstmkit",
    products: [
        .library(name: "TensorFormats", targets: ["TensorFormats"]),
        .library(name: "LSTMSchema", targets: ["LSTMSchema"]),
        .library(name: "LSTMReference", targets: ["LSTMReference"]),
        .executable(name: "lstmkit", targets: ["lstmkit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // MARK: - Layers (bytes → named tensors → canonical LSTM → numbers → report)
        .target(name: "TensorFormats", dependencies: ["CZlib"]),
        .target(name: "LSTMSchema", dependencies: ["TensorFormats"]),
        .target(name: "CLSTMKernels"),
        .target(name: "LSTMReference", dependencies: ["LSTMSchema", "CLSTMKernels"]),
        .executableTarget(
            name: "lstmkit",
            dependencies: [
                "TensorFormats", "LSTMSchema", "LSTMReference",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "TensorFormatsTests", dependencies: ["TensorFormats"]),
        .testTarget(name: "LSTMSchemaTests", dependencies: ["LSTMSchema"]),
        .testTarget(name: "LSTMReferenceTests", dependencies: ["LSTMReference"]),
        .testTarget(name: "lstmkitTests", dependencies: ["lstmkit", "TensorFormats"]),
    ]
)
