/// One direction of one layer, converted to `T` and packed for the GEMM kernels.
struct PreparedDirection<T: LSTMScalar>: Sendable {
    /// W_ih packed (4H × layer input).
    var wih: PackedMatrix<T>
    /// W_hh packed (4H × R).
    var whh: PackedMatrix<T>
    /// b_ih + b_hh (4H), or zeros.
    var bias: [T]
    /// W_hr packed (P × H) when projecting.
    var whr: PackedMatrix<T>?
    var peepholes: Peepholes<T>?
    /// Runs t = S−1 … 0 (PyTorch's `_reverse`, ONNX `reverse`).
    var reverse: Bool
    var spec: GateSpec
}

/// The multi-layer recurrence in `T`, on time-major buffers.
///
/// Shapes (S steps, N batch, I input, H hidden, R = P or H, D directions, L layers):
/// input (S, N, I) → output (S, N, D·R); h0 / hN (L·D, N, R); c0 / cN (L·D, N, H).
///
/// Per layer and direction, time is cut into chunks of about `chunkRows` input rows (S·N rows when
/// sequence lengths are given). For each chunk, one GEMM projects all of its input rows (bias folded
/// in), then the direction runs the chunk's recurrent steps: a GEMM of the N current states with
/// W_hhᵀ accumulated onto that step's rows, the fused gate pass and, with projection, a GEMM with
/// W_hrᵀ. Chunking keeps the projected gates small enough that W_hh stays in the last-level cache.
/// Work is split over the cores: the chunk's input GEMM by directions and row ranges, the
/// recurrence by directions and independent batch rows (one synchronisation per chunk and phase,
/// none per step), or, for a single direction with enough work per step, by hidden units whose
/// parts threads claim step by step (``UnitSplitRecurrence``: each core then streams only its share
/// of W_hh).
///
/// `lengths` (per batch row, 0…S) gives onnxruntime / packed-sequence semantics: row b runs steps
/// 0…len−1 (reverse: len−1 … 0), output steps ≥ len are zero, hN / cN hold the state after the
/// last valid step, and len = 0 gives zeros.
struct ForwardPass<T: LSTMScalar>: Sendable {
    let hidden: Int
    let outputSize: Int
    let inputSize: Int
    let directions: Int
    /// layers[k][d]
    let layers: [[PreparedDirection<T>]]
    let threads: Int
    /// The float32 kernels (``KernelPath``); float64 passes ignore them.
    var kernels = Kernels(KernelPath.automatic)
    /// Input rows (steps × batch) projected per chunk (at least one step).
    var chunkRows = 512
    /// Smallest layer (multiply-adds of all its GEMMs) run on several threads: waking a thread
    /// costs tens of microseconds on a virtual machine, about 16M multiply-adds of one core's work.
    var parallelMinWork = 1 << 24
    /// Smallest step (multiply-adds N·4H·R) of a single direction whose hidden units are split over
    /// threads (``UnitSplitRecurrence``), one wait per step; below it the wait costs more than it saves.
    var unitSplitMinStepWork = 1 << 20
    /// A test hook of the unit split: called by each thread (thread, step number) before it claims
    /// parts of a step, to stall it as another process taking its core would.
    var unitSplitStall: (@Sendable (Int, Int) -> Void)?

    struct Result {
        var output: [T]
        var hN: [T]
        var cN: [T]
    }

