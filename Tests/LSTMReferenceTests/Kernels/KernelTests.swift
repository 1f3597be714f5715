import Foundation
import Testing
@testable import LSTMReference

/// The building blocks: activations, vector exp / sigmoid / tanh, the packed GEMM.
@Suite struct KernelTests {
    @Test func activationAlphaBetaConsumptionFollowsOnnxruntime() throws {
        // onnx-lstm.md §1.5: checked against onnxruntime.
        let a = try Activation.resolve(["HardSigmoid", "ScaledTanh", "Relu"], alpha: [0.3, 1.5], beta: [0.4, 0.7])
        #expect(a == [.hardSigmoid(alpha: Double(Float(0.3)), beta: Double(Float(0.4))),
                      .scaledTanh(alpha: 1.5, beta: Double(Float(0.7))), .relu])
        let defaults = try Activation.resolve(["hardsigmoid", "LEAKYRELU", "Elu", "ThresholdedRelu", "Affine", "ScaledTanh"],
                                              alpha: [], beta: [])
        #expect(defaults == [.hardSigmoid(alpha: 0.2, beta: 0.5), .leakyRelu(alpha: 0.01), .elu(alpha: 1),
                             .thresholdedRelu(alpha: 0), .affine(alpha: 0, beta: 0), .scaledTanh(alpha: 0, beta: 0)])
        #expect(throws: (any Error).self) { try Activation.resolve(["Gelu"], alpha: [], beta: []) }
    }

    @Test func activationValues() {
        let x = 0.75, n = -0.75
        #expect(Activation.relu.apply(n) == 0.0 && Activation.relu.apply(x) == x)
        #expect(Activation.affine(alpha: 2, beta: 1).apply(x) == 2.5)
        #expect(Activation.leakyRelu(alpha: 0.5).apply(n) == -0.375)
        #expect(Activation.thresholdedRelu(alpha: 0.75).apply(x) == 0.0)     // strictly greater
        #expect(Activation.thresholdedRelu(alpha: 0.5).apply(x) == x)
        #expect(abs(Activation.scaledTanh(alpha: 2, beta: 0.5).apply(x) - 2 * Foundation.tanh(0.375)) < 1e-15)
        #expect(Activation.hardSigmoid(alpha: 0.2, beta: 0.5).apply(10.0) == 1.0)
        #expect(Activation.hardSigmoid(alpha: 0.2, beta: 0.5).apply(x) == 0.65)
        #expect(abs(Activation.elu(alpha: 2).apply(n) - 2 * (Foundation.exp(n) - 1)) < 1e-15)
        #expect(Activation.softsign.apply(n) == n / 1.75)
        #expect(abs(Activation.softplus.apply(x) - Foundation.log(1 + Foundation.exp(x))) < 1e-15)
        #expect(abs(Activation.sigmoid.apply(-800.0)) < 1e-300)
        #expect(Activation.sigmoid.apply(800.0) == 1.0)
    }

    /// The float32 vector functions stay within a few float32 ulp of the double-precision values.
    @Test func vectorMathAccuracy() {
        var worst: (exp: Double, sig: Double, tanh: Double) = (0, 0, 0)
        var x = Float(-90)
        while x < 90 {
            let v = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0037 })
            let e = VectorMath.exp(v), s = VectorMath.sigmoid(v), t = VectorMath.tanh(v)
            for k in 0..<8 {
                let xd = Double(v[k])
                let ed = Foundation.exp(xd), sd = 1 / (1 + Foundation.exp(-xd)), td = Foundation.tanh(xd)
                if xd > -87 && xd < 88 { worst.exp = max(worst.exp, abs(Double(e[k]) - ed) / ed) }
                worst.sig = max(worst.sig, abs(Double(s[k]) - sd) / max(sd, 1e-30))
                worst.tanh = max(worst.tanh, abs(Double(t[k]) - td) / max(abs(td), 1e-30))
            }
            x += 0.0291
        }
        #expect(worst.exp < 3e-7, "exp rel error \(worst.exp)")
        #expect(worst.sig < 5e-7, "sigmoid rel error \(worst.sig)")
        #expect(worst.tanh < 5e-7, "tanh rel error \(worst.tanh)")
        let special = SIMD8<Float>(.nan, .infinity, -.infinity, 0, -0.0, 1e-30, -1e-30, 200)
        let s = VectorMath.sigmoid(special), t = VectorMath.tanh(special)
        #expect(s[0].isNaN && t[0].isNaN)
        #expect(s[1] == 1, "\(s)")
        #expect(s[2] < 1e-37, "\(s)")
        #expect(s[3] == 0.5, "\(s)")
        #expect(s[7] == 1, "\(s)")
        #expect(t[1] == 1 && t[2] == -1 && t[3] == 0 && t[5] == 1e-30 && t[6] == -1e-30 && t[7] == 1, "\(t)")
    }

    /// GEMM on every kernel path this CPU runs against a naive double-precision product, over
    /// shapes that hit every tile (rows 1…12, one to four panels, narrow last panels) and block edge.
    @Test(arguments: [(1, 1, 1), (1, 28, 5), (1, 80, 33), (1, 64, 1100), (1, 100, 9), (2, 16, 300), (2, 90, 21), (3, 33, 7),
                      (5, 64, 257), (6, 48, 1), (7, 20, 11), (11, 50, 9), (12, 64, 1030), (13, 80, 40), (16, 192, 48),
                      (25, 47, 300), (49, 33, 260), (121, 17, 513), (300, 40, 70), (250, 64, 0)],
          KernelPath.supported)
    func gemmMatchesNaiveProduct(_ shape: (Int, Int, Int), _ kernels: KernelPath) {
        let (m, n, k) = shape
        var rng = SplitMix(seed: UInt64(m * 1000 + n * 10 + k))
        let a = (0..<(m * (k + 3))).map { _ in Float(rng.uniform()) }   // lda = k + 3
        let w = (0..<(n * k)).map { _ in Float(rng.uniform()) }
        let c0 = (0..<(m * (n + 2))).map { _ in Float(rng.uniform()) }  // ldc = n + 2
        let packed = PackedMatrix(w, n: n, k: k)
        for accumulate in [false, true] {
            var c = c0
            a.withUnsafeBufferPointer { ap in
                c.withUnsafeMutableBufferPointer { cp in
                    GEMM.multiply(m: m, a: ap.baseAddress!, lda: k + 3, b: packed, c: cp.baseAddress!, ldc: n + 2,
                                  accumulate: accumulate, kernels: Kernels(kernels))
                }
            }
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<(n + 2) {
                    let got = Double(c[i * (n + 2) + j])
                    guard j < n else {
                        #expect(got == Double(c0[i * (n + 2) + j]), "wrote past column n")
                        continue
                    }
                    var sum = accumulate ? Double(c0[i * (n + 2) + j]) : 0
                    for kk in 0..<k { sum += Double(a[i * (k + 3) + kk]) * Double(w[j * k + kk]) }
                    worst = max(worst, abs(got - sum) / (1 + abs(sum)))
                }
            }
            #expect(worst < 1e-5, "m \(m) n \(n) k \(k) accumulate \(accumulate) \(kernels): \(worst)")
        }
    }
}

