// swift-tools-version: 6.1
// An app that uses LLMDrop as a library: it depends on the LLMDropKit product by path, with no build
// settings of its own, and reports which kernel set runs and how fast it decodes — the proof that a
// dependent package gets the same fast kernels as the llm-drop CLI (`make example` compares the two).
import PackageDescription

let package = Package(
    name: "DecodeSpeed",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "LLMDrop", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "decode-speed", dependencies: [.product(name: "LLMDropKit", package: "LLMDrop")]),
    ],
    swiftLanguageModes: [.v6]
)
