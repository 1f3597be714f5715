import LSTMSchema
import TensorFormats

/// The arithmetic a forward pass uses.
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// Float arithmetic, as PyTorch and onnxruntime compute on CPU (default).
    case float32
    /// Double arithmetic: a higher-precision reference.
    case float64
}

/// What ``LSTMForward/run(module:input:h0:c0:batchFirst:precision:sequenceLengths:threads:kernels:limits:)`` returns,
/// in `nn.LSTM`'s layouts (S steps, N batch, D directions, L layers, H hidden, R = proj_size or H):
///
/// | tensor | shape | unbatched input (S, I) |
/// |---|---|---|
/// | `output` | (S, N, D·R), or (N, S, D·R) when `batchFirst` | (S, D·R) |
/// | `hN` | (L·D, N, R) | (L·D, R) |
/// | `cN` | (L·D, N, H) | (L·D, H) |
///
/// The last axis of `output` holds the forward direction's R values, then the reverse direction's.
/// Tensors are float32, or float64 for ``Precision/float64``.
public struct LSTMOutputs: Sendable {
    public var output: Tensor
    public var hN: Tensor
    public var cN: Tensor
    public var batchFirst: Bool

    /// The outputs as named tensors `output`, `h_n`, `c_n` (the names `run` writes and goldens use).
    public var namedTensors: [NamedTensor] {
        [NamedTensor(name: "output", tensor: output), NamedTensor(name: "h_n", tensor: hN),
         NamedTensor(name: "c_n", tensor: cN)]
    }
}

/// The reference LSTM forward pass: `nn.LSTM` semantics for every configuration, plus the ONNX
/// features a module's ``LSTMVariant`` holds (``LSTMModule/variant``).
///
/// Per step, for each layer and direction (PyTorch gate order i, f, g, o; ⊙ elementwise):
///
///     i = σ(W_ii x + b_ii + W_hi h + b_hi + P_i ⊙ c)      f = σ(… + P_f ⊙ c)
///     g = tanh(W_ig x + b_ig + W_hg h + b_hg)             c' = f ⊙ c + i ⊙ g
///     o = σ(W_io x + b_io + W_ho h + b_ho + P_o ⊙ c')     h' = o ⊙ tanh(c');  h' = W_hr h' when proj_size > 0
///
/// The reverse direction reads the sequence backwards and its outputs stay aligned with the input
/// steps. Layer k > 0 reads the concatenated outputs of layer k − 1. Dropout is not applied (eval).
///
/// ONNX extras (see `onnx-lstm.md` §1.5–1.6), applied when `module.variant` is set:
/// - `direction = reverse`: the single direction runs backwards; with `outputReversed` (Keras's
///   go_backwards) `output` is returned in processing order, step S−1's first (the whole time axis
///   is flipped, sequence lengths or not).
/// - peepholes `P` (ONNX order i, o, f; the output gate uses the new cell state).
/// - `clip`: each gate's pre-activation is clamped to [−clip, clip] as onnxruntime does; c is not clipped.
/// - `input_forget`: f = 1 − i.
/// - activations f, g, h (3 names for all directions, or 3 per direction) with alpha / beta
///   consumed as onnxruntime does (``Activation/resolve(_:alpha:beta:)``).
/// - `sequenceLengths` (any module): row b runs steps 0…len−1 (reverse: from len−1 down), output
///   steps ≥ len are 0, h_n / c_n hold the last valid state, len = 0 gives zeros.
///
/// ONNX `layout = 1` only transposes a node's inputs and outputs; ``ONNXNodeLayout`` converts them.
public enum LSTMForward {
    /// Runs `module` on `input`.
    ///
    /// - Parameters:
    ///   - input: (S, N, I), or (N, S, I) when `batchFirst`, or unbatched (S, I); any float dtype.
    ///   - h0: (L·D, N, R) initial hidden state ((L·D, R) unbatched); zeros when nil.
    ///   - c0: (L·D, N, H) initial cell state ((L·D, H) unbatched); zeros when nil.
    ///   - sequenceLengths: N lengths in 0…S (onnxruntime semantics, above); nil = the module's
    ///     constant ONNX `sequence_lens` if it has one, else all S.
    ///   - threads: cores to use; nil = all online processors.
    ///   - kernels: the float32 kernel path; nil = ``KernelPath/automatic`` (`LSTMKIT_KERNELS`, else
    ///     the fastest). A path this CPU does not run is replaced by ``KernelPath/best``.
    ///   - limits: `memory` admits the working memory before anything is allocated.
    /// - Throws: ``ForwardError`` naming the argument (`input`, `h0`, `c0`, `sequence_lens`, or the
    ///   module with its weight) whose shape does not fit, or a variant feature that cannot be evaluated.
    public static func run(module: LSTMModule, input: Tensor, h0: Tensor? = nil, c0: Tensor? = nil,
                           batchFirst: Bool = false, precision: Precision = .float32,
                           sequenceLengths: [Int]? = nil, threads: Int? = nil, kernels: KernelPath? = nil,
                           limits: Limits = .default) throws(ForwardError) -> LSTMOutputs {
        try prepare(module: module, precision: precision, threads: threads, kernels: kernels)
            .run(input: input, h0: h0, c0: c0, batchFirst: batchFirst, sequenceLengths: sequenceLengths, limits: limits)
    }

