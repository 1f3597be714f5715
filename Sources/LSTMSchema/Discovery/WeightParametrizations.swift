import TensorFormats

/// Effective weights of parametrized recurrent parameters, so that discovery by name sees the
/// weights the module computes with:
///
/// | in the file (P = module prefix, X = a parameter name such as `weight_hh_l0`) | effective `P.X` |
/// |---|---|
/// | `P.parametrizations.X.original0` (g), `P.parametrizations.X.original1` (v) — `torch.nn.utils.parametrizations.weight_norm` | g · v / ‖v‖ |
/// | `P.X_g`, `P.X_v` — the older `torch.nn.utils.weight_norm` | g · v / ‖v‖ |
/// | `P.X_raw` with no `P.X` — AWD-LSTM's WeightDrop | the raw weight (eval mode: no dropout) |
///
/// ‖v‖ is the L2 norm over every axis but torch's `dim`: the one axis where g is not 1 (dim = 0,
/// g of shape (rows, 1), for the default), or all axes when g has one element (dim = None).
/// Computed in float64 when the values are first needed (deferred storage), stored in v's dtype. Only names whose X is a recurrent parameter name of
/// some ``ModuleKind`` are touched.
enum WeightParametrizations {
    struct Derived {
        /// The file's tensors the effective weight was made from.
        var sources: [String]
        var note: String
    }

    /// `tensors` with each parametrized weight replaced by its effective weight (at the place of its
    /// first source), and what was derived, by effective name.
    static func apply(_ tensors: [NamedTensor]) -> (tensors: [NamedTensor], derived: [String: Derived]) {
        var byName: [String: Tensor] = [:]
        for t in tensors { byName[t.name] = t.tensor }
        var replacements: [String: NamedTensor] = [:]  // first source name → effective tensor
        var dropped: Set<String> = []
        var derived: [String: Derived] = [:]

        func isRecurrent(_ name: String) -> Bool {
            let leaf = name.split(separator: ".").last ?? Substring(name)
            return ModuleKind.allCases.contains { $0.parse(leaf) != nil }
        }
        func add(_ name: String, _ tensor: Tensor, sources: [String], note: String) {
            guard byName[name] == nil, derived[name] == nil else { return }
            replacements[sources[0]] = NamedTensor(name: name, tensor: tensor)
            dropped.formUnion(sources.dropFirst())
            derived[name] = Derived(sources: sources, note: note)
        }

        for t in tensors {
            let name = t.name
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count >= 3, parts[parts.count - 1] == "original0", parts[parts.count - 3] == "parametrizations" {
                let head = parts.dropLast(3).joined(separator: ".")
                let prefix = head.isEmpty ? "" : head + "."
                let x = String(parts[parts.count - 2])
                let vName = prefix + "parametrizations." + x + ".original1"
                guard isRecurrent(prefix + x), let v = byName[vName], let w = weightNorm(g: t.tensor, v: v) else { continue }
                add(prefix + x, w, sources: [name, vName],
                    note: "\(prefix + x) is weight_norm's g · v / ‖v‖ of \(name) and \(vName)")
            } else if name.hasSuffix("_g") {
                let x = String(name.dropLast(2))
                let vName = x + "_v"
                guard isRecurrent(x), let v = byName[vName], let w = weightNorm(g: t.tensor, v: v) else { continue }
                add(x, w, sources: [name, vName], note: "\(x) is weight_norm's g · v / ‖v‖ of \(name) and \(vName)")
            } else if name.hasSuffix("_raw") {
                let x = String(name.dropLast(4))
                guard isRecurrent(x) else { continue }
                add(x, t.tensor, sources: [name], note: "\(x) is WeightDrop's \(name) (no dropout: eval mode)")
            }
        }
        guard !derived.isEmpty else { return (tensors, [:]) }
        var out: [NamedTensor] = []
        for t in tensors where !dropped.contains(t.name) {
            out.append(replacements[t.name] ?? t)
        }
        return (out, derived)
    }

    /// g · v / ‖v‖ (see the type's table) as a deferred tensor of v's dtype and shape: computed only
    /// when its values are needed (``Tensor/loaded()``), so metadata-only commands never read g or
    /// v. nil when the shapes do not fit weight_norm's.
    static func weightNorm(g: Tensor, v: Tensor) -> Tensor? {
        guard g.dtype.isFloatingPoint, v.dtype.isFloatingPoint, v.rank >= 1 else { return nil }
        var dim: Int?
        if g.elementCount != 1 {
            let axes = g.shape.indices.filter { g.shape[$0] != 1 }
            guard g.rank == v.rank, axes.count == 1, let d = axes.first, g.shape[d] == v.shape[d] else { return nil }
            dim = d
        }
        let source = WeightNormBytes(g: g, v: v, dim: dim)
        return try? Tensor(dtype: v.dtype, shape: v.shape, storage: TensorStorage(deferred: source, budget: .current))
    }
}

/// The bytes of g · v / ‖v‖ (``WeightParametrizations/weightNorm(g:v:)``), computed in float64 on
/// demand under the memory budget and stored in v's dtype (row-major little-endian).
struct WeightNormBytes: DeferredBytes {
    let g: Tensor
    let v: Tensor
    let dim: Int?

    var count: Int { v.byteCount }
    var file: String { v.storage.originFile ?? "" }
    var member: String? { nil }
    var what: String { "computing weight_norm's effective weight of shape \(v.shape)" }

    func fill(_ destination: UnsafeMutableRawBufferPointer) throws(FormatError) {
        let t = try compute()
        guard let bytes = t.contiguousBytes, bytes.count == destination.count else { return }
        destination.copyMemory(from: bytes)
    }

    func stream(_ range: Range<Int>, into sink: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
        let t = try compute()
        guard let bytes = t.contiguousBytes else { return }
        try sink(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    private func compute() throws(FormatError) -> Tensor {
        let working: MemoryReservation
        do {
            working = try MemoryBudget.current.reserve(2 * v.elementCount * MemoryLayout<Double>.size, for: what)
        } catch {
            throw error.inFile(file)
        }
        defer { withExtendedLifetime(working) {} }
        let vs = try v.loaded().doubles(), gs = try g.loaded().doubles()
        let shape = v.shape
        var out = [Double](repeating: 0, count: vs.count)
        if let d = dim {
            let outer = shape[..<d].reduce(1, *), n = shape[d], inner = shape[(d + 1)...].reduce(1, *)
            for j in 0..<n {
                var sum = 0.0
                for o in 0..<outer { for i in 0..<inner { let x = vs[(o * n + j) * inner + i]; sum += x * x } }
                let scale = gs[j] / sum.squareRoot()
                for o in 0..<outer { for i in 0..<inner { let k = (o * n + j) * inner + i; out[k] = vs[k] * scale } }
            }
        } else {
            let norm = vs.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for k in vs.indices { out[k] = vs[k] * gs[0] / norm }
        }
        return try Tensor(float64: out, shape: shape).converted(to: v.dtype)
    }
}
