import LSTMSchema
import Testing
import TensorFormats
@testable import LSTMReference

/// Layout, threading and input-checking contracts of ``LSTMForward``.
@Suite struct ForwardContractTests {
    static func load(_ name: String) throws -> (LSTMModule, Golden) {
        let c = try #require(ReferenceUnitCase.named(name))
        let tensors = try c.tensors()
        return (try c.module(tensors), try Golden(tensors: tensors))
    }

    @Test(arguments: ["l2_bi_threads_n16", "l1_uni_threads_n16", "l3_bi_proj_h0c0", "l2_bi_packed"])
    func oneThreadAndTwoThreadsAgree(_ name: String) throws {
        let (m, g) = try Self.load(name)
        let one = try g.run(module: m, threads: 1), two = try g.run(module: m, threads: 2), many = try g.run(module: m, threads: 5)
        for (a, b) in [(one, two), (one, many)] {
            for (x, y) in zip(a.namedTensors, b.namedTensors) {
                let r = ToleranceComparison(name: x.name, actual: y.tensor, expected: x.tensor, tolerance: Tolerance(rtol: 1e-6, atol: 1e-7))
                #expect(r.passed, "\(name) \(x.name): \(r.maxAbsError)")
            }
        }
    }

    /// Time chunks of one, a few and all steps give the golden's numbers.
    @Test(arguments: ["l2_bi_long_220", "l3_bi_proj_h0c0", "l1_batch7_h20", "l1_nobias_batch_first_h0c0"])
    func timeChunksDoNotChangeResults(_ name: String) throws {
        let c = try #require(ReferenceUnitCase.named(name))
        let tensors = try c.tensors()
        let m = try c.module(tensors), g = try Golden(tensors: tensors)
        for chunkRows in [1, 7, 64, 1 << 20] {
            for threads in [1, 2] {
                let out = try LSTMForward.run(Float.self, module: m, input: g.input, h0: g.h0, c0: g.c0, batchFirst: g.batchFirst,
                                              sequenceLengths: nil, threads: threads, chunkRows: chunkRows)
                for (a, e) in zip(out.namedTensors, [g.output, g.hN, g.cN]) {
                    let r = ToleranceComparison(name: a.name, actual: a.tensor, expected: e, tolerance: .float32)
                    #expect(r.passed, "\(name) chunkRows \(chunkRows) threads \(threads) \(a.name): \(r.maxAbsError)")
                }
            }
        }
    }

    /// Every case, forced onto two threads (directions, batch rows, or hidden units with a barrier
    /// per step where the layer allows it) with several time chunkings, gives the golden's numbers
    /// on every kernel path this CPU runs.
    @Test(arguments: ReferenceUnitCase.all, KernelPath.supported)
    func forcedThreadingGivesTheGolden(_ c: ReferenceUnitCase, _ kernels: KernelPath) throws {
        let tensors = try c.tensors()
        let m = try c.module(tensors), g = try Golden(tensors: tensors)
        guard g.family == .pytorch else {
            // ONNX node goldens go through Golden's layout conversion; run the layer itself on time-major data.
            let layout = ONNXNodeLayout(batchMajor: g.batchFirst)
            for chunkRows in [3, 512] {
                let out = try LSTMForward.run(Float.self, module: m, input: g.input, h0: try g.h0.map(layout.stateToPyTorch),
                                              c0: try g.c0.map(layout.stateToPyTorch), batchFirst: g.batchFirst,
                                              sequenceLengths: g.sequenceLengths, threads: 2, kernels: kernels,
                                              chunkRows: chunkRows, parallelMinWork: 0, unitSplitMinStepWork: 0)
                let y = try layout.outputFromPyTorch(out.output, directions: m.config.numDirections)
                for (a, e, name) in [(y, g.output, "output"), (try layout.stateFromPyTorch(out.hN), g.hN, "h_n"),
                                     (try layout.stateFromPyTorch(out.cN), g.cN, "c_n")] {
                    let r = ToleranceComparison(name: name, actual: a, expected: e, tolerance: .float32)
                    #expect(r.passed, "\(c.name) \(kernels) chunkRows \(chunkRows) \(name): \(r.maxAbsError)")
                }
            }
            return
        }
        for chunkRows in [3, 512] {
            let out = try LSTMForward.run(Float.self, module: m, input: g.input, h0: g.h0, c0: g.c0, batchFirst: g.batchFirst,
                                          sequenceLengths: g.sequenceLengths, threads: 2, kernels: kernels,
                                          chunkRows: chunkRows, parallelMinWork: 0, unitSplitMinStepWork: 0)
            let tol = g.defaultTolerance(moduleDType: m.config.dtype)
            for (a, e) in zip(out.namedTensors, [g.output, g.hN, g.cN]) {
                let r = ToleranceComparison(name: a.name, actual: a.tensor, expected: e, tolerance: tol)
                #expect(r.passed, "\(c.name) \(kernels) chunkRows \(chunkRows) \(a.name): \(r.maxAbsError)")
            }
        }
    }

