import TensorFormats

/// Modules found by an ONNX graph's LSTM nodes (chains of them across exporter glue, see
/// ``ONNXLSTMMapping``). Their `sourceTensors` are the initializers the nodes consume.
public struct ONNXGraphSource: ModuleSource {
    public init() {}

    public func discover(in file: TensorFile, unclaimed: [NamedTensor]) throws(FormatError) -> [DiscoveredModule] {
        guard file.format == .onnx else { return [] }
        do throws(FormatError) {
            let model = try ONNXModelFile.model(of: file)
            return try ONNXLSTMMapping.candidates(in: model).map {
                switch $0 {
                case .valid(let m):
                    DiscoveredModule(name: m.module.name, kind: m.module.kind, config: m.module.config, problems: [], module: m.module,
                                     sourceTensors: m.initializers, mapped: true)
                case .invalid(let name, let problems, let initializers):
                    DiscoveredModule(name: name, config: nil, problems: problems, module: nil,
                                     sourceTensors: initializers, mapped: true)
                }
            }
        } catch {
            throw error.inFile(file.path)
        }
    }
}
