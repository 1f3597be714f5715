import TensorFormats

/// The bounded constant evaluator: the value of a graph name when it is computed from
/// initializers and `Constant` nodes only, as exporters write weights (`do_constant_folding=False`
/// slices nn.LSTM's weights into ONNX gate order with Slice + Concat + Unsqueeze; scripted models
/// keep them in `Constant` nodes inside `If` branches).
///
/// | op | inputs / attributes read |
/// |---|---|
/// | Constant | `value` (dense tensor), `value_float(s)`, `value_int(s)` |
/// | Identity, Dropout (output 0) | pass-through |
/// | Cast | `to`: float16 / bfloat16 / float32 / float64 / int32 / int64 |
/// | Reshape | shape input (0 copies a dim unless `allowzero`, −1 inferred) |
/// | Unsqueeze, Squeeze | axes input (opset ≥ 13) or attribute |
/// | Flatten | `axis` (default 1) |
/// | Transpose | `perm` (default reversed) |
/// | Concat | `axis` |
/// | Split | split input (opset ≥ 13) or attribute, `num_outputs`, `axis` |
/// | Slice | starts, ends, axes, steps inputs (opset ≥ 10) or attributes |
/// | Gather | indices, `axis` |
/// | Expand | shape (numpy broadcasting) |
/// | ConstantOfShape | shape, `value` (default float32 0) |
/// | Shape | of a constant, `start` / `end` |
/// | Add, Sub, Mul, Div | numpy broadcasting; float in float64 then the input dtype, integers in int64 |
///
/// Caps (``Limits``): nodes evaluated per model, elements of one value and of all values, and
/// recursion depth; a cycle or a cap is a ``FormatError`` naming the node. Values read by more
/// than one node (and small ones) are memoised per scope, so a shared constant is computed once
/// and a weight computed for one LSTM is not kept after it.
final class ONNXConstantFolding {
    let limits: Limits
    private var evaluated = 0
    private var elements = 0
    private var depth = 0
    private var memo: [ObjectIdentifier: [String: ONNXGraphIndex.Constant]] = [:]
    private struct Visit: Hashable { let scope: ObjectIdentifier; let name: String }
    private var visiting: Set<Visit> = []

    init(limits: Limits) { self.limits = limits }

    func value(of name: String, in scope: ONNXGraphIndex) -> ONNXGraphIndex.Constant {
        switch scope.definition(of: name) {
        case .undefined: return .undefined
        case .input: return .notConstant("a graph input")
        case .initializer(let t):
            guard let value = t.tensor else { return .notConstant("of \(t.dataType), which lstmkit does not read") }
            return .tensor(value, initializers: [name])
        case .node(let i, let owner):
            let key = ObjectIdentifier(owner)
            if let hit = memo[key]?[name] { return hit }
            let node = owner.graph.nodes[i]
            let label = node.name.isEmpty ? node.opType : "\(node.opType) node '\(node.name)'"
            let visit = Visit(scope: key, name: name)
            guard !visiting.contains(visit) else {
                return .failed(FormatError(.corrupt, "'\(name)' depends on itself through \(label) (a cycle in the graph)", entry: node.name))
            }
            guard depth < limits.onnxConstantDepth else {
                return .failed(FormatError(.limitExceeded, "constant computation of '\(name)' nests deeper than the limit of \(limits.onnxConstantDepth) nodes", entry: node.name))
            }
            evaluated += 1
            guard evaluated <= limits.onnxConstantNodes else {
                return .failed(FormatError(.limitExceeded, "constant computations need more than the limit of \(limits.onnxConstantNodes) nodes", entry: node.name))
            }
            visiting.insert(visit)
            depth += 1
            let result = evaluate(node, output: name, label: label, in: owner)
            depth -= 1
            visiting.remove(visit)
            if case .tensor(let t, _) = result, owner.uses[name, default: 0] < 2, t.elementCount > 4096 {
                return result  // read once: keeping it would only hold its bytes for the model's lifetime
            }
            memo[key, default: [:]][name] = result
            return result
        }
    }

    // MARK: - One node

    private struct NotConstant: Error { let result: ONNXGraphIndex.Constant }

