import LSTMSchema
import Testing
import TensorFormats
@testable import LSTMReference

/// The golden vectors of `onnx-lstm.md` §1.10 (onnxruntime 1.32; S = 3, N = 2, I = 2, H = 2, inputs
/// from float64 linspace cast to float32, B, initial_h and initial_c given in every case).
@Suite struct ONNXSpecVectorTests {
    static func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Float] {
        (0..<n).map { Float(a + (b - a) * Double($0) / Double(n - 1)) }
    }

    /// Rows of ONNX gate blocks i, o, f, c → PyTorch's i, f, g, o.
    static func torchOrder(_ v: [Float], hidden H: Int) -> [Float] {
        let block = v.count / 4
        return [0, 2, 3, 1].flatMap { Array(v[($0 * block)..<(($0 + 1) * block)]) }
    }

    static func module(direction: LSTMVariant.Direction, peephole: [Float]? = nil, clip: Float? = nil) throws -> LSTMModule {
        let nd = direction == .bidirectional ? 2 : 1, H = 2
        let W = linspace(-0.5, 0.6, nd * 16), R = linspace(0.4, -0.3, nd * 16), B = linspace(-0.2, 0.3, nd * 16)
        var dirs: [LSTMDirectionWeights] = []
        for d in 0..<nd {
            let w = Array(W[(d * 16)..<((d + 1) * 16)]), r = Array(R[(d * 16)..<((d + 1) * 16)])
            let b = Array(B[(d * 16)..<((d + 1) * 16)])
            dirs.append(LSTMDirectionWeights(
                weightIH: try Tensor(float32: torchOrder(w, hidden: H), shape: [8, 2]),
                weightHH: try Tensor(float32: torchOrder(r, hidden: H), shape: [8, 2]),
                biasIH: try Tensor(float32: torchOrder(Array(b[0..<8]), hidden: H), shape: [8]),
                biasHH: try Tensor(float32: torchOrder(Array(b[8..<16]), hidden: H), shape: [8]),
                peephole: try peephole.map { try Tensor(float32: Array($0[(d * 6)..<((d + 1) * 6)]), shape: [6]) }))
        }
        var f = LSTMVariant()
        f.direction = direction
        f.clip = clip
        f.hasPeepholes = peephole != nil
        return LSTMModule(name: "spec", config: LSTMConfig(inputSize: 2, hiddenSize: H, bidirectional: nd == 2),
                          layers: [dirs], variant: f)
    }

    static func check(_ module: LSTMModule, lengths: [Int]? = nil, y: [Float], yh: [Float], yc: [Float]) throws {
        let nd = module.config.numDirections
        var tensors = [NamedTensor(name: "input", tensor: try Tensor(float32: linspace(-1, 1, 12), shape: [3, 2, 2])),
                       NamedTensor(name: "h0", tensor: try Tensor(float32: linspace(0.1, -0.1, nd * 4), shape: [nd, 2, 2])),
                       NamedTensor(name: "c0", tensor: try Tensor(float32: linspace(-0.3, 0.2, nd * 4), shape: [nd, 2, 2])),
                       NamedTensor(name: "output", tensor: try Tensor(float32: y, shape: [3, nd, 2, 2])),
                       NamedTensor(name: "h_n", tensor: try Tensor(float32: yh, shape: [nd, 2, 2])),
                       NamedTensor(name: "c_n", tensor: try Tensor(float32: yc, shape: [nd, 2, 2]))]
        if let lengths {
            tensors.append(NamedTensor(name: "sequence_lens", tensor: try Tensor(int64: lengths.map(Int64.init), shape: [2])))
        }
        // The note prints 7 significant digits; compare at 1e-6 as it advises.
        for r in try Golden(tensors: tensors).verify(module: module, tolerance: Tolerance(rtol: 1e-6, atol: 1e-6)) {
            #expect(r.passed, "\(r.name): max abs \(r.maxAbsError) at \(r.worstIndex)")
        }
    }

    @Test func forwardWithBiasAndState() throws {
        try Self.check(try Self.module(direction: .forward),
                       y: [-0.2530856, -0.2240849, -0.03942, -0.01773008, -0.07198482, -0.0588978, 0.06377289, 0.1065985,
                           0.05821283, 0.1118546, 0.1249841, 0.2152604],
                       yh: [0.05821283, 0.1118546, 0.1249841, 0.2152604],
                       yc: [0.1303293, 0.22352, 0.2973453, 0.4486215])
    }

    @Test func bidirectionalWithSequenceLengths() throws {
        try Self.check(try Self.module(direction: .bidirectional), lengths: [3, 1],
                       y: [-0.08357903, -0.09269159, -0.0464632, -0.0391924, -0.06851504, -0.07198145, 0.01283479, 0.02021449,
                           -0.04608802, -0.04852637, 0, 0, 0.1587731, 0.1760135, 0, 0,
                           -0.02985317, -0.02120473, 0, 0, 0.262969, 0.3246911, 0, 0],
                       yh: [-0.02985317, -0.02120473, -0.0464632, -0.0391924, -0.06851504, -0.07198145, 0.01283479, 0.02021449],
                       yc: [-0.08459699, -0.05583194, -0.08526926, -0.0734762, -0.1469567, -0.164381, 0.02473633, 0.03968641])
    }

    @Test func reverseWithPeepholesAndClip() throws {
        try Self.check(try Self.module(direction: .reverse, peephole: Self.linspace(0.5, -0.5, 6), clip: 1.0),
                       y: [-0.1633475, -0.1729484, -0.01138986, -0.0238596, 0.03251673, 0.08064099, 0.1424574, 0.2057016,
                           0.009403948, 0.1033538, 0.09372969, 0.1869662],
                       yh: [-0.1633475, -0.1729484, -0.01138986, -0.0238596],
                       yc: [-0.2915013, -0.3322079, -0.0202208, -0.04472674])
    }
}
