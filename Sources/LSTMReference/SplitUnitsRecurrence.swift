import CLSTMKernels

/// One direction's recurrence with its hidden units split over threads, for wide unidirectional
/// layers without projection or sequence lengths.
///
/// Part p owns units j0 ..< j1 (multiples of 8): the rows i, f, g, o of W_hh for those units (a
/// quarter of each gate block, packed together so that its gate buffer is rows × 4·(j1 − j0) in
/// i, f, g, o order), their cell states and their peepholes. Each step, every part multiplies the
/// whole current h (shared, read-only during the step) by its slice of W_hhᵀ, runs the gate pass
/// on its units and writes them into the next h; a barrier ends the step and the two h buffers
/// swap. Each thread streams only its share of W_hh, which is what bounds wide layers.
final class SplitUnitsRecurrence<T: LSTMScalar>: @unchecked Sendable {
    private let H: Int, N: Int
    private let units: [Range<Int>]
    private let whh: [PackedMatrix<T>]
    private let peepholes: [Peepholes<T>?]
    private let spec: GateSpec
    private let reverse: Bool
    private let stateRow: Int
    /// h of every unit, N × H, double-buffered: `current` is read during a step, the other written.
    private var current: UnsafeMutablePointer<T>
    private var next: UnsafeMutablePointer<T>
    /// Per part: N × (j1 − j0) cell states, N × 4(j1 − j0) gates, scratch.
    private let cells: [UnsafeMutablePointer<T>]
    private let gateBuffers: [UnsafeMutablePointer<T>]
    private let scratches: [UnsafeMutablePointer<T>]
    private let barrier: UnsafeMutableRawPointer

    /// nil when the work cannot be split (fewer than two parts of 8 units, or no memory for the barrier).
    init?(pass: ForwardPass<T>, layer k: Int, batch N: Int, parts: Int, h0: [T]?, c0: [T]?) {
        let H = pass.hidden
        let count = Swift.min(parts, H / 8)
        guard count >= 2, let barrier = lstmkit_barrier_create(count) else { return nil }
        self.barrier = barrier
        let w = pass.layers[k][0]
        self.H = H
        self.N = N
        spec = w.spec
        reverse = w.reverse
        stateRow = k * N
        let units = (0..<count).map { p in (H / 8 * p / count * 8)..<(p == count - 1 ? H : H / 8 * (p + 1) / count * 8) }
        self.units = units
        whh = units.map { u in w.whh.selectingRows((0..<4).flatMap { g in u.map { g * H + $0 } }) }
        peepholes = units.map { u in
            w.peepholes.map { Peepholes(i: Array($0.i[u]), o: Array($0.o[u]), f: Array($0.f[u])) }
        }
        let row = k * N
        let first = UnsafeMutablePointer<T>.allocate(capacity: N * H)
        if let h0 { h0.withUnsafeBufferPointer { first.initialize(from: $0.baseAddress! + row * H, count: N * H) } }
        else { first.initialize(repeating: 0, count: N * H) }
        current = first
        next = .allocate(capacity: N * H)
        next.initialize(repeating: 0, count: N * H)
        cells = units.map { u in
            let c = UnsafeMutablePointer<T>.allocate(capacity: N * u.count)
            for b in 0..<N {
                for (i, j) in u.enumerated() { (c + b * u.count + i).initialize(to: c0?[(k * N + b) * H + j] ?? 0) }
            }
            return c
        }
        gateBuffers = units.map { .allocate(capacity: N * 4 * $0.count) }
        scratches = units.map { .allocate(capacity: $0.count) }
    }

    deinit {
        current.deallocate()
        next.deallocate()
        for p in cells + gateBuffers + scratches { p.deallocate() }
        lstmkit_barrier_destroy(barrier)
    }

    /// Runs the steps of `window` (rows (t − window.lowerBound)·N + b of `gates` hold the projected
    /// inputs, N × 4H each), writing `output` (S, N, H): one thread per part, or all parts in turn on
    /// the calling thread when threads cannot be started.
    func run(window: Range<Int>, gates: UnsafePointer<T>, output: UnsafeMutablePointer<T>) {
        let steps = window.count
        let gatesBox = UncheckedBox(gates), outputBox = UncheckedBox(output)
        let threaded = Parallel.onOwnThreads(units.count) { [self] p in
            var cur = current, nxt = next
            for s in 0..<steps {
                step(part: p, s: s, window: window, gates: gatesBox.value, output: outputBox.value, current: cur, next: nxt)
                lstmkit_barrier_wait(barrier)
                swap(&cur, &nxt)
            }
        }
        if !threaded {
            var cur = current, nxt = next
            for s in 0..<steps {
                for p in units.indices { step(part: p, s: s, window: window, gates: gates, output: output, current: cur, next: nxt) }
                swap(&cur, &nxt)
            }
        }
        if steps % 2 == 1 { swap(&current, &next) }
    }

    /// Step `s` of the window for part `p`: reads `current` (all units), writes part p's units of `next` and `output`.
    private func step(part p: Int, s: Int, window: Range<Int>, gates: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
                      current cur: UnsafeMutablePointer<T>, next nxt: UnsafeMutablePointer<T>) {
        let u = units[p], hp = u.count, G = 4 * H, gbuf = gateBuffers[p]
        let t = reverse ? window.upperBound - 1 - s : window.lowerBound + s
        let rowBase = gates + (t - window.lowerBound) * N * G
        for b in 0..<N {
            for g in 0..<4 {
                (gbuf + b * 4 * hp + g * hp).update(from: rowBase + b * G + g * H + u.lowerBound, count: hp)
            }
        }
        GEMM.multiply(m: N, a: cur, lda: H, b: whh[p], c: gbuf, ldc: 4 * hp, accumulate: true)
        GateStep.apply(rows: N, hidden: hp, gates: gbuf, c: cells[p], h: nxt + u.lowerBound, ldh: H,
                       spec: spec, peepholes: peepholes[p], scratch: scratches[p])
        for b in 0..<N {
            (output + (t * N + b) * H + u.lowerBound).update(from: nxt + b * H + u.lowerBound, count: hp)
        }
    }

    /// Writes the final h and c into hN / cN.
    func finish(hN: UnsafeMutablePointer<T>, cN: UnsafeMutablePointer<T>) {
        (hN + stateRow * H).update(from: current, count: N * H)
        for (p, u) in units.enumerated() {
            for b in 0..<N {
                (cN + (stateRow + b) * H + u.lowerBound).update(from: cells[p] + b * u.count, count: u.count)
            }
        }
    }
}
