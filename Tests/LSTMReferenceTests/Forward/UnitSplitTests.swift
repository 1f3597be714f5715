import CLSTMKernels
import Glibc
import LSTMSchema
import Testing
import TensorFormats
@testable import LSTMReference

/// ``UnitSplitRecurrence``: splitting a direction's hidden units over threads (a barrier per step)
/// gives one thread's numbers, whatever the number of parts and time chunks: exactly in float64
/// (scalar kernels), within rounding in float32 (the input GEMM's row split over threads changes
/// which register tiles sum a row, and so the order of its additions).
@Suite struct UnitSplitTests {
    /// A single-direction module with random weights (different per gate), H a multiple of 16.
    static func module(inputSize I: Int, hidden H: Int, layers L: Int, reverse: Bool, seed: UInt64) throws -> LSTMModule {
        var rng = SplitMix(seed: seed)
        func tensor(_ shape: [Int]) throws -> Tensor {
            try Tensor(float32: (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform() * 0.4) }, shape: shape)
        }
        var layers: [[LSTMDirectionWeights]] = []
        for k in 0..<L {
            layers.append([LSTMDirectionWeights(weightIH: try tensor([4 * H, k == 0 ? I : H]), weightHH: try tensor([4 * H, H]),
                                                biasIH: try tensor([4 * H]), biasHH: try tensor([4 * H]))])
        }
        var variant: LSTMVariant?
        if reverse {
            variant = LSTMVariant()
            variant?.direction = .reverse
        }
        return LSTMModule(name: "m", config: LSTMConfig(inputSize: I, hiddenSize: H, numLayers: L, bidirectional: false),
                          layers: layers, variant: variant)
    }

    @Test(arguments: [(16, 48, 2, false, 3), (7, 32, 1, true, 1), (5, 80, 2, false, 5)], KernelPath.supported)
    func unitSplitGivesOneThreadsNumbers(_ c: (Int, Int, Int, Bool, Int), _ kernels: KernelPath) throws {
        let (I, H, L, reverse, N) = c
        let m = try Self.module(inputSize: I, hidden: H, layers: L, reverse: reverse, seed: UInt64(H + N))
        var rng = SplitMix(seed: 7)
        let S = 11
        let x = try Tensor(float32: (0..<(S * N * I)).map { _ in Float(rng.uniform()) }, shape: [S, N, I])
        let h0 = try Tensor(float32: (0..<(L * N * H)).map { _ in Float(rng.uniform()) }, shape: [L, N, H])
        let c0 = try Tensor(float32: (0..<(L * N * H)).map { _ in Float(rng.uniform()) }, shape: [L, N, H])
        func run<T: LSTMScalar>(_: T.Type, threads: Int, chunkRows: Int, patience: Int = 200_000) throws -> LSTMOutputs {
            try LSTMForward.run(T.self, module: m, input: x, h0: h0, c0: c0, batchFirst: false, sequenceLengths: nil,
                                threads: threads, kernels: kernels, chunkRows: chunkRows, parallelMinWork: 0, unitSplitMinStepWork: 0,
                                unitSplitPatienceFloor: patience)
        }
        func check<T: LSTMScalar>(_: T.Type) throws {
            let one = try run(T.self, threads: 1, chunkRows: 512)
            // Patience 0: the split may stop at any step (whenever a wait outlasts two steps) and the
            // caller's thread finishes alone; the numbers must not depend on where.
            for (threads, chunkRows, patience) in [(2, 512, 200_000), (3, 4 * N, 200_000), (8, N, 200_000), (2, 512, 0), (2, 2 * N, 0)] {
                let split = try run(T.self, threads: threads, chunkRows: chunkRows, patience: patience)
                for (a, b) in zip(one.namedTensors, split.namedTensors) {
                    let diff = zip(a.tensor.doubles(), b.tensor.doubles()).map { abs($0 - $1) }.max() ?? 0
                    #expect(diff <= (T.self == Double.self ? 0 : 1e-6), "H \(H) N \(N) \(T.self) threads \(threads) chunkRows \(chunkRows): \(a.name) differs by up to \(diff)")
                }
            }
        }
        try check(Float.self)
        try check(Double.self)
    }
}

/// The step barrier: every thread gets the same answer in each round, and a thread that waited
/// past its patience makes that round (when it was still waiting as the last thread arrived) or
/// the next one answer "stop" for all.
@Suite struct StepBarrierTests {
    @Test func lateWaitStopsEveryThreadAtTheSameRound() throws {
        let barrier = try #require(lstmkit_barrier_create(2))
        defer { lstmkit_barrier_destroy(barrier) }
        let box = UncheckedBox(barrier)
        let answers = UnsafeMutablePointer<Int32>.allocate(capacity: 6)
        defer { answers.deallocate() }
        answers.initialize(repeating: -1, count: 6)
        let out = UncheckedBox(answers)
        let ok = Parallel.onOwnThreads(2) { p in
            for round in 0..<3 {
                // Round 1: part 1 arrives 400 ms late; part 0 (patience 50 ms) waits past its patience.
                // (Patience well above thread start-up skew on a loaded 2-core machine, so round 0 meets.)
                if round == 1 && p == 1 { usleep(400_000) }
                out.value[p * 3 + round] = lstmkit_barrier_wait(box.value, 50_000_000)
            }
        }
        #expect(ok)
        // Each round answers both threads alike; the late wait (during round 1) stops round 1 or 2.
        for round in 0..<3 { #expect(answers[round] == answers[3 + round], "round \(round)") }
        #expect(answers[0] == 0)
        #expect(answers[2] == 1)
        #expect(lstmkit_barrier_stopped(barrier) == 1)
    }
}
