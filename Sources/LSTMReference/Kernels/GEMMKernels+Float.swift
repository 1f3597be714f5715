import CLSTMKernels

/// The float32 kernels: the C kernel table of the pass's ``KernelPath`` when it has one (whole
/// GEMM and gate pass in `CLSTMKernels`), else the portable Swift tiles below, (rows × 16) tiles of
/// `C [+]= A · Wᵀ` over a 16-wide packed panel (see ``PackedMatrix``) held in eight-lane registers.
extension Float {
    static func wholeGEMM(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>,
                          c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, kernels: Kernels) -> Bool {
        guard let gemm = kernels.table.pointer?.pointee.sgemm else { return false }
        gemm(m, n, k, a, lda, packed, c, ldc, accumulate ? 1 : 0)
        return true
    }

    static func fusedGateUnits(rows: Int, count: Int, stride: Int, gates: UnsafeMutablePointer<Float>, ldg: Int,
                               c: UnsafeMutablePointer<Float>, ldc: Int, h: UnsafeMutablePointer<Float>, ldh: Int,
                               kernels: Kernels) -> Bool {
        guard let pass = kernels.table.pointer?.pointee.gate_units else { return false }
        pass(rows, count, stride, gates, ldg, c, ldc, h, ldh)
        return true
    }

    static func gemmTile(rows: Int, kc: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                         c: UnsafeMutablePointer<Float>, ldc: Int, add: Bool) {
        switch rows {
        case 6: kernel6(kc: kc, a: a, lda: lda, b: b, c: c, ldc: ldc, add: add)
        case 4: kernel4(kc: kc, a: a, lda: lda, b: b, c: c, ldc: ldc, add: add)
        case 2: kernel2(kc: kc, a: a, lda: lda, b: b, c: c, ldc: ldc, add: add)
        default: kernel1(kc: kc, a: a, lda: lda, b: b, c: c, ldc: ldc, add: add)
        }
    }

    @inline(__always)
    static func put(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, add: Bool) {
        storeVector(add ? loadVector(p) + v : v, p)
    }

    static func kernel6(kc: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                        c: UnsafeMutablePointer<Float>, ldc: Int, add: Bool) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda
        var pb = b
        for kk in 0..<kc {
            let b0 = loadVector(pb), b1 = loadVector(pb + 8)
            var s = SIMD8<Float>(repeating: a0[kk]); c00 += s * b0; c01 += s * b1
            s = SIMD8<Float>(repeating: a1[kk]); c10 += s * b0; c11 += s * b1
            s = SIMD8<Float>(repeating: a2[kk]); c20 += s * b0; c21 += s * b1
            s = SIMD8<Float>(repeating: a3[kk]); c30 += s * b0; c31 += s * b1
            s = SIMD8<Float>(repeating: a4[kk]); c40 += s * b0; c41 += s * b1
            s = SIMD8<Float>(repeating: a5[kk]); c50 += s * b0; c51 += s * b1
            pb += 16
        }
        put(c00, c, add: add); put(c01, c + 8, add: add)
        put(c10, c + ldc, add: add); put(c11, c + ldc + 8, add: add)
        put(c20, c + 2 * ldc, add: add); put(c21, c + 2 * ldc + 8, add: add)
        put(c30, c + 3 * ldc, add: add); put(c31, c + 3 * ldc + 8, add: add)
        put(c40, c + 4 * ldc, add: add); put(c41, c + 4 * ldc + 8, add: add)
        put(c50, c + 5 * ldc, add: add); put(c51, c + 5 * ldc + 8, add: add)
    }

    static func kernel4(kc: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                        c: UnsafeMutablePointer<Float>, ldc: Int, add: Bool) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda
        var pb = b
        for kk in 0..<kc {
            let b0 = loadVector(pb), b1 = loadVector(pb + 8)
            var s = SIMD8<Float>(repeating: a0[kk]); c00 += s * b0; c01 += s * b1
            s = SIMD8<Float>(repeating: a1[kk]); c10 += s * b0; c11 += s * b1
            s = SIMD8<Float>(repeating: a2[kk]); c20 += s * b0; c21 += s * b1
            s = SIMD8<Float>(repeating: a3[kk]); c30 += s * b0; c31 += s * b1
            pb += 16
        }
        put(c00, c, add: add); put(c01, c + 8, add: add)
        put(c10, c + ldc, add: add); put(c11, c + ldc + 8, add: add)
        put(c20, c + 2 * ldc, add: add); put(c21, c + 2 * ldc + 8, add: add)
        put(c30, c + 3 * ldc, add: add); put(c31, c + 3 * ldc + 8, add: add)
    }

    static func kernel2(kc: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                        c: UnsafeMutablePointer<Float>, ldc: Int, add: Bool) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        let a0 = a, a1 = a + lda
        var pb = b
        for kk in 0..<kc {
            let b0 = loadVector(pb), b1 = loadVector(pb + 8)
            var s = SIMD8<Float>(repeating: a0[kk]); c00 += s * b0; c01 += s * b1
            s = SIMD8<Float>(repeating: a1[kk]); c10 += s * b0; c11 += s * b1
            pb += 16
        }
        put(c00, c, add: add); put(c01, c + 8, add: add)
        put(c10, c + ldc, add: add); put(c11, c + ldc + 8, add: add)
    }

    /// One row: two independent accumulator pairs over even and odd k hide the add latency.
    static func kernel1(kc: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                        c: UnsafeMutablePointer<Float>, ldc: Int, add: Bool) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), d00 = SIMD8<Float>(), d01 = SIMD8<Float>()
        var pb = b
        var kk = 0
        while kk + 2 <= kc {
            let s = SIMD8<Float>(repeating: a[kk]), t = SIMD8<Float>(repeating: a[kk + 1])
            c00 += s * loadVector(pb); c01 += s * loadVector(pb + 8)
            d00 += t * loadVector(pb + 16); d01 += t * loadVector(pb + 24)
            pb += 32
            kk += 2
        }
        if kk < kc {
            let s = SIMD8<Float>(repeating: a[kk])
            c00 += s * loadVector(pb); c01 += s * loadVector(pb + 8)
        }
        put(c00 + d00, c, add: add); put(c01 + d01, c + 8, add: add)
    }
}
