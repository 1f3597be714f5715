import LSTMSchema
import Testing
import TensorFormats
@testable import LSTMReference

/// ``LSTMOracle`` (the equations, float64) against the goldens of real torch / onnxruntime / onnx,
/// and the fast pass against the oracle on random configurations.
@Suite struct OracleTests {
    /// Every golden case passes through the oracle with the golden's default tolerance.
    @Test(arguments: ReferenceUnitCase.all)
    func oracleReproducesEveryGolden(_ c: ReferenceUnitCase) throws {
        let tensors = try c.tensors()
        let golden = try Golden(tensors: tensors)
        for r in try golden.verify(module: try c.module(tensors), pass: .oracle) {
            #expect(r.passed, "\(c.name) \(r.name): max abs \(r.maxAbsError) at \(r.worstIndex)")
        }
    }

    /// One random configuration: shapes, options and ONNX extras drawn from a seed.
    struct Case: CustomTestStringConvertible, Sendable {
        var seed: UInt64
        var testDescription: String { "seed \(seed)" }
    }

    static let cases = (1...24).map { Case(seed: UInt64($0)) }

    /// The fast pass in float64 equals the oracle to 1e-10, and in float32 within float32's tolerance,
    /// for random sizes, layers, directions, projection, bias, batch_first, sequence lengths, initial
    /// states and (seeds ≡ 0 mod 3, single layer) ONNX peepholes, clip, input_forget and reverse-only.
    @Test(arguments: cases)
    func fastPassAgreesWithTheOracle(_ c: Case) throws {
        var rng = SeededNormal(seed: c.seed)
        var pick = SplitDraw(seed: c.seed)
        let onnxExtras = c.seed % 3 == 0
        let I = pick.int(1...9), H = pick.int(1...12)
        let L = onnxExtras ? 1 : pick.int(1...3)
        let bidirectional = pick.bool()
        let proj = !onnxExtras && pick.bool() ? pick.int(1...H) : 0
        let bias = pick.bool(), batchFirst = pick.bool()
        let S = pick.int(1...9), N = pick.int(1...4)
        let config = LSTMConfig(inputSize: I, hiddenSize: H, numLayers: L, bidirectional: bidirectional,
                                projSize: proj, bias: bias)
        let D = config.numDirections, R = config.outputSize
        func tensor(_ shape: [Int]) throws -> Tensor {
            try Tensor(float32: rng.values(shape.reduce(1, *)).map { $0 * 0.5 }, shape: shape)
        }
        var layers: [[LSTMDirectionWeights]] = []
        for k in 0..<L {
            layers.append(try (0..<D).map { _ in
                var w = LSTMDirectionWeights(weightIH: try tensor([4 * H, config.layerInputSize(k)]), weightHH: try tensor([4 * H, R]))
                if bias { w.biasIH = try tensor([4 * H]); w.biasHH = try tensor([4 * H]) }
                if proj > 0 { w.weightHR = try tensor([proj, H]) }
                if onnxExtras { w.peephole = try tensor([3 * H]) }
                return w
            })
        }
        var variant: LSTMVariant?
        if onnxExtras {
            var v = LSTMVariant()
            v.direction = bidirectional ? .bidirectional : (pick.bool() ? .reverse : .forward)
            v.hasPeepholes = true
            v.clip = pick.bool() ? 1.5 : nil
            v.inputForget = pick.bool()
            variant = v
        }
        let module = LSTMModule(name: "m", config: config, layers: layers, variant: variant)
        let input = try tensor(batchFirst ? [N, S, I] : [S, N, I])
        let h0 = pick.bool() ? try tensor([L * D, N, R]) : nil
        let c0 = h0 == nil ? nil : try tensor([L * D, N, H])
        let lengths: [Int]? = pick.bool() ? (0..<N).map { _ in pick.int(0...S) } : nil

        let oracle = try LSTMOracle.run(module: module, input: input, h0: h0, c0: c0, batchFirst: batchFirst, sequenceLengths: lengths)
        for (precision, tol) in [(Precision.float64, Tolerance(rtol: 1e-10, atol: 1e-12)), (.float32, Tolerance.float32)] {
            let fast = try LSTMForward.run(module: module, input: input, h0: h0, c0: c0, batchFirst: batchFirst,
                                           precision: precision, sequenceLengths: lengths)
            for (a, e) in zip(fast.namedTensors, oracle.namedTensors) {
                #expect(a.tensor.shape == e.tensor.shape, "\(c.testDescription) \(a.name)")
                let r = ToleranceComparison(name: a.name, actual: a.tensor, expected: e.tensor, tolerance: tol)
                #expect(r.passed, "\(c.testDescription) \(config) \(precision) \(a.name): max abs \(r.maxAbsError) at \(r.worstIndex)")
            }
        }
    }

    /// The oracle can fail: a module with two gate blocks swapped does not reproduce a golden.
    @Test func oracleDetectsSwappedGates() throws {
        let c = try #require(ReferenceUnitCase.named("l3_bi_proj_h0c0"))
        let tensors = try c.tensors()
        var module = try c.module(tensors)
        let w = module.layers[0][0].weightIH
        let H = module.config.hiddenSize, cols = w.shape[1]
        var v = w.floats()
        for j in 0..<(H * cols) { v.swapAt(j, H * cols + j) }  // i ↔ f
        module.layers[0][0].weightIH = try Tensor(float32: v, shape: w.shape)
        let results = try Golden(tensors: tensors).verify(module: module, pass: .oracle)
        #expect(results.contains { !$0.passed })
    }
}

/// Small integers and booleans from a seed (SplitMix64), for drawing test configurations.
struct SplitDraw {
    private var state: UInt64
    init(seed: UInt64) { state = seed &* 0x2545_F491_4F6C_DD1D }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func bool() -> Bool { next() & 1 == 1 }
}
