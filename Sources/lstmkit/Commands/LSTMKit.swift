import ArgumentParser
import CBuildInfo

@main
struct LSTMKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lstmkit",
        abstract: "Read, validate, convert and verify LSTM weights in PyTorch, ONNX, npz and safetensors files.",
        discussion: """
        Exit status: 0 success, 1 a check found a problem, 2 the input cannot be used, 64 bad arguments.

        Environment: LSTMKIT_KERNELS=avx512|avx2|portable picks the float32 kernels of run, verify \
        and compare (default: the fastest this CPU runs).

        Example:
          lstmkit inspect model.pt
          lstmkit validate model.pt --expect hidden_size=256
        """,
        version: LSTMKit.versionText,
        subcommands: [Inspect.self, Validate.self, ConvertCommand.self, Run.self, Verify.self, Compare.self]
    )

    /// The release version (scripts/package names its artifacts after it).
    static let version = "0.1.0"

    /// `lstmkit --version`: the version and the git revision built from.
    static let versionText = "\(version) (\(String(cString: lstmkit_build_revision())))"
}
