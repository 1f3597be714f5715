import Testing
@testable import LSTMReference

/// ``KernelPath``: which paths this CPU runs, how `LSTMKIT_KERNELS` values are read, and the gate
/// pass's special values on every path.
@Suite struct KernelPathTests {
    @Test func supportedPathsEndWithPortableFastestFirst() {
        let paths = KernelPath.supported
        #expect(paths.last == .portable)
        #expect(paths.first == KernelPath.best)
        #expect(paths == KernelPath.allCases.filter(\.isSupported))
        if KernelPath.avx512.isSupported { #expect(KernelPath.avx2.isSupported, "the AVX-512 table falls back on AVX2") }
        #if !arch(x86_64)
        #expect(paths == [.portable])
        #endif
    }

    @Test func namesAreReadCaseInsensitivelyAndChecked() throws {
        #expect(try KernelPath.named("PORTABLE") == .portable)
        #expect(try KernelPath.named("auto") == KernelPath.best)
        #expect(throws: KernelPathError(value: "sse9", unknown: true)) { try KernelPath.named("sse9") }
        for path in KernelPath.allCases where !path.isSupported {
            #expect(throws: KernelPathError(value: path.rawValue, unknown: false)) { try KernelPath.named(path.rawValue) }
        }
        #expect(KernelPathError(value: "sse9", unknown: true).description
                == "LSTMKIT_KERNELS=sse9 names no kernel path; use one of avx512, avx2, portable or auto")
    }

    /// NaN pre-activations give NaN; saturated ones give the limits (no inf − inf, no 0 · inf).
    @Test(arguments: KernelPath.supported)
    func gatePassSpecialValues(_ kernels: KernelPath) {
        // 16 units (one AVX-512 vector, two AVX2 ones) + 3 in the scalar tail, all alike per unit.
        let H = 19
        let cases: [(i: Float, f: Float, g: Float, o: Float, c: Float)] = [
            (.nan, 0, 0, 0, 1), (100, -100, 100, 100, 0.5), (-.infinity, .infinity, 3, .infinity, 2),
            (.infinity, -.infinity, -.infinity, 0, 7), (0, 0, 0, 0, 0),
        ]
        for (n, k) in cases.enumerated() {
            var gates = [Float](repeating: 0, count: 4 * H), c = [Float](repeating: k.c, count: H)
            var h = [Float](repeating: 42, count: H)
            for j in 0..<H { gates[j] = k.i; gates[H + j] = k.f; gates[2 * H + j] = k.g; gates[3 * H + j] = k.o }
            gates.withUnsafeMutableBufferPointer { g in
                c.withUnsafeMutableBufferPointer { cp in
                    h.withUnsafeMutableBufferPointer { hp in
                        GateStep.applyDefault(rows: 1, count: H, stride: H, gates: g.baseAddress!, ldg: 4 * H,
                                              c: cp.baseAddress!, ldc: H, h: hp.baseAddress!, ldh: H, kernels: Kernels(kernels))
                    }
                }
            }
            func sig(_ x: Float) -> Float { x.isNaN ? .nan : x == .infinity ? 1 : x == -.infinity ? 0 : 1 / (1 + Float.exp(-x)) }
            let cn = sig(k.f) * k.c + sig(k.i) * Float.tanh(k.g)
            let hn = sig(k.o) * Float.tanh(cn)
            for j in 0..<H {
                if cn.isNaN { #expect(c[j].isNaN && h[j].isNaN, "\(kernels) case \(n) unit \(j): c \(c[j]) h \(h[j])") }
                else {
                    #expect(abs(c[j] - cn) <= 1e-6 * max(1, abs(cn)), "\(kernels) case \(n) unit \(j): c \(c[j]), want \(cn)")
                    #expect(abs(h[j] - hn) <= 1e-6, "\(kernels) case \(n) unit \(j): h \(h[j]), want \(hn)")
                }
            }
        }
    }
}
