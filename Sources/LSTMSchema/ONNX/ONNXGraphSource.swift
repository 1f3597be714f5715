import TensorFormats

/// Modules found by an ONNX graph's LSTM nodes (chains of them across exporter glue, see
/// ``ONNXLSTMMapping``). Their `sourceTensors` are the initializers the nodes consume.
public struct ONNXGraphSource: ModuleSource {
    public init() {}

    public func discover(in file: TensorFile, unclaimed: [NamedTensor]) throws(FormatError) -> [DiscoveredModule] {
        guard file.format == .onnx else { return [] }
        do throws(FormatError) {
            let model = try ONNXModelFile.model(of: file)
            return try ONNXLSTMMapping.mapped(in: model).map {
                DiscoveredModule(name: $0.module.name, config: $0.module.config, problems: [], module: $0.module,
                                 sourceTensors: $0.initializers, mapped: true)
            }
        } catch {
            throw error.inFile(file.path)
        }
    }
}