    /// Converts and packs `module`'s weights once, for many ``PreparedLSTM/run(input:h0:c0:batchFirst:sequenceLengths:limits:)`` calls.
    ///
    /// - Parameters:
    ///   - threads: cores each run may use; nil = all online processors.
    ///   - kernels: the float32 kernel path (``PreparedLSTM/kernels``); nil = ``KernelPath/automatic``.
    /// - Throws: ``ForwardError`` (``ForwardError/Argument/module``) naming a weight whose shape or
    ///   dtype does not fit the module's config, or a variant feature that cannot be evaluated.
    public static func prepare(module: LSTMModule, precision: Precision = .float32,
                               threads: Int? = nil, kernels: KernelPath? = nil) throws(ForwardError) -> PreparedLSTM {
        let cores = Swift.max(1, threads ?? Parallel.processorCount)
        let requested = kernels ?? .automatic
        let path = requested.isSupported ? requested : .best
        switch precision {
        case .float32:
            return PreparedLSTM(module: module, pass: .float(try prepare(Float.self, module: module, threads: cores, kernels: path)))
        case .float64:
            return PreparedLSTM(module: module, pass: .double(try prepare(Double.self, module: module, threads: cores, kernels: path)))
        }
    }

    static func run<T: LSTMScalar>(_: T.Type, module: LSTMModule, input: Tensor, h0: Tensor?, c0: Tensor?,
                                   batchFirst: Bool, sequenceLengths: [Int]?, threads: Int?, kernels: KernelPath = .automatic,
                                   chunkRows: Int = 512, parallelMinWork: Int = 1 << 24, unitSplitMinStepWork: Int = 1 << 20,
                                   unitSplitStall: (@Sendable (Int, Int) -> Void)? = nil,
                                   limits: Limits = .default) throws(ForwardError) -> LSTMOutputs {
        var pass = try prepare(T.self, module: module, threads: threads ?? Parallel.processorCount, kernels: kernels)
        pass.chunkRows = chunkRows
        pass.parallelMinWork = parallelMinWork
        pass.unitSplitMinStepWork = unitSplitMinStepWork
        pass.unitSplitStall = unitSplitStall
        return try evaluate(pass, module: module, input: input, h0: h0, c0: c0, batchFirst: batchFirst,
                            sequenceLengths: sequenceLengths, limits: limits)
    }

