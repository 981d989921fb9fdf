// swift-tools-version: 6.1
// LLMDrop: find and remove redundant attention, MLP and block layers of transformer LLMs
// ("What Matters in Transformers? Not All Attention is Needed", He et al. 2024).
// Data flows one way: CBLAS → LLMTensor → LLMFormats → LLMTokenizer → LLMModels → LLMDrop → LLMEval → llm-drop.
import Foundation
import PackageDescription

/// Kernels are written with Swift SIMD types, which the default x86-64 target (SSE2) lowers lane by
/// lane, 5–7× slower. Like llama.cpp's GGML_NATIVE, build for the AVX2/FMA ("haswell") instruction set
/// when the building machine has it; `LLM_DROP_TARGET_CPU=generic` (or another LLVM CPU name) overrides.
let targetCPU: String? = {
    if let cpu = ProcessInfo.processInfo.environment["LLM_DROP_TARGET_CPU"] { return cpu == "generic" ? nil : cpu }
    #if arch(x86_64) && os(Linux)
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })?.split(separator: " ")
    else { return nil }
    return flags.contains("avx2") && flags.contains("fma") && flags.contains("f16c") ? "haswell" : nil
    #else
    return nil
    #endif
}()
let kernelSettings: [SwiftSetting] = targetCPU.map { [.unsafeFlags(["-target-cpu", $0])] } ?? []

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
        .target(
            name: "LLMTensor",
            dependencies: [.target(name: "CBLAS", condition: .when(platforms: [.linux]))],
            swiftSettings: kernelSettings,
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS, .iOS]))]
        ),
        .target(name: "LLMFormats", dependencies: ["LLMTensor"]),
        .target(name: "LLMTokenizer", dependencies: ["LLMFormats"]),
        .target(name: "LLMModels", dependencies: ["LLMTensor", "LLMFormats", "LLMTokenizer"], swiftSettings: kernelSettings),
        .target(name: "LLMDrop", dependencies: ["LLMModels"], swiftSettings: kernelSettings),
        .target(name: "LLMEval", dependencies: ["LLMModels", "LLMDrop"], swiftSettings: kernelSettings),
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
