import CLSTMKernels

/// The recurrence of a single direction with its hidden units split into parts that threads
/// compute step by step, all of a step's parts before any of the next.
///
/// Part p holds units u0 ..< u1 (whole 16-column panels, so H % 16 == 0). Per step t it
///
///     G_t[:, q·H + u0 ..< q·H + u1] += h_{t−1} · W_hh[q·H + u0 ..< q·H + u1, :]ᵀ     (q = i, f, g, o)
///     c[:, u0..<u1], y_t[:, u0..<u1] = gate pass over its units
///
/// where G_t is the step's rows of projected gates (accumulated in place) and y_t, the step's
/// output rows, is h_t, which every part reads in the next step. Each core streams only its share
/// of W_hh per step: a wide layer's 16 MB W_hh costs each core 8 MB instead of all of it (what a
/// split by batch rows costs), and a small layer's share stays in its core's L2.
///
/// Threads take parts rather than own them (`lstmkit_step_claim`): each thread claims its own part
/// of a step first, then any part nobody has started, and waits for the step to complete. A thread
/// whose core was taken by another process (common on a shared VM) has its parts done by the
/// others and catches up when it runs again, so it costs the step only when it is preempted inside
/// a part. Waiting spins briefly, then yields.
///
/// Applies to one direction (D = 1) with PyTorch gates, no projection, no peepholes and no
/// sequence lengths (``applies(to:hidden:lengths:)``).
final class UnitSplitRecurrence<T: LSTMScalar>: @unchecked Sendable {
    private let w: PreparedDirection<T>
    private let kernels: Kernels
    private let H: Int, N: Int, stateRow: Int
    /// Panel ranges of the hidden units, one per part.
    private let parts: [Range<Int>]
    /// N × H cell states.
    private let c: UnsafeMutablePointer<T>
    /// N × H, the state before the first step.
    private let initial: UnsafeMutablePointer<T>
    /// h of the last step run: `initial` or a row block of the layer output.
    private var previous: UnsafePointer<T>
    private let claims: UnsafeMutableRawPointer
    /// Steps run on threads by earlier windows (the claims number those steps over the whole layer).
    private var stepsRun = 0
    /// Called by a thread before it claims parts of a step (thread, step number): a test hook
    /// that stalls a thread as another process taking its core would.
    private let stall: (@Sendable (Int, Int) -> Void)?

    static func applies(to w: PreparedDirection<T>, hidden H: Int, lengths: [Int]?) -> Bool {
        w.whr == nil && w.peepholes == nil && w.spec.isPyTorchDefault && lengths == nil
            && H % PackedMatrix<T>.panelWidth == 0 && H >= 2 * PackedMatrix<T>.panelWidth
    }

    /// nil when fewer than two parts are possible or the claims cannot be made.
    init?(pass: ForwardPass<T>, layer k: Int, batch N: Int, h0: [T]?, c0: [T]?) {
        let H = pass.hidden, panels = H / PackedMatrix<T>.panelWidth
        let count = Swift.min(pass.threads, panels)
        guard pass.directions == 1, count >= 2, let claims = lstmkit_step_claims_create(count) else { return nil }
        self.claims = claims
        stall = pass.unitSplitStall
        w = pass.layers[k][0]
        kernels = pass.kernels
        self.H = H
        self.N = N
        stateRow = k * N
        parts = (0..<count).map { p in (panels * p / count)..<(panels * (p + 1) / count) }
        let row = k * N * H
        let c = UnsafeMutablePointer<T>.allocate(capacity: N * H)
        let initial = UnsafeMutablePointer<T>.allocate(capacity: N * H)
        if let c0 { c0.withUnsafeBufferPointer { c.initialize(from: $0.baseAddress! + row, count: N * H) } }
        else { c.initialize(repeating: 0, count: N * H) }
        if let h0 { h0.withUnsafeBufferPointer { initial.initialize(from: $0.baseAddress! + row, count: N * H) } }
        else { initial.initialize(repeating: 0, count: N * H) }
        self.c = c
        self.initial = initial
        previous = UnsafePointer(initial)
    }

    deinit {
        c.deallocate()
        initial.deallocate()
        lstmkit_step_claims_destroy(claims)
    }

    /// Runs the steps of `window` in this direction's order. `gates` holds the window's projected
    /// gates (row (t − window.lowerBound)·N + b, 4H wide); `output` is the layer output (S, N, H).
    /// When a thread cannot be started, the caller's thread runs every part itself.
    func run(window: Range<Int>, gates: UnsafeMutablePointer<T>, output: UnsafeMutablePointer<T>) {
        guard !window.isEmpty else { return }
        let steps = window.count, G = 4 * H, N = N, H = H, first = stepsRun, parts = parts.count
        let reverse = w.reverse
        @Sendable func time(_ s: Int) -> Int { reverse ? window.upperBound - 1 - s : window.lowerBound + s }
        let start = UncheckedBox(previous), g = UncheckedBox(gates), y = UncheckedBox(output)
        let threaded = Parallel.onOwnThreads(parts) { [self] thread in
            var prev = start.value
            for s in 0..<steps {
                let t = time(s), number = first + s
                stall?(thread, number)
                for k in 0..<parts {
                    let p = (thread + k) % parts
                    guard lstmkit_step_claim(claims, number, p) != 0 else { continue }
                    step(part: p, previous: prev, gates: g.value + (t - window.lowerBound) * N * G, next: y.value + t * N * H)
                    lstmkit_step_finish(claims)
                }
                lstmkit_step_wait(claims, number)
                prev = UnsafePointer(y.value + t * N * H)
            }
        }
        if !threaded {
            var prev = previous
            for s in 0..<steps {
                let t = time(s)
                for p in 0..<parts {
                    step(part: p, previous: prev, gates: gates + (t - window.lowerBound) * N * G, next: output + t * N * H)
                }
                prev = UnsafePointer(output + t * N * H)
            }
        } else {
            stepsRun += steps
        }
        previous = UnsafePointer(output + time(steps - 1) * N * H)
    }

    /// Part p's share of one step: reads all of `previous` (N × H), writes its units of `next`.
    private func step(part p: Int, previous: UnsafePointer<T>, gates: UnsafeMutablePointer<T>, next: UnsafeMutablePointer<T>) {
        let nr = PackedMatrix<T>.panelWidth, G = 4 * H
        let panels = parts[p], u0 = panels.lowerBound * nr, count = panels.count * nr
        for q in 0..<4 {
            let first = q * H / nr + panels.lowerBound
            GEMM.multiply(m: N, a: previous, lda: H, b: w.whh, c: gates + q * H + u0, ldc: G, accumulate: true,
                          panels: first..<(first + panels.count), kernels: kernels)
        }
        GateStep.applyDefault(rows: N, count: count, stride: H, gates: gates + u0, ldg: G, c: c + u0, ldc: H,
                              h: next + u0, ldh: H, kernels: kernels)
    }

    /// Writes the final h and c into hN / cN.
    func finish(hN: UnsafeMutablePointer<T>, cN: UnsafeMutablePointer<T>) {
        (hN + stateRow * H).update(from: previous, count: N * H)
        (cN + stateRow * H).update(from: c, count: N * H)
    }
}
