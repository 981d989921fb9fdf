// swift-tools-version: 6.1
// LLMDrop: find and remove redundant attention, MLP and block layers of transformer LLMs
// ("What Matters in Transformers? Not All Attention is Needed", He et al. 2024).
// Data flows one way: CBLAS, CKernels → LLMTensor → LLMFormats → LLMTokenizer → LLMModels → LLMDrop → LLMEval → llm-drop.
import PackageDescription

let package = Package(
    name: "LLMDrop",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "llm-drop", targets: ["llm-drop"]),
        .library(name: "LLMDropKit", targets: ["LLMTensor", "LLMFormats", "LLMTokenizer", "LLMModels", "LLMDrop", "LLMEval"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // BLAS: OpenBLAS through pkg-config on Linux; Accelerate on Apple platforms.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // The hot kernels in C, compiled once per instruction set and chosen at run time from the
        // CPU's features, so that a package depending on LLMDrop gets them without build flags.
        .target(name: "CKernels"),
        .target(
            name: "LLMTensor",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))],
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS, .iOS]))]
        ),
        .target(name: "LLMFormats", dependencies: ["LLMTensor"]),
        .target(name: "LLMTokenizer", dependencies: ["LLMFormats"]),
        .target(name: "LLMModels", dependencies: ["LLMTensor", "LLMFormats", "LLMTokenizer"]),
        .target(name: "LLMDrop", dependencies: ["LLMModels"]),
        .target(name: "LLMEval", dependencies: ["LLMModels", "LLMDrop"]),
        .executableTarget(
            name: "llm-drop",
            dependencies: [
                "LLMEval", "LLMDrop", "LLMModels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["LLMFormats"], path: "Tests/TestSupport"),
        .testTarget(name: "LLMTensorTests", dependencies: ["LLMTensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "LLMFormatsTests", dependencies: ["LLMFormats", "TestSupport"]),
        .testTarget(name: "LLMTokenizerTests", dependencies: ["LLMTokenizer", "TestSupport"]),
        .testTarget(name: "LLMModelsTests", dependencies: ["LLMModels", "TestSupport"]),
        .testTarget(name: "LLMDropTests", dependencies: ["LLMDrop", "LLMEval", "TestSupport"]),
        .testTarget(name: "LLMEvalTests", dependencies: ["LLMEval", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["llm-drop", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
