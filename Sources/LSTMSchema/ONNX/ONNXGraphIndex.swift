import TensorFormats

/// Producers, initializers and constants of one graph scope: the main graph, or a subgraph (an
/// `If` branch, a `Loop` / `Scan` body) whose names resolve through its enclosing scopes.
final class ONNXGraphIndex {
    enum Constant {
        /// The value, and the initializers it was computed from (none for Constant nodes).
        case tensor(Tensor, initializers: [String])
        /// Why the value is not a constant (e.g. "a graph input", "computed by a Conv node '/x'").
        case notConstant(String)
        /// The graph cannot be used: a constant computation that is malformed, hostile or over a cap.
        case failed(FormatError)
        case undefined
    }

    let graph: ONNXGraph
    /// The enclosing scope (nil for the main graph).
    let parent: ONNXGraphIndex?
    /// Shared by every scope of one model: caps and memo of the constant evaluator.
    let folding: ONNXConstantFolding
    private(set) var producer: [String: Int] = [:]
    private(set) var initializers: [String: ONNXTensor] = [:]
    private var inputs: Set<String> = []
    /// How many node inputs of this scope (its subgraphs included) read each name.
    private(set) var uses: [String: Int] = [:]

    init(_ graph: ONNXGraph, parent: ONNXGraphIndex? = nil, limits: Limits = .default) {
        self.graph = graph
        self.parent = parent
        self.folding = parent?.folding ?? ONNXConstantFolding(limits: limits)
        for (i, n) in graph.nodes.enumerated() {
            for o in n.outputs where !o.isEmpty { producer[o] = i }
        }
        for t in graph.initializers { initializers[t.name] = t }
        inputs = Set(graph.inputs.map(\.name))
        for n in graph.nodes {
            for name in Self.referencedNames(n) { uses[name, default: 0] += 1 }
        }
    }

    /// Scopes from the main graph down to this one.
    var depth: Int { (parent?.depth ?? -1) + 1 }

    /// The constant value called `name`: an initializer, a `Constant` node, or a computation of
    /// constants the evaluator knows (``ONNXConstantFolding``), in this scope or an enclosing one.
    func constant(_ name: String) -> Constant {
        folding.value(of: name, in: self)
    }

    /// Where `name` is defined: a node of this scope, an initializer, a formal input, or an outer scope.
    enum Definition {
        case node(Int, ONNXGraphIndex)
        case initializer(ONNXTensor)
        case input
        case undefined
    }

    func definition(of name: String) -> Definition {
        if let i = producer[name] { return .node(i, self) }
        if let t = initializers[name] { return .initializer(t) }
        if inputs.contains(name) { return .input }
        return parent?.definition(of: name) ?? .undefined
    }

    /// Skips `Identity` and `Dropout` (eval: output 0 is the input) going backwards from `name`,
    /// appending the skipped nodes to `nodes`.
    private func skippingPassThrough(_ name: String, _ nodes: inout [Int]) -> String {
        var name = name
        for _ in 0..<64 {
            guard let i = producer[name] else { return name }
            let n = graph.nodes[i]
            guard n.opType == "Identity" || n.opType == "Dropout", n.outputs.first == name, let src = n.input(0) else { return name }
            nodes.append(i)
            name = src
        }
        return name
    }

    /// The index of the LSTM node whose Y reaches `name` through exporter glue, if any.
    func lstmFeeding(_ name: String) -> Int? {
        glue(reaching: name)?.lstm
    }

    /// The LSTM node whose Y reaches `name` through exporter glue, and the glue's nodes.
    func glue(reaching name: String) -> (lstm: Int, nodes: [Int])? {
        var nodes: [Int] = []
        let x = skippingPassThrough(name, &nodes)
        guard let g = producer[x] else { return nil }
        let glue = graph.nodes[g]
        nodes.append(g)
        var y: String?
        switch glue.opType {
        case "Squeeze":
            var axes: [Int64]?
            if let a = glue.attribute("axes") { axes = a.ints }
            else if let src = glue.input(1), case .tensor(let t, _) = constant(src) { axes = t.int64s() }
            guard let axes, axes == [1] || axes == [-3] else { return nil }
            y = glue.input(0)
        case "Reshape":
            if let src = glue.input(1), case .tensor(let t, _) = constant(src) {
                guard t.int64s().count == 3 else { return nil }
            }
            guard let t = glue.input(0).map({ skippingPassThrough($0, &nodes) }), let ti = producer[t] else { return nil }
            let transpose = graph.nodes[ti]
            guard transpose.opType == "Transpose", transpose.attribute("perm")?.ints == [0, 2, 1, 3] else { return nil }
            nodes.append(ti)
            y = transpose.input(0)
        default:
            return nil
        }
        guard let y = y.map({ skippingPassThrough($0, &nodes) }), let i = producer[y] else { return nil }
        let lstm = graph.nodes[i]
        guard lstm.opType == "LSTM", lstm.outputs.first == y else { return nil }
        return (i, nodes)
    }
}