    /// Checks the inputs' shapes against `module`, converts them and runs the prepared pass.
    static func evaluate<T: LSTMScalar>(_ pass: ForwardPass<T>, module: LSTMModule, input: Tensor, h0: Tensor?, c0: Tensor?,
                                        batchFirst: Bool, sequenceLengths: [Int]?,
                                        limits: Limits) throws(ForwardError) -> LSTMOutputs {
        let cfg = module.config
        let D = cfg.numDirections, L = cfg.numLayers, H = cfg.hiddenSize, R = cfg.outputSize
        guard input.dtype.isFloatingPoint else {
            throw ForwardError(.input, .unsupported, "input has dtype \(input.dtype.name); the forward pass needs a float dtype")
        }
        let unbatched = input.rank == 2
        guard input.rank == 3 || unbatched else {
            throw ForwardError(.input, .unsupported, "input has shape \(input.shape); the forward pass needs (seq, batch, \(cfg.inputSize)), (batch, seq, \(cfg.inputSize)) with batch_first, or (seq, \(cfg.inputSize))")
        }
        guard input.shape.last == cfg.inputSize else {
            throw ForwardError(.input, .unsupported, "input has shape \(input.shape) with \(input.shape.last ?? 0) features; the module expects input_size \(cfg.inputSize)")
        }
        let first = batchFirst && !unbatched
        let S = unbatched ? input.shape[0] : (first ? input.shape[1] : input.shape[0])
        let N = unbatched ? 1 : (first ? input.shape[0] : input.shape[1])
        let hShape = unbatched ? [L * D, R] : [L * D, N, R]
        let cShape = unbatched ? [L * D, H] : [L * D, N, H]
        if let h0, h0.shape != hShape {
            throw ForwardError(.h0, .unsupported, "h0 has shape \(h0.shape); the module needs \(hShape) (num_layers·directions, batch, \(cfg.projSize > 0 ? "proj_size" : "hidden_size"))")
        }
        if let c0, c0.shape != cShape {
            throw ForwardError(.c0, .unsupported, "c0 has shape \(c0.shape); the module needs \(cShape) (num_layers·directions, batch, hidden_size)")
        }
        let sequenceLengths = sequenceLengths ?? module.variant?.sequenceLengths
        if let sequenceLengths {
            guard sequenceLengths.count == N, sequenceLengths.allSatisfy({ (0...S).contains($0) }) else {
                throw ForwardError(.sequenceLengths, .unsupported, "sequence_lens \(sequenceLengths) must hold \(N) values in 0…\(S)")
            }
        }
        let reservation = try checkWorkingMemory(T.self, config: cfg, steps: S, batch: N, chunkRows: pass.chunkRows,
                                                 chunked: sequenceLengths == nil, budget: limits.memory)
        defer { withExtendedLifetime(reservation) {} }
        let input = try loaded(input, .input)
        let h0 = try h0.map { t throws(ForwardError) in try loaded(t, .h0) }
        let c0 = try c0.map { t throws(ForwardError) in try loaded(t, .c0) }
        var x = T.values(of: input)
        if first { x = transpose01(x, S: N, N: S, inner: cfg.inputSize) }
        let result = pass.run(input: x, steps: S, batch: N, h0: h0.map { T.values(of: $0) },
                              c0: c0.map { T.values(of: $0) }, lengths: sequenceLengths)
        var y = result.output
        if module.variant?.outputReversed == true { y = reverseTime(y, S: S, inner: N * D * R) }
        if first { y = transpose01(y, S: S, N: N, inner: D * R) }
        let yShape = unbatched ? [S, D * R] : (first ? [N, S, D * R] : [S, N, D * R])
        return LSTMOutputs(output: try T.tensor(y, shape: yShape), hN: try T.tensor(result.hN, shape: hShape),
                           cN: try T.tensor(result.cN, shape: cShape), batchFirst: first)
    }

    /// `tensor` with its bytes in memory (``Tensor/loaded()``: an inflated member is made under
    /// the memory budget); a refusal or a corrupt member is an error about `argument`.
    static func loaded(_ tensor: Tensor, _ argument: ForwardError.Argument, name: String? = nil) throws(ForwardError) -> Tensor {
        do {
            return try tensor.loaded()
        } catch {
            throw ForwardError(argument, error.reason, error.message, tensor: name ?? error.entry)
        }
    }