extension KernelTests {
    /// The gate pass on every kernel path this CPU runs (and the Swift row pass) against a Double
    /// reference, for widths with and without a tail shorter than a vector.
    @Test(arguments: [21, 16, 37], KernelPath.supported)
    func fusedGatePassAgreesWithDoubleReference(_ H: Int, _ kernels: KernelPath) {
        let rows = 3
        var rng = SplitMix(seed: 99)
        let gates0 = (0..<(rows * 4 * H)).map { _ in Float(rng.uniform() * 12) }
        let c0 = (0..<(rows * H)).map { _ in Float(rng.uniform() * 3) }
        func reference(_ r: Int, _ j: Int) -> (c: Double, h: Double) {
            func sig(_ x: Float) -> Double { 1 / (1 + Foundation.exp(-Double(x))) }
            let g = gates0[(r * 4 * H)...]
            let i = sig(g[r * 4 * H + j]), f = sig(g[r * 4 * H + H + j])
            let gg = Foundation.tanh(Double(g[r * 4 * H + 2 * H + j])), o = sig(g[r * 4 * H + 3 * H + j])
            let c = f * Double(c0[r * H + j]) + i * gg
            return (c, o * Foundation.tanh(c))
        }
        for portable in [false, true] {
            var gates = gates0, c = c0, h = [Float](repeating: 0, count: rows * (H + 2))
            gates.withUnsafeMutableBufferPointer { g in
                c.withUnsafeMutableBufferPointer { cp in
                    h.withUnsafeMutableBufferPointer { hp in
                        if portable {
                            for r in 0..<rows {
                                GateStep.fused(hidden: H, gates: g.baseAddress! + r * 4 * H, c: cp.baseAddress! + r * H,
                                               h: hp.baseAddress! + r * (H + 2))
                            }
                        } else {
                            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: H)
                            GateStep.apply(rows: rows, hidden: H, gates: g.baseAddress!, c: cp.baseAddress!, h: hp.baseAddress!,
                                           ldh: H + 2, spec: GateSpec(), peepholes: nil, scratch: scratch,
                                           kernels: Kernels(kernels))
                            scratch.deallocate()
                        }
                    }
                }
            }
            var worst = 0.0
            for r in 0..<rows {
                for j in 0..<H {
                    let ref = reference(r, j)
                    worst = max(worst, abs(Double(c[r * H + j]) - ref.c), abs(Double(h[r * (H + 2) + j]) - ref.h))
                }
                #expect(h[r * (H + 2) + H] == 0 && h[r * (H + 2) + H + 1] == 0, "wrote past the row")
            }
            #expect(worst < 1e-6, "\(kernels) swift row pass \(portable): \(worst)")
        }
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [−1, 1).
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 52) - 1 }
}
