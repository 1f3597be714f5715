import TensorFormats

/// Accumulates nodes and initializers for one ONNX graph, naming values `<scope>/<Op>_<n>`.
struct ONNXGraphBuilder {
    var nodes: [ONNXNode] = []
    var initializers: [ONNXTensor] = []
    let scope: String
    private var counts: [String: Int] = [:]

    init(scope: String) {
        self.scope = scope
    }

    /// A fresh node name `<scope>/<op>` (then `_1`, `_2`, ... for repeats).
    mutating func name(_ op: String) -> String {
        let n = counts[op, default: 0]
        counts[op] = n + 1
        return n == 0 ? "\(scope)/\(op)" : "\(scope)/\(op)_\(n)"
    }

    /// Adds a node and returns its output names (`<node name>_output_<k>` unless given).
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], outputs: [String]? = nil, outputCount: Int = 1,
                       attributes: [ONNXAttribute] = []) -> [String] {
        let nodeName = name(op)
        let outs = outputs ?? (0..<outputCount).map { "\(nodeName)_output_\($0)" }
        nodes.append(ONNXNode(name: nodeName, opType: op, inputs: inputs, outputs: outs, attributes: attributes))
        return outs
    }

    /// Adds a one-output node and returns that output.
    @discardableResult
    mutating func op(_ op: String, _ inputs: [String], output: String? = nil, _ attributes: ONNXAttribute...) -> String {
        node(op, inputs, outputs: output.map { [$0] }, attributes: attributes)[0]
    }

    /// Adds an initializer and returns its name.
    @discardableResult
    mutating func initializer(_ name: String, _ t: Tensor) -> String {
        initializers.append(ONNXTensor(name: name, tensor: t))
        return name
    }

    /// An int64 initializer (1-D, or 0-d when `scalar`).
    mutating func int64s(_ name: String, _ values: [Int64], scalar: Bool = false) throws(FormatError) -> String {
        if let existing = initializers.first(where: { $0.name == name }) { return existing.name }
        return initializer(name, try Tensor(int64: values, shape: scalar ? [] : [values.count]))
    }
}