    private func evaluate(_ node: ONNXNode, output: String, label: String, in scope: ONNXGraphIndex) -> ONNXGraphIndex.Constant {
        guard node.isDefaultDomain else { return .notConstant("computed by a \(node.opType) node of domain '\(node.domain)'") }
        var sources: [String] = []
        func input(_ slot: Int) throws(NotConstant) -> Tensor? {
            guard let name = node.input(slot) else { return nil }
            switch value(of: name, in: scope) {
            case .tensor(let t, let inits):
                sources += inits
                return t
            case .notConstant(let why):
                throw NotConstant(result: .notConstant(name == output ? why : "computed by a \(label) from '\(name)', which is \(why)"))
            case .failed(let e): throw NotConstant(result: .failed(e))
            case .undefined: throw NotConstant(result: .failed(FormatError(.corrupt, "\(label) reads '\(name)', which the graph does not define", entry: node.name)))
            }
        }
        func required(_ slot: Int) throws(NotConstant) -> Tensor {
            guard let t = try input(slot) else {
                throw NotConstant(result: .failed(FormatError(.corrupt, "\(label) has no input \(slot)", entry: node.name)))
            }
            return t
        }
        func fail(_ message: String) -> NotConstant {
            NotConstant(result: .failed(FormatError(.corrupt, "\(label): \(message)", entry: node.name)))
        }
        /// Input `slot` as a host tensor (a copy admitted by the memory budget).
        func host(_ slot: Int) throws(NotConstant) -> HostTensor {
            let t = try required(slot)
            do { return try HostTensor(t) } catch { throw NotConstant(result: .failed(error.inEntry(node.name))) }
        }
        do throws(NotConstant) {
            let out: HostTensor
            switch node.opType {
            case "Constant":
                return constantNode(node)
            case "Identity", "Dropout":
                guard node.outputs.first == output else { return .notConstant("the mask of a \(label)") }
                out = try host(0)
            case "Cast":
                guard let to = node.attribute("to")?.int, let dtype = Self.castTarget(to) else {
                    return .notConstant("computed by a \(label) to a data type lstmkit does not evaluate")
                }
                out = try host(0).cast(to: dtype)
            case "Reshape":
                let x = try host(0)
                let shape = try required(1).int64s()
                out = try x.reshaped(Self.reshapeTarget(shape, of: x.shape, allowZero: node.attribute("allowzero")?.int == 1).orThrow(fail("shape \(shape) does not fit \(x.shape)")))
            case "Unsqueeze":
                let x = try host(0)
                let axes = try input(1)?.int64s() ?? node.attribute("axes")?.ints ?? []
                var shape = x.shape
                let rank = shape.count + axes.count
                guard let normal = Self.axes(axes, rank: rank), Set(normal).count == normal.count else { throw fail("axes \(axes) do not fit rank \(rank)") }
                for a in normal.sorted() { shape.insert(1, at: a) }
                out = x.reshaped(shape)
            case "Squeeze":
                let x = try host(0)
                let axes = try input(1)?.int64s() ?? node.attribute("axes")?.ints
                let normal = try axes.map { a throws(NotConstant) in try Self.axes(a, rank: x.shape.count).orThrow(fail("axes \(a) do not fit rank \(x.shape.count)")) }
                let keep = x.shape.indices.filter { normal.map { !$0.contains($0) } ?? (x.shape[$0] != 1) }
                guard normal?.allSatisfy({ x.shape[$0] == 1 }) ?? true else { throw fail("squeezes an axis that is not 1") }
                out = x.reshaped(keep.map { x.shape[$0] })
            case "Flatten":
                let x = try host(0)
                let axis = try Self.axes([node.attribute("axis")?.int ?? 1], rank: x.shape.count + 1).orThrow(fail("axis out of range"))[0]
                out = x.reshaped([x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)])
            case "Transpose":
                let x = try host(0)
                let perm = node.attribute("perm")?.ints.map { $0.map(Int.init) } ?? Array(x.shape.indices.reversed())
                guard perm.sorted() == Array(x.shape.indices) else { throw fail("perm \(perm) does not fit rank \(x.shape.count)") }
                out = x.transposed(perm)
            case "Concat":
                var parts: [HostTensor] = []
                for slot in node.inputs.indices where try input(slot) != nil { parts.append(try host(slot)) }
                guard let first = parts.first, let axis = Self.axes([node.attribute("axis")?.int ?? 0], rank: first.shape.count)?.first,
                      let joined = HostTensor.concat(parts, axis: axis) else { throw fail("inputs do not concatenate") }
                out = joined
            case "Split":
                let x = try host(0)
                guard let axis = Self.axes([node.attribute("axis")?.int ?? 0], rank: x.shape.count)?.first,
                      let k = node.outputs.firstIndex(of: output) else { throw fail("axis out of range") }
                var sizes = try input(1)?.int64s().map(Int.init) ?? node.attribute("split")?.ints?.map(Int.init)
                if sizes == nil {
                    let n = Int(node.attribute("num_outputs")?.int ?? Int64(node.outputs.count))
                    guard n > 0 else { throw fail("splits into no outputs") }
                    let chunk = (x.shape[axis] + n - 1) / n
                    sizes = (0..<n).map { Swift.max(0, Swift.min(chunk, x.shape[axis] - $0 * chunk)) }
                }
                guard let sizes, k < sizes.count, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == x.shape[axis] else {
                    throw fail("split sizes do not add up to axis \(axis) of \(x.shape)")
                }
                let start = sizes[..<k].reduce(0, +)
                out = x.sliced(axis: axis, start: start, step: 1, count: sizes[k])
            case "Slice":
                let x = try host(0)
                let starts = try input(1)?.int64s() ?? node.attribute("starts")?.ints ?? []
                let ends = try input(2)?.int64s() ?? node.attribute("ends")?.ints ?? []
                let axesIn = try input(3)?.int64s() ?? node.attribute("axes")?.ints ?? (0..<Int64(starts.count)).map { $0 }
                let steps = try input(4)?.int64s() ?? Array(repeating: 1, count: starts.count)
                guard starts.count == ends.count, axesIn.count == starts.count, steps.count == starts.count,
                      let axes = Self.axes(axesIn, rank: x.shape.count) else { throw fail("starts / ends / axes / steps disagree") }
                var y = x
                for (j, axis) in axes.enumerated() {
                    guard steps[j] != 0 else { throw fail("step 0") }
                    let (start, step, count) = Self.sliceRange(start: starts[j], end: ends[j], step: steps[j], dim: y.shape[axis])
                    y = y.sliced(axis: axis, start: start, step: step, count: count)
                }
                out = y
            case "Gather":
                let x = try host(0)
                let indices = try required(1)
                guard let axis = Self.axes([node.attribute("axis")?.int ?? 0], rank: x.shape.count)?.first else { throw fail("axis out of range") }
                let dim = x.shape[axis]
                let idx = indices.int64s().map { Int($0 < 0 ? $0 + Int64(dim) : $0) }
                guard idx.allSatisfy({ (0..<dim).contains($0) }) else { throw fail("index out of range of axis \(axis) (\(dim))") }
                out = x.gathered(axis: axis, indices: idx, indexShape: indices.shape)
            case "Expand":
                let x = try host(0)
                let shape = try required(1).int64s().map(Int.init)
                guard let target = Self.broadcast(x.shape, shape) else { throw fail("cannot broadcast \(x.shape) to \(shape)") }
                try admit(target, label: label, node: node)
                out = x.broadcast(to: target)
            case "ConstantOfShape":
                let shape = try required(0).int64s().map(Int.init)
                guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("negative shape \(shape)") }
                try admit(shape, label: label, node: node)
                let fill = node.attribute("value")?.tensor?.tensor.flatMap { try? HostTensor($0) } ?? HostTensor(float: 0)
                guard fill.count == 1 else { throw fail("value is not one element") }
                out = fill.broadcast(to: shape)
            case "Shape":
                let x = try required(0)
                var dims = x.shape.map(Int64.init)
                let r = dims.count
                func clamp(_ v: Int64) -> Int { Swift.min(Swift.max(Int(v < 0 ? v + Int64(r) : v), 0), r) }
                let s = clamp(node.attribute("start")?.int ?? 0), e = clamp(node.attribute("end")?.int ?? Int64(r))
                dims = s < e ? Array(dims[s..<e]) : []
                out = HostTensor(int64: dims, shape: [dims.count])
            case "Add", "Sub", "Mul", "Div":
                let a = try host(0), b = try host(1)
                guard let shape = Self.broadcast(a.shape, b.shape) else { throw fail("cannot broadcast \(a.shape) with \(b.shape)") }
                try admit(shape, label: label, node: node)
                guard let r = HostTensor.arithmetic(node.opType, a, b, shape: shape) else {
                    throw fail("\(a.dtype.name) and \(b.dtype.name) do not combine")
                }
                out = r
            default:
                return .notConstant("computed by a \(label)")
            }
            try admit(out.shape, label: label, node: node)
            elements += out.count
            return .tensor(try out.tensor().orThrow(fail("result does not form a tensor")), initializers: sources)
        } catch {
            return error.result
        }
    }

    /// Checks the element caps before a value of `shape` is made.
    private func admit(_ shape: [Int], label: String, node: ONNXNode) throws(NotConstant) {
        guard let n = Checked.product(shape), n <= limits.onnxConstantElements, elements + n <= limits.onnxConstantElements * 4 else {
            throw NotConstant(result: .failed(FormatError(.limitExceeded, "\(label) would make a constant of shape \(shape), over the limit of \(limits.onnxConstantElements) elements", entry: node.name)))
        }
    }

    private func constantNode(_ n: ONNXNode) -> ONNXGraphIndex.Constant {
        for a in n.attributes {
            switch (a.name, a.value) {
            case ("value", .tensor(let t)):
                if let v = t.tensor { return .tensor(v, initializers: []) }
                return .notConstant("a Constant of \(t.dataType)")
            case ("value_float", .float(let v)):
                if let t = try? Tensor(float32: [v], shape: []) { return .tensor(t, initializers: []) }
            case ("value_floats", .floats(let v)):
                if let t = try? Tensor(float32: v, shape: [v.count]) { return .tensor(t, initializers: []) }
            case ("value_int", .int(let v)):
                if let t = try? Tensor(int64: [v], shape: []) { return .tensor(t, initializers: []) }
            case ("value_ints", .ints(let v)):
                if let t = try? Tensor(int64: v, shape: [v.count]) { return .tensor(t, initializers: []) }
            default:
                continue
            }
        }
        return .notConstant("a Constant node without a dense value")
    }

    // MARK: - Shape arithmetic

    /// ONNX TensorProto data types the Cast op may target here.
    static func castTarget(_ to: Int64) -> DType? {
        switch to {
        case 1: .float32
        case 6: .int32
        case 7: .int64
        case 10: .float16
        case 11: .float64
        case 16: .bfloat16
        default: nil
        }
    }

    /// Axes in −rank..<rank, made non-negative; nil when one is out of range.
    static func axes(_ axes: [Int64], rank: Int) -> [Int]? {
        var out: [Int] = []
        for a in axes {
            let v = a < 0 ? a + Int64(rank) : a
            guard v >= 0, v < Int64(rank) else { return nil }
            out.append(Int(v))
        }
        return out
    }

    static func reshapeTarget(_ shape: [Int64], of input: [Int], allowZero: Bool) -> [Int]? {
        let total = input.reduce(1, *)
        var out: [Int] = []
        var infer: Int?
        for (i, d) in shape.enumerated() {
            switch d {
            case 0 where !allowZero:
                guard i < input.count else { return nil }
                out.append(input[i])
            case -1:
                guard infer == nil else { return nil }
                infer = i
                out.append(1)
            case let v where v >= 0 && v <= Int64(Int32.max):
                out.append(Int(v))
            default:
                return nil
            }
        }
        let known = out.reduce(1, *)
        if let infer {
            guard known > 0, total % known == 0 else { return nil }
            out[infer] = total / known
        }
        return out.reduce(1, *) == total ? out : nil
    }

    /// numpy's broadcast of two shapes, nil when they do not broadcast.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = Swift.max(a.count, b.count)
        var out: [Int] = []
        for i in 0..<r {
            let x = i < r - a.count ? 1 : a[i - (r - a.count)]
            let y = i < r - b.count ? 1 : b[i - (r - b.count)]
            guard x == y || x == 1 || y == 1, x >= 0, y >= 0 else { return nil }
            out.append(x == 1 ? y : x)
        }
        return out
    }

    /// ONNX Slice's clamping of one axis: first index, step and element count.
    static func sliceRange(start: Int64, end: Int64, step: Int64, dim: Int) -> (Int, Int, Int) {
        let d = Int64(dim)
        func norm(_ v: Int64) -> Int64 { v < 0 ? v + d : v }
        var s = norm(start), e = norm(end)
        if step > 0 {
            s = Swift.min(Swift.max(s, 0), d)
            e = Swift.min(Swift.max(e, 0), d)
            let count = e > s ? (e - s + step - 1) / step : 0
            return (Int(s), Int(step), Int(count))
        }
        s = Swift.min(Swift.max(s, -1), d - 1)
        e = Swift.min(Swift.max(e, -1), d - 1)
        let count = s > e ? (s - e + (-step) - 1) / (-step) : 0
        return (Int(s), Int(step), Int(count))
    }
}

extension Optional {
    func orThrow<E: Error>(_ error: @autoclosure () -> E) throws(E) -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
