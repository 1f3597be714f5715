import TensorFormats

/// Finds the LSTMs of an ONNX model and maps them onto canonical nn.LSTM modules.
///
/// One module per chain of `LSTM` nodes joined by an exporter's glue; one layer per node. A node's
/// X may come from the previous node's Y through
/// - `Squeeze(axes=[1])` (torch's TorchScript exporter, unidirectional; axes as attribute or input), or
/// - `Transpose(perm=[0,2,1,3])` then `Reshape` to `[0,0,-1]` or `[S,N,D·H]` (TorchScript exporter,
///   bidirectional; the dynamo exporter in both cases),
/// with `Identity` / `Dropout` allowed in between. Nodes are chained only when they agree on
/// direction, hidden size, dtype, ONNX features and (for names with a `/` scope) scope; otherwise each
/// starts its own module. The module's name is its first node's name.
///
/// Per node and direction d (0 = forward, 1 = `_reverse`), with H = hidden size:
///
/// | ONNX input | shape | canonical |
/// |---|---|---|
/// | W | [D, 4H, I] | `weight_ih` = W[d] with blocks i,o,f,c → i,f,g,o |
/// | R | [D, 4H, H] | `weight_hh` = R[d], same permutation |
/// | B (optional) | [D, 8H] | `bias_ih` = B[d][0..<4H], `bias_hh` = B[d][4H..<8H], same permutation; absent → bias = false |
/// | P (optional) | [D, 3H] | kept as `peephole` (i, o, f) when not all zero |
///
/// W, R, B and P must be constants: initializers or `Constant` nodes, possibly behind `Identity`.
/// Attributes `direction`, `activations`, `activation_alpha` / `_beta`, `clip`, `input_forget`,
/// `layout` and a `sequence_lens` input are recorded in ``LSTMVariant``. Graphs written by
/// ``ONNXLSTMExport`` for projected LSTMs (no LSTM nodes) are recognised by their metadata and
/// initializer names. A node whose W / R / B / P disagree with each other or with `hidden_size`, or a
/// chained layer whose input does not connect, is a candidate with a ``SchemaProblem`` (exit 1, as a
/// wrong shape is in any format); missing or non-constant weights and bad attributes throw a
/// ``FormatError`` naming the node.
public enum ONNXLSTMMapping {
    /// The modules of the ONNX file at `path` (errors name the file).
    public static func modules(path: String, limits: Limits = .default) throws(FormatError) -> [LSTMModule] {
        let model = try ONNXModelFile.read(path: path, limits: limits)
        do {
            return try modules(in: model)
        } catch {
            throw error.inFile(path)
        }
    }

    /// The modules of `model`'s main graph, in graph order of their first nodes.
    public static func modules(in model: ONNXModel) throws(FormatError) -> [LSTMModule] {
        try mapped(in: model).map(\.module)
    }

    /// A module and the initializers it was read from.
    public struct Mapped: Sendable {
        public var module: LSTMModule
        /// Initializers that belong to the module, in file order: its weights, and the exporter's
        /// plumbing used only by its nodes (zero initial states, Reshape shapes, Slice bounds); for
        /// graphs written by ``ONNXLSTMExport``, every initializer (the whole graph is the module).
        public var initializers: [String]
    }

    /// ``modules(in:)`` with the initializers each module consumes (so that a conversion can keep the
    /// other initializers under their own names). A node whose tensors disagree throws, as a
    /// ``FormatError`` naming it; ``candidates(in:)`` reports it as a problem instead.
    public static func mapped(in model: ONNXModel) throws(FormatError) -> [Mapped] {
        var out: [Mapped] = []
        for c in try candidates(in: model) {
            switch c {
            case .valid(let m): out.append(m)
            case .invalid(_, let problems, _):
                throw ONNXNodeError.shape(problems[0]).formatError
            }
        }
        return out
    }

    /// One module candidate of a graph: mapped, or with the schema problems of its node.
    public enum Candidate: Sendable {
        case valid(Mapped)
        /// A node (named) whose W / R / B / P disagree in shape or dtype, or a chained layer whose
        /// input does not connect; `initializers` are the ones it reads.
        case invalid(name: String, problems: [SchemaProblem], initializers: [String])
    }