    /// Admits the pass's working memory in the budget before any allocation (the reservation is
    /// held while the pass runs): two layer outputs (S·N·D·R), the input copy, the projected gates
    /// of one time chunk (D·chunk·N·4H), the final states and the packed weights. Overflow counts
    /// as over the budget.
    static func checkWorkingMemory<T>(_: T.Type, config c: LSTMConfig, steps S: Int, batch N: Int, chunkRows: Int,
                                      chunked: Bool, budget: MemoryBudget) throws(ForwardError) -> MemoryReservation {
        let D = c.numDirections, H = c.hiddenSize, R = c.outputSize, L = c.numLayers
        let chunk = chunked ? Swift.max(1, Swift.min(S, chunkRows / Swift.max(N, 1))) : S
        func sum(_ xs: [Int?]) -> Int? { xs.reduce(Optional(0)) { a, x in a.flatMap { a in x.flatMap { Checked.add(a, $0) } } } }
        let widest = sum([Checked.mul(D, R), Optional(c.inputSize)]).map { Swift.max($0, c.inputSize) }
        let weights = sum([Checked.product([L, D, 4, H]).flatMap { rows in
                               sum([widest, Optional(R), Optional(16)]).flatMap { Checked.mul(rows, $0) } },
                           Checked.product([L, D, R, H])])
        let total = sum([Checked.product([2, S, N, D, R]), Checked.product([S, N, c.inputSize]),
                         Checked.product([D, chunk, N, 4, H]), Checked.product([4, L, D, N, Swift.max(R, H)]), weights])
        guard let elements = total, let bytes = Checked.mul(elements, MemoryLayout<T>.size) else {
            throw ForwardError(.input, .limitExceeded, "the forward pass for \(S) steps × batch \(N) of this LSTM needs more memory than can be addressed")
        }
        do {
            return try budget.reserve(bytes, for: "the forward pass for \(S) steps × batch \(N) of this LSTM")
        } catch {
            throw ForwardError(.input, .limitExceeded, error.message)
        }
    }

    /// (S, inner) with its S steps in reverse order.
    static func reverseTime<T>(_ v: [T], S: Int, inner: Int) -> [T] {
        var out = v
        for s in 0..<S { out[(s * inner)..<((s + 1) * inner)] = v[((S - 1 - s) * inner)..<((S - s) * inner)] }
        return out
    }

    /// (S, N, inner) ↔ (N, S, inner).
    static func transpose01<T>(_ v: [T], S: Int, N: Int, inner: Int) -> [T] {
        guard let first = v.first else { return v }
        var out = [T](repeating: first, count: v.count)
        for s in 0..<S {
            for n in 0..<N {
                let src = (s * N + n) * inner, dst = (n * S + s) * inner
                for j in 0..<inner { out[dst + j] = v[src + j] }
            }
        }
        return out
    }

