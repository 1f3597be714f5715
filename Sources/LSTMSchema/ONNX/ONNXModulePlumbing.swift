import TensorFormats

/// Which initializers of a graph are exporter plumbing of one LSTM chain, so that converting the
/// model to a tensor map drops them along with the chain's W / R / B.
///
/// The chain's nodes are: its LSTM nodes; the glue between layers (``ONNXGraphIndex/glue(reaching:)``);
/// the glue after the last layer (`Squeeze`, or `Transpose(0,2,1,3)` + `Reshape`, then an optional
/// batch-first `Transpose`); and the nodes computing `sequence_lens`, `initial_h` and `initial_c`
/// from constants and shapes (Constant, Identity, Cast, Shape, Gather, Slice, Concat, Unsqueeze,
/// Squeeze, Reshape, Expand, Tile, ConstantOfShape; a Shape node's input is not followed). An
/// initializer is plumbing when every node that uses it (subgraphs included) is one of these.
extension ONNXGraphIndex {
    private static let stateOps: Set<String> = [
        "Constant", "Identity", "Cast", "Shape", "Gather", "Slice", "Concat", "Unsqueeze", "Squeeze",
        "Reshape", "Expand", "Tile", "ConstantOfShape",
    ]

    func plumbingInitializers(chain: [Int]) -> Set<String> {
        var members = Set(chain)
        for j in chain.dropFirst() {
            if let x = graph.nodes[j].input(0), let g = glue(reaching: x) { members.formUnion(g.nodes) }
        }
        if let last = chain.last, let y = graph.nodes[last].outputs.first, !y.isEmpty {
            members.formUnion(outputGlue(from: y))
        }
        for j in chain {
            for slot in 4...6 {
                if let name = graph.nodes[j].input(slot) { collectState(name, into: &members) }
            }
        }
        var users: [String: Set<Int>] = [:]
        for (i, n) in graph.nodes.enumerated() {
            for name in Self.referencedNames(n) { users[name, default: []].insert(i) }
        }
        let outputs = Set(graph.outputs.map(\.name))
        var result: Set<String> = []
        for i in members {
            for name in Self.referencedNames(graph.nodes[i]) where initializers[name] != nil && !outputs.contains(name) {
                if users[name, default: []].isSubset(of: members) { result.insert(name) }
            }
        }
        return result
    }

    private func consumers(of name: String) -> [Int] {
        graph.nodes.indices.filter { graph.nodes[$0].inputs.contains(name) }
    }

    private func outputGlue(from y: String) -> [Int] {
        var found: [Int] = []
        func batchFirst(_ name: String) {
            for c in consumers(of: name) where graph.nodes[c].opType == "Transpose" && graph.nodes[c].attribute("perm")?.ints == [1, 0, 2] {
                found.append(c)
            }
        }
        for c in consumers(of: y) {
            let n = graph.nodes[c]
            if n.opType == "Squeeze", let out = n.outputs.first {
                found.append(c)
                batchFirst(out)
            } else if n.opType == "Transpose", n.attribute("perm")?.ints == [0, 2, 1, 3], let t = n.outputs.first {
                found.append(c)
                for r in consumers(of: t) where graph.nodes[r].opType == "Reshape" {
                    found.append(r)
                    if let out = graph.nodes[r].outputs.first { batchFirst(out) }
                }
            }
        }
        return found
    }

    private func collectState(_ name: String, into members: inout Set<Int>) {
        var stack = [name]
        var steps = 0
        while let n = stack.popLast(), steps < 10_000 {
            steps += 1
            guard let p = producer[n], !members.contains(p) else { continue }
            let node = graph.nodes[p]
            guard Self.stateOps.contains(node.opType) else { continue }
            members.insert(p)
            if node.opType != "Shape" { stack += node.inputs.filter { !$0.isEmpty } }
        }
    }

    /// Input names a node uses, including names its subgraphs take from the outer scope.
    static func referencedNames(_ n: ONNXNode) -> [String] {
        var names = n.inputs.filter { !$0.isEmpty }
        for a in n.attributes {
            switch a.value {
            case .graph(let g): names += referencedNames(g)
            case .graphs(let gs): for g in gs { names += referencedNames(g) }
            default: continue
            }
        }
        return names
    }

    private static func referencedNames(_ g: ONNXGraph) -> [String] {
        g.nodes.flatMap { referencedNames($0) }
    }
}
