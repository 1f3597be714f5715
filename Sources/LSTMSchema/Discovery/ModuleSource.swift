import TensorFormats

/// One way of finding LSTM modules in a file: by tensor names (``TensorNameSource``), by an ONNX
/// graph's LSTM nodes (``ONNXGraphSource``), by Keras layers (``KerasLSTMSource``).
///
/// Sources run in ``ModuleSources/all`` order. Each is given the tensors that no earlier source
/// used (``DiscoveredModule/sourceTensors``), so that one LSTM is reported once even when two
/// sources could find it. A source that does not apply to the file returns no modules.
public protocol ModuleSource: Sendable {
    /// The modules this source finds in `file`, looking only at `unclaimed` of its tensors.
    /// Throws only when the file cannot be used; schema problems are returned in the modules.
    func discover(in file: TensorFile, unclaimed: [NamedTensor]) throws(FormatError) -> [DiscoveredModule]
}

/// The module sources, in the order they claim tensors. A new module source plugs in here.
public enum ModuleSources {
    public static let all: [any ModuleSource] = [ONNXGraphSource(), QuantizedLSTMSource(), KerasLSTMSource(), TensorNameSource()]

    /// Every module any source finds in `file`, in source order, each in file order.
    public static func discover(in file: TensorFile) throws(FormatError) -> [DiscoveredModule] {
        var found: [DiscoveredModule] = []
        var claimed: Set<String> = []
        for source in all {
            let unclaimed = claimed.isEmpty ? file.tensors : file.tensors.filter { !claimed.contains($0.name) }
            let modules = try source.discover(in: file, unclaimed: unclaimed)
            for m in modules { claimed.formUnion(m.sourceTensors) }
            found += modules
        }
        return found
    }
}

/// Modules found by their tensors' names (``LSTMDiscovery``'s rules), in any tensor map, after
/// parametrized weights are replaced by their effective weights (``WeightParametrizations``:
/// weight_norm, WeightDrop); such a module's `sourceTensors` name the file's tensors and its
/// `notes` say what was computed.
public struct TensorNameSource: ModuleSource {
    public init() {}
    public func discover(in file: TensorFile, unclaimed: [NamedTensor]) throws(FormatError) -> [DiscoveredModule] {
        let (tensors, derived) = WeightParametrizations.apply(unclaimed)
        var found = LSTMDiscovery.discover(tensors: tensors)
        guard !derived.isEmpty else { return found }
        for i in found.indices {
            var sources: [String] = []
            for name in found[i].sourceTensors {
                if let d = derived[name] {
                    sources += d.sources
                    found[i].notes.append(d.note)
                } else {
                    sources.append(name)
                }
            }
            found[i].sourceTensors = sources
        }
        return found
    }
}
