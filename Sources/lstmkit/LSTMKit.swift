import ArgumentParser

@main
struct LSTMKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lstmkit",
        abstract: "Read, validate, convert and verify LSTM weights in PyTorch, ONNX, npz and safetensors files.",
        version: "0.1.0",
        subcommands: [ConvertCommand.self]
    )
}