    func run(input: [T], steps S: Int, batch N: Int, h0: [T]?, c0: [T]?, lengths: [Int]?) -> Result {
        let H = hidden, R = outputSize, D = directions, L = layers.count
        if S == 0 || N == 0 {
            return Result(output: [T](repeating: 0, count: S * N * D * R),
                          hN: h0 ?? [T](repeating: 0, count: L * D * N * R),
                          cN: c0 ?? [T](repeating: 0, count: L * D * N * H))
        }
        let lens = lengths.flatMap { $0.allSatisfy { $0 == S } ? nil : $0 }
        let chunkSteps = lens == nil ? Swift.max(1, Swift.min(S, chunkRows / N)) : S
        // Every element of hN, cN, the gate buffer and (without lengths) the layer output is written
        // before it is read, so they start uninitialized.
        var hN = Self.scratch(L * D * N * R)
        var cN = Self.scratch(L * D * N * H)
        var gates = Self.scratch(D * chunkSteps * N * 4 * H)
        var current = input
        var width = inputSize
        for k in 0..<L {
            var y = lens == nil ? Self.scratch(S * N * D * R) : [T](repeating: 0, count: S * N * D * R)
            runLayer(k, input: current, width: width, steps: S, batch: N, chunkSteps: chunkSteps, h0: h0, c0: c0,
                     lengths: lens, gates: &gates, output: &y, hN: &hN, cN: &cN)
            current = y
            width = D * R
        }
        return Result(output: current, hN: hN, cN: cN)
    }

    /// An array of `count` elements whose values are unspecified: the caller writes each before reading it.
    static func scratch(_ count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    private func runLayer(_ k: Int, input: [T], width: Int, steps S: Int, batch N: Int, chunkSteps: Int,
                          h0: [T]?, c0: [T]?, lengths: [Int]?, gates: inout [T], output: inout [T],
                          hN: inout [T], cN: inout [T]) {
        let H = hidden, R = outputSize, D = directions, G = 4 * H
        let dirs = layers[k]
        let concurrent = threads > 1 && S * N * G * (width + R) >= parallelMinWork
        let gemmParts = Swift.max(1, threads / D)
        let batchParts = Swift.max(1, Swift.min(N, threads / D))
        let split = D == 1 && concurrent && N * G * R >= unitSplitMinStepWork
            && UnitSplitRecurrence.applies(to: dirs[0], hidden: H, lengths: lengths)
            ? UnitSplitRecurrence(pass: self, layer: k, batch: N, h0: h0, c0: c0) : nil
        let states: [RecurrentState<T>] = split != nil ? [] : (0..<(D * batchParts)).map { task in
            let d = task / batchParts, part = task % batchParts
            return RecurrentState<T>(pass: self, layer: k, direction: d,
                                     batchRange: (N * part / batchParts)..<(N * (part + 1) / batchParts),
                                     batch: N, h0: h0, c0: c0)
        }
        let chunkCount = (S + chunkSteps - 1) / chunkSteps

        gates.withUnsafeMutableBufferPointer { gBuf in
            input.withUnsafeBufferPointer { xBuf in
                output.withUnsafeMutableBufferPointer { yBuf in
                    let g = UncheckedBox(gBuf.baseAddress!), x = UncheckedBox(xBuf.baseAddress!)
                    let y = UncheckedBox(yBuf.baseAddress!)
                    let chunkStride = chunkSteps * N * G
                    for ci in 0..<chunkCount {
                        // The chunk's time window per direction: chunks run forward in time for the forward
                        // direction and backward for the reverse one.
                        func window(_ d: Int) -> Range<Int> {
                            let lo = dirs[d].reverse ? Swift.max(0, S - (ci + 1) * chunkSteps) : ci * chunkSteps
                            return lo..<(lo + Swift.min(chunkSteps, S - ci * chunkSteps))
                        }
                        Parallel.forEach(D * gemmParts, concurrent: concurrent) { task in
                            let d = task / gemmParts, part = task % gemmParts
                            let t = window(d), rows = t.count * N
                            let r0 = rows * part / gemmParts, r1 = rows * (part + 1) / gemmParts
                            guard r1 > r0 else { return }
                            let gd = g.value + d * chunkStride
                            dirs[d].bias.withUnsafeBufferPointer { b in
                                for r in r0..<r1 { (gd + r * G).update(from: b.baseAddress!, count: G) }
                            }
                            GEMM.multiply(m: r1 - r0, a: x.value + (t.lowerBound * N + r0) * width, lda: width,
                                          b: dirs[d].wih, c: gd + r0 * G, ldc: G, accumulate: true, kernels: kernels)
                        }
                        if let split {
                            split.run(window: window(0), gates: g.value, output: y.value)
                            continue
                        }
                        Parallel.forEach(states.count, concurrent: concurrent) { task in
                            let st = states[task]
                            guard !st.batchRange.isEmpty else { return }
                            st.run(window: window(st.direction), steps: S, gates: g.value + st.direction * chunkStride,
                                   lengths: lengths, output: y.value)
                        }
                    }
                }
            }
        }
        hN.withUnsafeMutableBufferPointer { hnBuf in
            cN.withUnsafeMutableBufferPointer { cnBuf in
                if let split {
                    split.finish(hN: hnBuf.baseAddress!, cN: cnBuf.baseAddress!)
                    return
                }
                for st in states where !st.batchRange.isEmpty {
                    st.finish(lengths: lengths, hN: hnBuf.baseAddress!, cN: cnBuf.baseAddress!)
                }
            }
        }
    }
}

/// The state of one direction over a range of batch rows while a layer runs: h, c and step buffers.
final class RecurrentState<T: LSTMScalar>: @unchecked Sendable {
    let direction: Int
    let batchRange: Range<Int>
    private let w: PreparedDirection<T>
    private let kernels: Kernels
    private let H: Int, R: Int, D: Int, N: Int
    /// Row of this direction's first batch element in hN / cN.
    private let stateRow: Int
    private let h, c, gbuf, hfull, hbuf, cbuf, scratch: UnsafeMutablePointer<T>