    /// Every LSTM candidate of `model`: its main graph's, then those of every subgraph (`If`
    /// branches, `Loop` / `Scan` bodies, at any depth, names resolved through the enclosing
    /// scopes), each scope in node order. A module in a subgraph is named by its path:
    /// `<node>/<attribute>/<LSTM node>` (e.g. `/If/then_branch/LSTM`). A module whose weights equal
    /// an earlier one's (one nn.LSTM exported in both branches, or applied twice) is reported once.
    /// Throws only when the file cannot be used (a weight that is missing or not a constant, a bad
    /// attribute, a malformed constant computation, a cap).
    public static func candidates(in model: ONNXModel, limits: Limits = .default) throws(FormatError) -> [Candidate] {
        let ours = model.metadata(ONNXExportMetadata.lowering) != nil && model.metadata(ONNXExportMetadata.module) != nil
        if model.metadata(ONNXExportMetadata.lowering) == ONNXExportMetadata.scanLowering {
            return [.valid(Mapped(module: try ONNXProjectedLSTM.module(from: model), initializers: model.graph.initializers.map(\.name)))]
        }
        let order = model.graph.initializers.map(\.name)
        var out: [Candidate] = []
        try scan(ONNXGraphIndex(model.graph, limits: limits), path: "", initializerOrder: order, limits: limits, into: &out)
        out = uniqueModules(out)
        if out.count == 1, ours, let name = model.metadata(ONNXExportMetadata.module), case .valid(var m) = out[0] {
            m.module.name = name
            m.initializers = order
            out[0] = .valid(m)
        }
        return out
    }

    /// The candidates of one scope, then of its subgraphs.
    private static func scan(_ graph: ONNXGraphIndex, path: String, initializerOrder: [String], limits: Limits,
                             into out: inout [Candidate]) throws(FormatError) {
        guard graph.depth <= limits.onnxGraphDepth else {
            throw FormatError(.limitExceeded, "subgraphs nest deeper than the limit of \(limits.onnxGraphDepth) levels", entry: path)
        }
        let nodes = graph.graph.nodes
        var parsed: [Int: ONNXLSTMNode] = [:]
        var invalid: [Int: SchemaProblem] = [:]
        var order: [Int] = []
        for (i, n) in nodes.enumerated() where n.opType == "LSTM" && n.isDefaultDomain {
            do throws(ONNXNodeError) {
                parsed[i] = try ONNXLSTMNode(node: n, index: i, graph: graph, path: path)
            } catch {
                switch error {
                case .unusable(let e): throw e
                case .shape(let p): invalid[i] = p
                }
            }
            order.append(i)
        }

        // predecessor[j] = i when node j's X is node i's Y through exporter glue.
        var predecessors: [Int: Int] = [:]
        var successorCount: [Int: Int] = [:]
        for j in order {
            guard let x = nodes[j].input(0), let i = graph.lstmFeeding(x), parsed[i] != nil else { continue }
            predecessors[j] = i
            successorCount[i, default: 0] += 1
        }
        var next: [Int: Int] = [:]
        for j in order {
            guard let i = predecessors[j], successorCount[i] == 1, let p = parsed[i], let n = parsed[j] else { continue }
            guard p.joins(n) else { continue }
            guard n.inputSize == p.numDirections * p.hiddenSize else {
                invalid[j] = SchemaProblem(module: n.label, tensor: nodes[j].input(1),
                                           message: "chained after '\(p.label)' whose output has \(p.numDirections * p.hiddenSize) features, but its W expects input size \(n.inputSize)",
                                           expected: "input_size \(p.numDirections * p.hiddenSize)", found: "input_size \(n.inputSize)")
                parsed[j] = nil
                continue
            }
            next[i] = j
        }

        func ordered(_ names: Set<String>) -> [String] {
            initializerOrder.filter { names.contains($0) } + names.subtracting(initializerOrder).sorted()
        }
        let chained = Set(next.values)
        for start in order where !chained.contains(start) {
            if let problem = invalid[start] {
                let inputs = Set(nodes[start].inputs).intersection(initializerOrder)
                out.append(.invalid(name: problem.module, problems: [problem], initializers: ordered(inputs)))
                continue
            }
            var chain = [start]
            while let n = next[chain[chain.count - 1]] { chain.append(n) }
            let layers = chain.compactMap { parsed[$0] }
            let consumed = Set(layers.flatMap(\.initializers)).union(graph.plumbingInitializers(chain: chain))
            out.append(.valid(Mapped(module: try module(layers), initializers: ordered(consumed))))
        }

        for (i, n) in nodes.enumerated() {
            let label = n.name.isEmpty ? "\(n.opType)_\(i)" : n.name
            for a in n.attributes {
                var subgraphs: [ONNXGraph] = []
                switch a.value {
                case .graph(let g): subgraphs = [g]
                case .graphs(let gs): subgraphs = gs
                default: continue
                }
                for (k, g) in subgraphs.enumerated() {
                    let branch = subgraphs.count == 1 ? a.name : "\(a.name)[\(k)]"
                    try scan(ONNXGraphIndex(g, parent: graph), path: ONNXLSTMNode.join(path, label) + "/" + branch + "/",
                             initializerOrder: initializerOrder, limits: limits, into: &out)
                }
            }
        }
    }

