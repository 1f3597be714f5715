import CLSTMKernels
import Dispatch

/// The recurrence of a single direction with its hidden units split over threads that meet at a
/// barrier after every step.
///
/// Part p owns units u0 ..< u1 (whole 16-column panels, so H % 16 == 0). Per step t it
///
///     G_t[:, q·H + u0 ..< q·H + u1] += h_{t−1} · W_hh[q·H + u0 ..< q·H + u1, :]ᵀ     (q = i, f, g, o)
///     c[:, u0..<u1], y_t[:, u0..<u1] = gate pass over its units
///
/// where G_t is the step's rows of projected gates (accumulated in place) and y_t, the step's
/// output rows, is h_t, which every part reads in the next step. Each core streams only its share
/// of W_hh per step: a wide layer's 16 MB W_hh costs each core 8 MB instead of all of it (what a
/// split by batch rows costs), and a small layer's share stays in its core's L2. The barrier spins
/// briefly, then yields, so a core taken by another process delays the step but does not burn it.
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
    private let barrier: UnsafeMutableRawPointer
    /// Least patience at the barrier, ns (``patience(stepNanoseconds:)``).
    private let patienceFloor: Int

    static func applies(to w: PreparedDirection<T>, hidden H: Int, lengths: [Int]?) -> Bool {
        w.whr == nil && w.peepholes == nil && w.spec.isPyTorchDefault && lengths == nil
            && H % PackedMatrix<T>.panelWidth == 0 && H >= 2 * PackedMatrix<T>.panelWidth
    }

    /// nil when fewer than two parts are possible or the barrier cannot be made.
    init?(pass: ForwardPass<T>, layer k: Int, batch N: Int, h0: [T]?, c0: [T]?) {
        let H = pass.hidden, panels = H / PackedMatrix<T>.panelWidth
        let count = Swift.min(pass.threads, panels)
        guard pass.directions == 1, count >= 2, let barrier = lstmkit_barrier_create(count) else { return nil }
        self.barrier = barrier
        patienceFloor = pass.unitSplitPatienceFloor
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
        lstmkit_barrier_destroy(barrier)
    }

    /// Runs the steps of `window` in this direction's order. `gates` holds the window's projected
    /// gates (row (t − window.lowerBound)·N + b, 4H wide); `output` is the layer output (S, N, H).
    ///
    /// When a thread waits at the barrier longer than the patience (another process took its
    /// partner's core), every thread stops after the same step and the caller's thread finishes the
    /// layer alone: a step shared with a descheduled core would cost a scheduler time slice.
    func run(window: Range<Int>, gates: UnsafeMutablePointer<T>, output: UnsafeMutablePointer<T>) {
        guard !window.isEmpty else { return }
        let steps = window.count, G = 4 * H, N = N, H = H
        let reverse = w.reverse
        @Sendable func time(_ s: Int) -> Int { reverse ? window.upperBound - 1 - s : window.lowerBound + s }
        let start = UncheckedBox(previous), g = UncheckedBox(gates), y = UncheckedBox(output)
        let shared = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { shared.deallocate() }
        shared.initialize(to: 0)
        let done = UncheckedBox(shared)
        var threaded = false
        if lstmkit_barrier_stopped(barrier) == 0 {
            threaded = Parallel.onOwnThreads(parts.count) { [self] p in
                var prev = start.value
                var s = 0
                while s < steps {
                    let t = time(s)
                    let began = DispatchTime.now().uptimeNanoseconds
                    step(part: p, previous: prev, gates: g.value + (t - window.lowerBound) * N * G, next: y.value + t * N * H)
                    let took = DispatchTime.now().uptimeNanoseconds - began
                    prev = UnsafePointer(y.value + t * N * H)
                    s += 1
                    if lstmkit_barrier_wait(barrier, patience(stepNanoseconds: took)) != 0 { break }
                }
                if p == 0 { done.value.pointee = s }
            }
        }
        var prev = threaded && shared.pointee > 0 ? UnsafePointer(output + time(shared.pointee - 1) * N * H) : previous
        for s in (threaded ? shared.pointee : 0)..<steps {
            let t = time(s)
            for p in parts.indices {
                step(part: p, previous: prev, gates: gates + (t - window.lowerBound) * N * G, next: output + t * N * H)
            }
            prev = UnsafePointer(output + t * N * H)
        }
        previous = UnsafePointer(output + time(steps - 1) * N * H)
    }

    /// How long a thread waits for its partners before the threads stop sharing steps: twice its
    /// own step, and at least the floor (0.2 ms by default: far above the imbalance of a quiet
    /// machine, far below a scheduler time slice).
    func patience(stepNanoseconds: UInt64) -> Int {
        Swift.max(patienceFloor, 2 * Int(clamping: stepNanoseconds))
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