    init(pass: ForwardPass<T>, layer k: Int, direction d: Int, batchRange: Range<Int>, batch N: Int, h0: [T]?, c0: [T]?) {
        direction = d
        self.batchRange = batchRange
        w = pass.layers[k][d]
        kernels = pass.kernels
        H = pass.hidden
        R = pass.outputSize
        D = pass.directions
        self.N = N
        stateRow = (k * D + d) * N + batchRange.lowerBound
        let nb = Swift.max(batchRange.count, 1)
        h = .allocate(capacity: nb * R)
        c = .allocate(capacity: nb * H)
        gbuf = .allocate(capacity: nb * 4 * H)
        hfull = .allocate(capacity: nb * H)
        hbuf = .allocate(capacity: nb * R)
        cbuf = .allocate(capacity: nb * H)
        scratch = .allocate(capacity: H)
        let n = batchRange.count
        if let h0, n > 0 { h0.withUnsafeBufferPointer { h.initialize(from: $0.baseAddress! + stateRow * R, count: n * R) } }
        else { h.initialize(repeating: 0, count: nb * R) }
        if let c0, n > 0 { c0.withUnsafeBufferPointer { c.initialize(from: $0.baseAddress! + stateRow * H, count: n * H) } }
        else { c.initialize(repeating: 0, count: nb * H) }
    }

    deinit {
        for p in [h, c, gbuf, hfull, hbuf, cbuf, scratch] { p.deallocate() }
    }

    /// h of the last step run (nil before the first: `h` holds h0), in the layer output (row stride `D·R`).
    private var lastOutput: UnsafePointer<T>?