    /// Checks every weight's shape against the config and converts / packs it.
    static func prepare<T: LSTMScalar>(_: T.Type, module: LSTMModule, threads: Int,
                                       kernels: KernelPath) throws(ForwardError) -> ForwardPass<T> {
        let cfg = module.config
        let D = cfg.numDirections, H = cfg.hiddenSize, R = cfg.outputSize, P = cfg.projSize
        guard cfg.numLayers >= 1, H >= 1, cfg.inputSize >= 0, P >= 0, module.layers.count == cfg.numLayers,
              module.layers.allSatisfy({ $0.count == D }) else {
            throw ForwardError(.module, .unsupported, "module '\(module.name)' has \(module.layers.count) layers of \(module.layers.map(\.count)) directions; its config says \(cfg.numLayers) layers of \(D)")
        }
        let specs = try gateSpecs(module)
        let onnxReverse = module.variant?.direction == .reverse && D == 1
        var layers: [[PreparedDirection<T>]] = []
        // Each weight's values and its packed copy, admitted while it is converted.
        var converting: MemoryReservation?
        for (k, layer) in module.layers.enumerated() {
            var dirs: [PreparedDirection<T>] = []
            for (d, w) in layer.enumerated() {
                let suffix = CanonicalName.suffix(layer: k, reverse: d == 1)
                func values(_ t: Tensor, _ name: String, _ shape: [Int]) throws(ForwardError) -> [T] {
                    guard t.shape == shape, t.dtype.isFloatingPoint else {
                        throw ForwardError(.module, .unsupported, "\(name + suffix) has shape \(t.shape) (\(t.dtype.name)); the forward pass needs \(shape) of a float dtype", tensor: name + suffix)
                    }
                    converting = nil
                    do {
                        converting = try MemoryBudget.current.reserve(2 * t.elementCount * MemoryLayout<T>.size,
                                                                      for: "converting \(name + suffix) of shape \(t.shape)")
                    } catch {
                        throw ForwardError(.module, error.reason, error.message, tensor: name + suffix)
                    }
                    return T.values(of: try loaded(t, .module, name: name + suffix))
                }
                let wih = try values(w.weightIH, "weight_ih", [4 * H, cfg.layerInputSize(k)])
                let whh = try values(w.weightHH, "weight_hh", [4 * H, R])
                var bias = [T](repeating: 0, count: 4 * H)
                if let b = w.biasIH { for (j, v) in try values(b, "bias_ih", [4 * H]).enumerated() { bias[j] += v } }
                if let b = w.biasHH { for (j, v) in try values(b, "bias_hh", [4 * H]).enumerated() { bias[j] += v } }
                var whr: PackedMatrix<T>?
                if P > 0 {
                    guard let t = w.weightHR else {
                        throw ForwardError(.module, .unsupported, "weight_hr\(suffix) is missing; proj_size is \(P)", tensor: "weight_hr" + suffix)
                    }
                    whr = PackedMatrix(try values(t, "weight_hr", [P, H]), n: P, k: H)
                }
                var peep: Peepholes<T>?
                if let p = w.peephole {
                    let v = try values(p, "P", [3 * H])
                    peep = Peepholes(i: Array(v[0..<H]), o: Array(v[H..<(2 * H)]), f: Array(v[(2 * H)..<(3 * H)]))
                }
                dirs.append(PreparedDirection(wih: PackedMatrix(wih, n: 4 * H, k: cfg.layerInputSize(k)),
                                              whh: PackedMatrix(whh, n: 4 * H, k: R), bias: bias, whr: whr,
                                              peepholes: peep, reverse: d == 1 || onnxReverse, spec: specs[d]))
            }
            layers.append(dirs)
        }
        withExtendedLifetime(converting) {}
        var pass = ForwardPass<T>(hidden: H, outputSize: R, inputSize: cfg.inputSize, directions: D, layers: layers,
                                  threads: Swift.max(1, threads))
        pass.kernels = Kernels(kernels)
        return pass
    }

    /// The gate functions of each direction (PyTorch's for modules without ONNX features).
    static func gateSpecs(_ module: LSTMModule) throws(ForwardError) -> [GateSpec] {
        let D = module.config.numDirections
        guard let onnx = module.variant else { return Array(repeating: GateSpec(), count: D) }
        let names = onnx.activations.isEmpty ? Array(repeating: LSTMVariant.defaultActivations, count: D).flatMap { $0 } : onnx.activations
        guard names.count == 3 * D || names.count == 3 else {
            throw ForwardError(.module, .unsupported, "module '\(module.name)' lists \(names.count) activations; an LSTM with \(D) direction(s) needs \(3 * D)", tensor: module.name)
        }
        var acts: [Activation]
        do { acts = try Activation.resolve(names, alpha: onnx.activationAlpha, beta: onnx.activationBeta) }
        catch { throw ForwardError(.module, error.reason, error.message, tensor: module.name) }
        if acts.count < 3 * D { acts += acts }
        if let clip = onnx.clip, !(clip > 0) {
            throw ForwardError(.module, .unsupported, "module '\(module.name)' has clip \(clip); clip must be > 0", tensor: module.name)
        }
        return (0..<D).map { d in
            GateSpec(f: acts[3 * d], g: acts[3 * d + 1], h: acts[3 * d + 2], clip: onnx.clip.map(Double.init),
                     inputForget: onnx.inputForget)
        }
    }
}
