import ArgumentParser

@main
struct LSTMKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lstmkit",
        abstract: "Read, validate, convert and verify LSTM weights in PyTorch, ONNX, npz and safetensors files.",
        discussion: """
        Exit status: 0 success, 1 a check found a problem, 2 the input cannot be used, 64 bad arguments.

        Example:
          lstmkit inspect model.pt
          lstmkit validate model.pt --expect hidden_size=256
        """,
        version: "0.1.0",
        subcommands: [Inspect.self, Validate.self, ConvertCommand.self, Run.self, Verify.self, Compare.self]
    )
}
