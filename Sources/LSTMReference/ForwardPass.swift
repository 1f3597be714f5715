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
/// Per layer: one GEMM projects all S·N input rows for each direction at once (bias folded in);
/// then each direction runs its S recurrent steps, each a GEMM of the N current states with W_hhᵀ
/// accumulated onto that step's rows, the fused gate pass and, with projection, a GEMM with W_hrᵀ.
/// Work is split over the cores without per-step synchronisation: the input GEMM by row halves,
/// the recurrence by direction and by independent batch rows.
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
        // Every element of hN, cN, the gate buffer and (without lengths) the layer output is written
        // before it is read, so they start uninitialized.
        var hN = Self.scratch(L * D * N * R)
        var cN = Self.scratch(L * D * N * H)
        var gates = Self.scratch(D * S * N * 4 * H)
        var current = input
        var width = inputSize
        let lens = lengths.flatMap { $0.allSatisfy { $0 == S } ? nil : $0 }
        for k in 0..<L {
            var y = lens == nil ? Self.scratch(S * N * D * R) : [T](repeating: 0, count: S * N * D * R)
            runLayer(k, input: current, width: width, steps: S, batch: N, h0: h0, c0: c0, lengths: lens,
                     gates: &gates, output: &y, hN: &hN, cN: &cN)
            current = y
            width = D * R
        }
        return Result(output: current, hN: hN, cN: cN)
    }

    /// An array of `count` elements whose values are unspecified: the caller writes each before reading it.
    static func scratch(_ count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    private func runLayer(_ k: Int, input: [T], width: Int, steps S: Int, batch N: Int, h0: [T]?, c0: [T]?,
                          lengths: [Int]?, gates: inout [T], output: inout [T], hN: inout [T], cN: inout [T]) {
        let H = hidden, R = outputSize, D = directions, G = 4 * H
        let dirs = layers[k]
        let rows = S * N
        let big = rows * G * (width + R) >= 1 << 21

        gates.withUnsafeMutableBufferPointer { gBuf in
            input.withUnsafeBufferPointer { xBuf in
                let g = UncheckedBox(gBuf.baseAddress!)
                let x = UncheckedBox(xBuf.baseAddress)
                // Input projection: G_d = X · W_ihᵀ + (b_ih + b_hh), split into row chunks.
                let chunks = Swift.max(1, Swift.min(rows, threads / D))
                Parallel.forEach(D * chunks, concurrent: big && threads > 1) { task in
                    let d = task / chunks, part = task % chunks
                    let r0 = rows * part / chunks, r1 = rows * (part + 1) / chunks
                    let gd = g.value + d * rows * G
                    dirs[d].bias.withUnsafeBufferPointer { b in
                        for r in r0..<r1 { (gd + r * G).update(from: b.baseAddress!, count: G) }
                    }
                    guard let xp = x.value, r1 > r0 else { return }
                    GEMM.multiply(m: r1 - r0, a: xp + r0 * width, lda: width, b: dirs[d].wih,
                                  c: gd + r0 * G, ldc: G, accumulate: true)
                }
            }
            output.withUnsafeMutableBufferPointer { yBuf in
                hN.withUnsafeMutableBufferPointer { hnBuf in
                    cN.withUnsafeMutableBufferPointer { cnBuf in
                        let g = UncheckedBox(UnsafePointer(gBuf.baseAddress!))
                        let y = UncheckedBox(yBuf.baseAddress!)
                        let hn = UncheckedBox(hnBuf.baseAddress!), cn = UncheckedBox(cnBuf.baseAddress!)
                        let chunks = Swift.max(1, Swift.min(N, threads / D))
                        Parallel.forEach(D * chunks, concurrent: big && threads > 1) { task in
                            let d = task / chunks, part = task % chunks
                            let b0 = N * part / chunks, b1 = N * (part + 1) / chunks
                            guard b1 > b0 else { return }
                            recurrence(layer: k, direction: d, batchRange: b0..<b1, steps: S, batch: N,
                                       gates: g.value + d * rows * G, h0: h0, c0: c0, lengths: lengths,
                                       output: y.value, hN: hn.value, cN: cn.value)
                        }
                    }
                }
            }
        }
    }

    /// Runs one direction over batch rows `batchRange`, writing its columns of `output` and its rows of hN / cN.
    private func recurrence(layer k: Int, direction d: Int, batchRange: Range<Int>, steps S: Int, batch N: Int,
                            gates: UnsafePointer<T>, h0: [T]?, c0: [T]?, lengths: [Int]?,
                            output: UnsafeMutablePointer<T>, hN: UnsafeMutablePointer<T>, cN: UnsafeMutablePointer<T>) {
        let H = hidden, R = outputSize, D = directions, G = 4 * H
        let w = layers[k][d]
        let b0 = batchRange.lowerBound, nb = batchRange.count
        let state = (k * D + d) * N
        let ldy = D * R

        let h = UnsafeMutablePointer<T>.allocate(capacity: nb * R)
        let c = UnsafeMutablePointer<T>.allocate(capacity: nb * H)
        let gbuf = UnsafeMutablePointer<T>.allocate(capacity: nb * G)
        let hfull = UnsafeMutablePointer<T>.allocate(capacity: nb * H)
        let hbuf = UnsafeMutablePointer<T>.allocate(capacity: nb * R)
        let cbuf = UnsafeMutablePointer<T>.allocate(capacity: nb * H)
        let scratch = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(H, 1))
        defer {
            h.deallocate(); c.deallocate(); gbuf.deallocate(); hfull.deallocate()
            hbuf.deallocate(); cbuf.deallocate(); scratch.deallocate()
        }
        if let h0 { h0.withUnsafeBufferPointer { h.initialize(from: $0.baseAddress! + (state + b0) * R, count: nb * R) } }
        else { h.initialize(repeating: 0, count: nb * R) }
        if let c0 { c0.withUnsafeBufferPointer { c.initialize(from: $0.baseAddress! + (state + b0) * H, count: nb * H) } }
        else { c.initialize(repeating: 0, count: nb * H) }

        if let lengths {
            var active = [Int](), times = [Int]()
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
                let na = active.count
                for (a, r) in active.enumerated() {
                    (gbuf + a * G).update(from: gates + (times[a] * N + b0 + r) * G, count: G)
                    (hbuf + a * R).update(from: h + r * R, count: R)
                    (cbuf + a * H).update(from: c + r * H, count: H)
                }
                step(w, rows: na, gates: gbuf, h: hbuf, c: cbuf, hfull: hfull, scratch: scratch)
                for (a, r) in active.enumerated() {
                    (h + r * R).update(from: hbuf + a * R, count: R)
                    (c + r * H).update(from: cbuf + a * H, count: H)
                    (output + (times[a] * N + b0 + r) * ldy + d * R).update(from: hbuf + a * R, count: R)
                }
            }
            for r in 0..<nb where lengths[b0 + r] == 0 {
                (h + r * R).update(repeating: 0, count: R)
                (c + r * H).update(repeating: 0, count: H)
            }
        } else {
            for s in 0..<S {
                let t = w.reverse ? S - 1 - s : s
                let rowGates = gbuf
                rowGates.update(from: gates + (t * N + b0) * G, count: nb * G)
                step(w, rows: nb, gates: rowGates, h: h, c: c, hfull: hfull, scratch: scratch)
                for r in 0..<nb {
                    (output + (t * N + b0 + r) * ldy + d * R).update(from: h + r * R, count: R)
                }
            }
        }
        (hN + (state + b0) * R).update(from: h, count: nb * R)
        (cN + (state + b0) * H).update(from: c, count: nb * H)
    }

    /// One recurrent step for `rows` contiguous rows: gates += h·W_hhᵀ, gate pass, projection; h and c updated in place.
    @inline(__always)
    private func step(_ w: PreparedDirection<T>, rows: Int, gates: UnsafeMutablePointer<T>, h: UnsafeMutablePointer<T>,
                      c: UnsafeMutablePointer<T>, hfull: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>) {
        let H = hidden, R = outputSize
        GEMM.multiply(m: rows, a: h, lda: R, b: w.whh, c: gates, ldc: 4 * H, accumulate: true)
        if let whr = w.whr {
            GateStep.apply(rows: rows, hidden: H, gates: gates, c: c, h: hfull, ldh: H,
                           spec: w.spec, peepholes: w.peepholes, scratch: scratch)
            GEMM.multiply(m: rows, a: hfull, lda: H, b: whr, c: h, ldc: R, accumulate: false)
        } else {
            GateStep.apply(rows: rows, hidden: H, gates: gates, c: c, h: h, ldh: R,
                           spec: w.spec, peepholes: w.peepholes, scratch: scratch)
        }
    }
}
