/// The float64 GEMM tile: plain scalar loops (float64 is the precise reference, not the fast path).
extension Double {
    static func fusedGateUnits(rows: Int, count: Int, stride: Int, gates: UnsafeMutablePointer<Double>, ldg: Int,
                               c: UnsafeMutablePointer<Double>, ldc: Int, h: UnsafeMutablePointer<Double>, ldh: Int,
                               kernels: Kernels) -> Bool { false }

    static func wholeGEMM(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int, packed: UnsafePointer<Double>,
                          c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool, kernels: Kernels) -> Bool { false }

    static func gemmTile(rows: Int, kc: Int, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>,
                         c: UnsafeMutablePointer<Double>, ldc: Int, add: Bool) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 16) { buffer in
            let acc = buffer.baseAddress!
            for r in 0..<rows {
                acc.initialize(repeating: 0, count: 16)
                let row = a + r * lda
                for kk in 0..<kc {
                    let x = row[kk], w = b + kk * 16
                    for j in 0..<16 { acc[j] += x * w[j] }
                }
                let out = c + r * ldc
                for j in 0..<16 { out[j] = add ? out[j] + acc[j] : acc[j] }
            }
        }
    }
}