    /// `candidates` without valid modules whose config and weights equal an earlier valid one's.
    /// Weights are compared byte for byte, and only between modules whose configs already agree.
    private static func uniqueModules(_ candidates: [Candidate]) -> [Candidate] {
        var kept: [LSTMModule] = []
        var out: [Candidate] = []
        for c in candidates {
            guard case .valid(let m) = c else { out.append(c); continue }
            if kept.contains(where: { sameWeights($0, m.module) }) { continue }
            kept.append(m.module)
            out.append(c)
        }
        return out
    }

    /// The weight as the file stores it when the graph only casts it to another float type before
    /// the LSTM (`Cast` of a float constant, as lstmkit writes bfloat16 and float64 modules, which
    /// onnxruntime computes in float32): the module keeps the stored weights and dtype, as a
    /// conversion should; the graph computes with their cast (for float64, float32-rounded).
    /// Otherwise `computed`.
    static func storedBeforeCast(_ name: String, _ computed: Tensor, in graph: ONNXGraphIndex) -> Tensor {
        guard case .node(let i, let scope) = graph.definition(of: name) else { return computed }
        let node = scope.graph.nodes[i]
        guard node.opType == "Cast", let source = node.input(0), case .tensor(let t, _) = scope.constant(source),
              t.dtype.isFloatingPoint, t.shape == computed.shape else { return computed }
        return t
    }

    private static func sameWeights(_ a: LSTMModule, _ b: LSTMModule) -> Bool {
        guard a.config == b.config, a.variant == b.variant, a.layers.count == b.layers.count else { return false }
        func same(_ x: Tensor?, _ y: Tensor?) -> Bool {
            guard let x, let y else { return x == nil && y == nil }
            guard x.dtype == y.dtype, x.shape == y.shape else { return false }
            guard let cx = try? x.contiguous(), let cy = try? y.contiguous(),
                  let bx = cx.contiguousBytes, let by = cy.contiguousBytes else { return false }
            return bx.elementsEqual(by)
        }
        return zip(a.layers, b.layers).allSatisfy { la, lb in
            la.count == lb.count && zip(la, lb).allSatisfy { x, y in
                same(x.weightIH, y.weightIH) && same(x.weightHH, y.weightHH) && same(x.biasIH, y.biasIH)
                    && same(x.biasHH, y.biasHH) && same(x.weightHR, y.weightHR) && same(x.peephole, y.peephole)
            }
        }
    }

    private static func module(_ nodes: [ONNXLSTMNode]) throws(FormatError) -> LSTMModule {
        let first = nodes[0]
        let bias = nodes.contains { $0.hasBias }
        var layers: [[LSTMDirectionWeights]] = []
        for n in nodes {
            var dirs = n.directions
            if bias && !n.hasBias {
                let zeros = try Tensor(dtype: first.dtype, shape: [4 * n.hiddenSize],
                                       storage: TensorStorage(count: 4 * n.hiddenSize * first.dtype.itemSize) { _ in })
                for d in dirs.indices { dirs[d].biasIH = zeros; dirs[d].biasHH = zeros }
            }
            layers.append(dirs)
        }
        let config = LSTMConfig(inputSize: first.inputSize, hiddenSize: first.hiddenSize, numLayers: nodes.count,
                                bidirectional: first.numDirections == 2, projSize: 0, bias: bias, dtype: first.dtype)
        return LSTMModule(name: first.label, config: config, layers: layers, variant: first.features)
    }
}

/// One `LSTM` node read and checked: sizes, features and its canonical per-direction weights.
/// Why an LSTM node cannot be mapped: its file cannot be used (missing or non-constant weights,
/// bad attributes), or its tensors disagree in shape or dtype (a schema problem of its module).
enum ONNXNodeError: Error {
    case unusable(FormatError)
    case shape(SchemaProblem)

