// swift-tools-version: 6.1
// libFuzzer targets for LLMDrop's readers of untrusted input. Build and run them with scripts/fuzz.sh
// (`make fuzz`, `make fuzz-smoke`); they are built with `-sanitize=fuzzer,address`, so libFuzzer
// supplies `main`. Each target is an executable whose only entry point is `LLVMFuzzerTestOneInput`.
import PackageDescription

let kit: Target.Dependency = .product(name: "LLMDropKit", package: "LLMDrop")

let package = Package(
    name: "LLMDropFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "LLMDrop", path: ".."),
    ],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: [kit, "CFuzzDriver"]),
        .executableTarget(name: "fuzz-gguf", dependencies: [kit, "FuzzSupport"]),
        .executableTarget(name: "fuzz-tokenizer", dependencies: [kit, "FuzzSupport"]),
        .executableTarget(name: "fuzz-plan", dependencies: [kit, "FuzzSupport"]),
        .executableTarget(name: "fuzz-scores", dependencies: [kit, "FuzzSupport"]),
        .executableTarget(name: "fuzz-task", dependencies: [kit, "FuzzSupport"]),
        .executableTarget(name: "fuzz-calibration", dependencies: [kit, "FuzzSupport"]),
        .executableTarget(name: "fuzz-safetensors", dependencies: [kit, "FuzzSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
