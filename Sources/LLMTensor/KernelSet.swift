// Which build of the C kernels runs: the best instruction set this CPU supports, chosen on first use
// (LLM_DROP_KERNELS=avx2|sse2|… asks for a lower one). Benchmarks report it; tests run every set.
import CKernels

public enum KernelSet {
    /// The set in use: "avx512vnni", "avx512", "avx2", "sse2" (x86-64), "neon" (arm64) or "generic".
    public static var active: String { String(cString: llmk_active()) }

    /// The sets this CPU can run, best first.
    public static var supported: [String] {
        var names: [String] = []
        while let name = llmk_supported(Int32(names.count)) { names.append(String(cString: name)) }
        return names
    }

    /// Switches to `name` (one of `supported`); false, and no change, when this CPU cannot run it.
    /// Not while kernels run on other threads.
    @discardableResult
    public static func select(_ name: String) -> Bool { llmk_select(name) != 0 }
}