    /// As a ``FormatError`` naming the node (for ``ONNXLSTMMapping/mapped(in:)``'s callers).
    var formatError: FormatError {
        switch self {
        case .unusable(let e): e
        case .shape(let p): FormatError(.corrupt, "LSTM node: " + p.message, entry: p.module)
        }
    }
}

struct ONNXLSTMNode {
    let node: ONNXNode
    let label: String
    let numDirections: Int
    let hiddenSize: Int
    let inputSize: Int
    let dtype: DType
    let features: LSTMVariant
    let hasBias: Bool
    let directions: [LSTMDirectionWeights]
    /// Initializers the weights were read from (W, R, B, P that are not Constant nodes).
    let initializers: [String]

    /// `path` + `name`, without doubling the `/` exporters start node names with.
    static func join(_ path: String, _ name: String) -> String {
        path.hasSuffix("/") && name.hasPrefix("/") ? path + name.dropFirst() : path + name
    }

    init(node: ONNXNode, index: Int, graph: ONNXGraphIndex, path: String = "") throws(ONNXNodeError) {
        self.node = node
        var sources: [String] = []
        let label = Self.join(path, node.name.isEmpty ? "LSTM_\(index)" : node.name)
        self.label = label
        func fail(_ reason: FormatError.Reason, _ message: String) -> ONNXNodeError {
            .unusable(FormatError(reason, "LSTM node: " + message, entry: label))
        }
        var names: [Int: String] = [:]
        /// A shape or dtype that disagrees with the node's other inputs or attributes.
        func shape(_ slot: Int, _ message: String, expected: String? = nil, found: String? = nil) -> ONNXNodeError {
            .shape(SchemaProblem(module: label, tensor: names[slot], message: message, expected: expected, found: found))
        }

        var f = LSTMVariant()
        let direction = node.attribute("direction")?.string ?? "forward"
        guard let dir = LSTMVariant.Direction(rawValue: direction) else {
            throw fail(.corrupt, "direction '\(direction)' is not forward, reverse or bidirectional")
        }
        f.direction = dir
        let nd = dir == .bidirectional ? 2 : 1
        numDirections = nd

        func weight(_ slot: Int, _ what: String, required: Bool) throws(ONNXNodeError) -> Tensor? {
            guard let name = node.input(slot) else {
                if required { throw fail(.corrupt, "has no \(what) input") }
                return nil
            }
            names[slot] = name
            switch graph.constant(name) {
            case .tensor(let t, let initializers):
                guard t.dtype.isFloatingPoint else { throw fail(.corrupt, "\(what) ('\(name)') is \(t.dtype.name), not a float type") }
                sources += initializers
                return ONNXLSTMMapping.storedBeforeCast(name, t, in: graph)
            case .notConstant(let why):
                throw fail(.unsupported, "\(what) ('\(name)') is \(why), not a constant; lstmkit reads weights from initializers, Constant nodes and computations of them")
            case .failed(let error):
                throw .unusable(FormatError(error.reason, "LSTM node: \(what) ('\(name)'): " + error.message, entry: label))
            case .undefined:
                throw fail(.corrupt, "\(what) ('\(name)') is not defined in the graph")
            }
        }
        guard let w = try weight(1, "W", required: true), let r = try weight(2, "R", required: true) else {
            throw fail(.corrupt, "has no W or R input")
        }
        let b = try weight(3, "B", required: false)
        let p = try weight(7, "P", required: false)

        guard r.rank == 3, r.shape[0] == nd, r.shape[1] == 4 * r.shape[2], r.shape[2] > 0 else {
            throw shape(2, "R has shape \(r.shape), expected [\(nd), 4·H, H]", expected: "(\(nd), 4*hidden_size, hidden_size)", found: formatShape(r.shape))
        }
        let h = r.shape[2]
        hiddenSize = h
        if let attr = node.attribute("hidden_size") {
            guard let v = attr.int else { throw fail(.corrupt, "hidden_size is \(attr.typeName), expected INT") }
            guard v == Int64(h) else {
                throw shape(2, "hidden_size \(v) disagrees with R of shape \(r.shape) (hidden size \(h))", expected: "(\(nd), \(4 * v), \(v))", found: formatShape(r.shape))
            }
        }
        guard w.rank == 3, w.shape[0] == nd, w.shape[1] == 4 * h else {
            throw shape(1, "W has shape \(w.shape), expected [\(nd), \(4 * h), input_size] for hidden_size \(h)", expected: "(\(nd), \(4 * h), input_size)", found: formatShape(w.shape))
        }
        inputSize = w.shape[2]
        dtype = w.dtype
        guard r.dtype == dtype else { throw shape(2, "R is \(r.dtype.name) but W is \(dtype.name)", expected: dtype.name, found: r.dtype.name) }
        if let b {
            guard b.shape == [nd, 8 * h] else { throw shape(3, "B has shape \(b.shape), expected [\(nd), \(8 * h)]", expected: "(\(nd), \(8 * h))", found: formatShape(b.shape)) }
            guard b.dtype == dtype else { throw shape(3, "B is \(b.dtype.name) but W is \(dtype.name)", expected: dtype.name, found: b.dtype.name) }
        }
        hasBias = b != nil
        var peephole: Tensor?
        if let p {
            guard p.shape == [nd, 3 * h] else { throw shape(7, "P has shape \(p.shape), expected [\(nd), \(3 * h)]", expected: "(\(nd), \(3 * h))", found: formatShape(p.shape)) }
            guard p.dtype == dtype else { throw shape(7, "P is \(p.dtype.name) but W is \(dtype.name)", expected: dtype.name, found: p.dtype.name) }
            if p.doubles().contains(where: { $0 != 0 }) { peephole = p }
        }
        f.hasPeepholes = peephole != nil
        f.hasSequenceLens = node.input(4) != nil
        if let name = node.input(4), case .tensor(let t, _) = graph.constant(name), !t.dtype.isFloatingPoint, t.rank == 1 {
            f.sequenceLengths = t.int64s().map { Int(clamping: $0) }
        }

        if let a = node.attribute("activations") {
            guard let names = a.strings else { throw fail(.corrupt, "activations is \(a.typeName), expected STRINGS") }
            guard names.count == 3 * nd else {
                throw fail(.corrupt, "activations lists \(names.count) functions, expected \(3 * nd)")
            }
            f.activations = names
        }
        if let a = node.attribute("activation_alpha") {
            guard let v = a.floats else { throw fail(.corrupt, "activation_alpha is \(a.typeName), expected FLOATS") }
            f.activationAlpha = v
        }
        if let a = node.attribute("activation_beta") {
            guard let v = a.floats else { throw fail(.corrupt, "activation_beta is \(a.typeName), expected FLOATS") }
            f.activationBeta = v
        }
        if let a = node.attribute("clip") {
            guard let v = a.float else { throw fail(.corrupt, "clip is \(a.typeName), expected FLOAT") }
            f.clip = v
        }
        if let a = node.attribute("input_forget") {
            guard let v = a.int else { throw fail(.corrupt, "input_forget is \(a.typeName), expected INT") }
            f.inputForget = v != 0
        }
        if let a = node.attribute("layout") {
            guard let v = a.int, v == 0 || v == 1 else { throw fail(.corrupt, "layout must be INT 0 or 1") }
            f.layout = Int(v)
        }
        features = f

        var dirs: [LSTMDirectionWeights] = []
        let i = inputSize
        do throws(FormatError) {
        for d in 0..<nd {
            var dw = LSTMDirectionWeights(
                weightIH: try ONNXGates.reorder(w, start: d * 4 * h * i, blockElements: h * i, perm: ONNXGates.toTorch, shape: [4 * h, i]),
                weightHH: try ONNXGates.reorder(r, start: d * 4 * h * h, blockElements: h * h, perm: ONNXGates.toTorch, shape: [4 * h, h]))
            if let b {
                dw.biasIH = try ONNXGates.reorder(b, start: d * 8 * h, blockElements: h, perm: ONNXGates.toTorch, shape: [4 * h])
                dw.biasHH = try ONNXGates.reorder(b, start: d * 8 * h + 4 * h, blockElements: h, perm: ONNXGates.toTorch, shape: [4 * h])
            }
            if let peephole {
                dw.peephole = try ONNXGates.slice(peephole, start: d * 3 * h, count: 3 * h, shape: [3 * h])
            }
            dirs.append(dw)
        }
        } catch {
            throw .unusable(error.inEntry(label))
        }
        directions = dirs
        initializers = sources
    }

    /// Whether `next`, fed by this node's Y, is this module's next layer.
    func joins(_ next: ONNXLSTMNode) -> Bool {
        guard numDirections == next.numDirections, hiddenSize == next.hiddenSize, dtype == next.dtype,
              features == next.features, features.layout == 0 else { return false }
        let a = scope(label), b = scope(next.label)
        return a == nil || b == nil || a == b
    }

    private func scope(_ name: String) -> Substring? {
        name.lastIndex(of: "/").map { name[..<$0] }
    }
}