    /// Runs the steps of time window `window` (in this direction's order) on its projected gates
    /// (row (t − window.lowerBound)·N + b of `gates`, accumulated in place) and writes this
    /// direction's columns of `output`. Without lengths a step reads h_{t−1} from the previous
    /// step's output rows and writes h_t straight into its own: nothing is copied.
    func run(window: Range<Int>, steps S: Int, gates: UnsafeMutablePointer<T>, lengths: [Int]?, output: UnsafeMutablePointer<T>) {
        let G = 4 * H, b0 = batchRange.lowerBound, nb = batchRange.count, ldy = D * R, col = direction * R
        let t0 = window.lowerBound
        guard let lengths else {
            for s in 0..<window.count {
                let t = w.reverse ? window.upperBound - 1 - s : t0 + s
                let y = output + (t * N + b0) * ldy + col
                step(rows: nb, gates: gates + ((t - t0) * N + b0) * G, previous: lastOutput ?? UnsafePointer(h),
                     lda: lastOutput == nil ? R : ldy, c: c, h: y, ldh: ldy)
                lastOutput = UnsafePointer(y)
            }
            return
        }
        // With lengths the window is the whole sequence; row b's step s is time s, or len − 1 − s in reverse.
        var active: [Int] = [], times: [Int] = []
        active.reserveCapacity(nb)
        times.reserveCapacity(nb)
        for s in 0..<S {
            active.removeAll(keepingCapacity: true)
            times.removeAll(keepingCapacity: true)
            for r in 0..<nb where s < lengths[b0 + r] {
                active.append(r)
                times.append(w.reverse ? lengths[b0 + r] - 1 - s : s)
            }
            if active.isEmpty { break }
            for (a, r) in active.enumerated() {
                (gbuf + a * G).update(from: gates + ((times[a] - t0) * N + b0 + r) * G, count: G)
                (hbuf + a * R).update(from: h + r * R, count: R)
                (cbuf + a * H).update(from: c + r * H, count: H)
            }
            step(rows: active.count, gates: gbuf, previous: hbuf, lda: R, c: cbuf, h: hbuf, ldh: R)
            for (a, r) in active.enumerated() {
                (h + r * R).update(from: hbuf + a * R, count: R)
                (c + r * H).update(from: cbuf + a * H, count: H)
                (output + (times[a] * N + b0 + r) * ldy + col).update(from: hbuf + a * R, count: R)
            }
        }
    }

    /// Writes the final states into hN / cN (zeros for rows of length 0).
    func finish(lengths: [Int]?, hN: UnsafeMutablePointer<T>, cN: UnsafeMutablePointer<T>) {
        let nb = batchRange.count
        if let last = lastOutput {
            for r in 0..<nb { (hN + (stateRow + r) * R).update(from: last + r * D * R, count: R) }
        } else {
            (hN + stateRow * R).update(from: h, count: nb * R)
        }
        (cN + stateRow * H).update(from: c, count: nb * H)
        guard let lengths else { return }
        for r in 0..<nb where lengths[batchRange.lowerBound + r] == 0 {
            (hN + (stateRow + r) * R).update(repeating: 0, count: R)
            (cN + (stateRow + r) * H).update(repeating: 0, count: H)
        }
    }

    /// One recurrent step for `rows` rows: gates (row stride 4H) += previous·W_hhᵀ (previous: rows × R,
    /// row stride `lda`), gate pass (c updated in place), projection; h_t written to `h` (row stride `ldh`).
    /// `h` may be `previous` (the step reads all of it before writing).
    private func step(rows: Int, gates: UnsafeMutablePointer<T>, previous: UnsafePointer<T>, lda: Int,
                      c: UnsafeMutablePointer<T>, h: UnsafeMutablePointer<T>, ldh: Int) {
        GEMM.multiply(m: rows, a: previous, lda: lda, b: w.whh, c: gates, ldc: 4 * H, accumulate: true, kernels: kernels)
        if let whr = w.whr {
            GateStep.apply(rows: rows, hidden: H, gates: gates, c: c, h: hfull, ldh: H,
                           spec: w.spec, peepholes: w.peepholes, scratch: scratch, kernels: kernels)
            GEMM.multiply(m: rows, a: hfull, lda: H, b: whr, c: h, ldc: ldh, accumulate: false, kernels: kernels)
        } else {
            GateStep.apply(rows: rows, hidden: H, gates: gates, c: c, h: h, ldh: ldh,
                           spec: w.spec, peepholes: w.peepholes, scratch: scratch, kernels: kernels)
        }
    }
}