    @Test func batchFirstOnlyTransposesInputAndOutput() throws {
        let (m, g) = try Self.load("l2_bi_h0c0")
        let timeMajor = try LSTMForward.run(module: m, input: g.input, h0: g.h0, c0: g.c0)
        let batchMajor = try LSTMForward.run(module: m, input: try g.input.swappingAxes(0, 1), h0: g.h0, c0: g.c0, batchFirst: true)
        #expect(batchMajor.output.shape == [4, 9, 32])
        #expect(try batchMajor.output.swappingAxes(0, 1).floats() == timeMajor.output.floats())
        #expect(batchMajor.hN.floats() == timeMajor.hN.floats())
        #expect(batchMajor.cN.floats() == timeMajor.cN.floats())
    }

    @Test func unbatchedInputMatchesBatchOfOne() throws {
        let (m, g) = try Self.load("l3_bi_proj_h0c0")
        let S = g.input.shape[0], I = g.input.shape[2]
        let x = Array(g.input.floats().enumerated().filter { ($0.offset / I) % 2 == 0 }.map(\.element))
        let h = g.h0!.floats(), c = g.c0!.floats()
        let h1 = Array(h.enumerated().filter { ($0.offset / 5) % 2 == 0 }.map(\.element))
        let c1 = Array(c.enumerated().filter { ($0.offset / 12) % 2 == 0 }.map(\.element))
        let unbatched = try LSTMForward.run(module: m, input: try Tensor(float32: x, shape: [S, I]),
                                            h0: try Tensor(float32: h1, shape: [6, 5]), c0: try Tensor(float32: c1, shape: [6, 12]))
        let batched = try LSTMForward.run(module: m, input: try Tensor(float32: x, shape: [S, 1, I]),
                                          h0: try Tensor(float32: h1, shape: [6, 1, 5]), c0: try Tensor(float32: c1, shape: [6, 1, 12]))
        #expect(unbatched.output.shape == [S, 10] && unbatched.hN.shape == [6, 5] && unbatched.cN.shape == [6, 12])
        #expect(unbatched.output.floats() == batched.output.floats())
        #expect(unbatched.hN.floats() == batched.hN.floats())
        // and batch row 0 of the golden agrees with the unbatched run
        let row0 = Array(g.output.floats().enumerated().filter { ($0.offset / 10) % 2 == 0 }.map(\.element))
        #expect(ToleranceComparison(name: "output", actual: unbatched.output.floats(), actualShape: [S, 10], expected: row0,
                                    expectedShape: [S, 10], tolerance: .float32).passed)
    }

    @Test func float64PrecisionReturnsDoubles() throws {
        let (m, g) = try Self.load("l1_uni")
        let out = try g.run(module: m, precision: .float64)
        #expect(out.output.dtype == .float64 && out.hN.dtype == .float64 && out.cN.dtype == .float64)
        #expect(try g.run(module: m).output.dtype == .float32)
    }

    /// The forward pass's errors name the argument at fault (for the module: the weight).
    @Test func badShapesThrowNamingTheTensor() throws {
        let (m, g) = try Self.load("l2_bi_h0c0")
        func entry(_ body: () throws -> Void) -> String? {
            do { try body() } catch let error as ForwardError {
                return error.argument == .module ? error.tensor : error.argument.rawValue
            } catch { return "not a ForwardError" }
            return "no error"
        }
        #expect(entry { _ = try LSTMForward.run(module: m, input: try Tensor(float32: [Float](repeating: 0, count: 12), shape: [2, 2, 3])) } == "input")
        #expect(entry { _ = try LSTMForward.run(module: m, input: try Tensor(float32: [1, 2], shape: [2])) } == "input")
        let (p, pg) = try Self.load("l3_bi_proj_h0c0")
        #expect(entry { _ = try LSTMForward.run(module: p, input: pg.input, h0: pg.c0) } == "h0")
        #expect(entry { _ = try LSTMForward.run(module: p, input: pg.input, c0: pg.h0) } == "c0")
        #expect(entry { _ = try LSTMForward.run(module: m, input: g.input, sequenceLengths: [1, 2, 3, 10]) } == "sequence_lens")
        #expect(entry { _ = try LSTMForward.run(module: m, input: g.input, sequenceLengths: [1, 2]) } == "sequence_lens")
        var broken = m
        broken.layers[1][1].weightHH = try Tensor(float32: [Float](repeating: 0, count: 64 * 15), shape: [64, 15])
        #expect(entry { _ = try LSTMForward.run(module: broken, input: g.input) } == "weight_hh_l1_reverse")
        var missing = m
        missing.layers.removeLast()
        #expect(entry { _ = try LSTMForward.run(module: missing, input: g.input) } == nil)
        let ints = try Tensor(int64: [Int64](repeating: 0, count: 9 * 4 * 8), shape: [9, 4, 8])
        #expect(entry { _ = try LSTMForward.run(module: m, input: ints) } == "input")
    }

    @Test func workingMemoryIsCappedBeforeAllocation() throws {
        let cfg = LSTMConfig(inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true)
        let budget = MemoryBudget(limit: 16 << 30)
        #expect(throws: Never.self) {
            let held = try LSTMForward.checkWorkingMemory(Float.self, config: cfg, steps: 100, batch: 4, chunkRows: 512, chunked: true,
                                                          budget: budget)
            #expect(budget.heldBytes == held.bytes && held.bytes > 0)
        }
        #expect(budget.heldBytes == 0)
        #expect(throws: ForwardError.self) {
            _ = try LSTMForward.checkWorkingMemory(Float.self, config: cfg, steps: 1 << 30, batch: 64, chunkRows: 512, chunked: true,
                                               budget: budget)
        }
        // Sizes that overflow Int are over the limit, not a trap.
        let hostile = LSTMConfig(inputSize: 8, hiddenSize: Int.max / 3, numLayers: 1)
        #expect(throws: ForwardError.self) {
            _ = try LSTMForward.checkWorkingMemory(Float.self, config: hostile, steps: 2, batch: 2, chunkRows: 512, chunked: true,
                                               budget: budget)
        }
        // The public entry point applies it.
        let (m, g) = try Self.load("l1_uni")
        var small = Limits.default
        small.memory = MemoryBudget(limit: 1000)
        #expect(throws: ForwardError.self) {
            _ = try LSTMForward.run(Float.self, module: m, input: g.input, h0: nil, c0: nil, batchFirst: false,
                                    sequenceLengths: nil, threads: 1, limits: small)
        }
    }

    @Test func onnxNodeGoldenNeedsOneLayer() throws {
        let (m, _) = try Self.load("l2_bi_h0c0")
        let (_, onnxGolden) = try Self.load("onnx_bi_peephole")
        #expect(onnxGolden.family == .onnxNode)
        #expect(throws: ForwardError.self) { try onnxGolden.verify(module: m) }
    }

    @Test func goldenWithoutOutputIsRejected() throws {
        let input = try Tensor(float32: [0, 0], shape: [1, 1, 2])
        #expect(throws: FormatError.self) { try Golden(tensors: [NamedTensor(name: "input", tensor: input)]) }
    }

    @Test func zeroLengthSequenceAndEmptyBatch() throws {
        let (m, g) = try Self.load("l1_uni")
        let empty = try LSTMForward.run(module: m, input: try Tensor(float32: [], shape: [0, 3, 5]), h0: try g.h0.map { $0 } ?? nil)
        #expect(empty.output.shape == [0, 3, 7] && empty.hN.shape == [1, 3, 7])
        #expect(empty.hN.floats().allSatisfy { $0 == 0 })
        let noBatch = try LSTMForward.run(module: m, input: try Tensor(float32: [], shape: [4, 0, 5]))
        #expect(noBatch.output.shape == [4, 0, 7] && noBatch.cN.shape == [1, 0, 7])
    }
}
