import TensorFormats

/// `convert … out.onnx`: one module as a runnable graph (``ONNXLSTMExport``), external data beside
/// it for models over protobuf's 2 GiB.
public enum ONNXGraphWriter: ModuleGraphWriter {
    public static let format = FileFormat.onnx

    public static func write(_ module: LSTMModule, to output: OutputFile, request: ConversionRequest) throws(FormatError) -> [OutputFile] {
        var write = request.onnxWrite
        write.overwrite = write.overwrite || request.overwrite
        write.durable = write.durable || request.durable
        do throws(FormatError) {
            let data = try ONNXModelFile.write(try ONNXLSTMExport.model(for: module, options: request.onnx), to: output, options: write)
            return data.map { [$0] } ?? []
        } catch {
            throw error.inFile(output.path)
        }
    }

    public static func refusal(for module: LSTMModule) -> String? {
        module.variant?.outputReversed == true
            ? "go_backwards (outputs returned reversed in time, which an ONNX LSTM node does not do)" : nil
    }

    public static func notes(for module: LSTMModule, request: ConversionRequest) -> [String] {
        ONNXExportOptions.computeNote(for: request.onnx.dtype ?? module.config.dtype).map { [$0] } ?? []
    }
}
