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
        func run<T: LSTMScalar>(_: T.Type, threads: Int, chunkRows: Int,
                                stall: (@Sendable (Int, Int) -> Void)? = nil) throws -> LSTMOutputs {
            try LSTMForward.run(T.self, module: m, input: x, h0: h0, c0: c0, batchFirst: false, sequenceLengths: nil,
                                threads: threads, kernels: kernels, chunkRows: chunkRows, parallelMinWork: 0, unitSplitMinStepWork: 0,
                                unitSplitStall: stall)
        }
        func check<T: LSTMScalar>(_: T.Type) throws {
            let one = try run(T.self, threads: 1, chunkRows: 512)
            // Stalled threads (as when another process takes a core) have their parts taken by the
            // others; the numbers must not depend on who computed which part.
            let late: @Sendable (Int, Int) -> Void = { thread, step in if thread == 1 && step % 3 == 1 { usleep(3000) } }
            let callerLate: @Sendable (Int, Int) -> Void = { thread, step in if thread == 0 && step == 4 { usleep(5000) } }
            for (threads, chunkRows, stall) in [(2, 512, nil), (3, 4 * N, nil), (8, N, nil), (2, 512, late), (3, 2 * N, late),
                                                (2, 3 * N, callerLate)] as [(Int, Int, (@Sendable (Int, Int) -> Void)?)] {
                let split = try run(T.self, threads: threads, chunkRows: chunkRows, stall: stall)
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

/// The step claims: every part of every step is computed exactly once, a stalled thread's parts
/// are taken by the others, and no step starts before the previous one is complete.
@Suite struct StepClaimsTests {
    @Test func stalledThreadsPartsAreTakenAndEachPartRunsOnce() throws {
        let parts = 3, steps = 40
        let claims = try #require(lstmkit_step_claims_create(parts))
        defer { lstmkit_step_claims_destroy(claims) }
        let box = UncheckedBox(claims)
        // owner[s·parts + p]: the thread that computed part p of step s; finished[s]: parts of step s
        // seen finished by whoever starts step s + 1.
        let owner = UnsafeMutablePointer<Int>.allocate(capacity: steps * parts)
        let record = UncheckedBox(owner)
        defer { owner.deallocate() }
        owner.initialize(repeating: -1, count: steps * parts)
        let problem = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { problem.deallocate() }
        problem.initialize(to: 0)
        let problems = UncheckedBox(problem)
        let ok = Parallel.onOwnThreads(parts) { thread in
            for s in 0..<steps {
                if thread == 2 && (10..<20).contains(s) { usleep(2000) }   // thread 2 loses its core for ten steps
                if s > 0 {
                    for p in 0..<parts where record.value[(s - 1) * parts + p] < 0 { problems.value.pointee += 1 }
                }
                for k in 0..<parts {
                    let p = (thread + k) % parts
                    guard lstmkit_step_claim(box.value, Int(s), Int(p)) != 0 else { continue }
                    if record.value[s * parts + p] != -1 { problems.value.pointee += 1 }
                    record.value[s * parts + p] = thread
                    lstmkit_step_finish(box.value)
                }
                lstmkit_step_wait(box.value, Int(s))
            }
        }
        #expect(ok)
        #expect((0..<(steps * parts)).allSatisfy { owner[$0] >= 0 })
        // While thread 2 sleeps, its part is computed by the others.
        #expect((11..<20).contains { owner[$0 * parts + 2] != 2 }, "\((0..<steps).map { owner[$0 * parts + 2] })")
        #expect(problems.value.pointee == 0, "a step began early or a part was claimed twice")
    }
}
