/// A weight matrix W (n × k, row-major) packed for `C += A · Wᵀ`.
///
/// Layout: ⌈n / 16⌉ column panels; panel p holds, for each reduction index kk in 0..<k, the 16
/// values W[16p + c][kk] (c = 0..<16) contiguously, zero-padded past row n. A panel slice of
/// ``blockK`` reduction steps (16 KB for Float) stays in L1 while the micro-kernel sweeps A.
final class PackedMatrix<T: LSTMScalar>: @unchecked Sendable {
    static var panelWidth: Int { 16 }
    /// Output features (rows of W).
    let n: Int
    /// Reduction length (columns of W).
    let k: Int
    let panels: UnsafeMutablePointer<T>
    let panelCount: Int

    /// Packs `w`, which holds n·k values of W in row-major order (missing values count as 0).
    init(_ w: [T], n: Int, k: Int) {
        self.n = n
        self.k = k
        let nr = PackedMatrix.panelWidth
        panelCount = (n + nr - 1) / nr
        let size = Swift.max(panelCount * k * nr, 1)
        panels = UnsafeMutablePointer<T>.allocate(capacity: size)
        panels.initialize(repeating: 0, count: size)
        guard k > 0, w.count >= n * k else { return }
        w.withUnsafeBufferPointer { src in
            for p in 0..<panelCount {
                let base = panels + p * k * nr
                for c in 0..<Swift.min(nr, n - p * nr) {
                    let row = (p * nr + c) * k
                    for kk in 0..<k { base[kk * nr + c] = src[row + kk] }
                }
            }
        }
    }

    deinit { panels.deallocate() }
}

/// Cache-blocked `C (m × n) = [C +] A (m × k) · Wᵀ` on eight-lane SIMD vectors.
///
/// A is row-major with leading dimension `lda`, C with `ldc`. The reduction is split into blocks
/// of ``blockK``, rows into blocks of ``blockM`` (an A block of ~120 KB stays in L2), and each
/// (6 rows × 16 columns) tile is computed by a register-resident micro-kernel. Rows left over after
/// the 6-row tiles go through 4-, 2- and 1-row kernels, so a batch of 1 (the recurrence's GEMV)
/// wastes nothing. With `accumulate` false, C is overwritten. The tile kernels are concrete per
/// scalar type (``LSTMScalar/gemmTile(rows:kc:a:lda:b:c:ldc:add:)``) so that unoptimised (debug) builds stay usable.
/// When `kernels` has C kernels for `T`, the whole product runs there instead.
enum GEMM {
    static let blockK = 256
    static let blockM = 120

    /// With `panels`, only those 16-column panels of W are used: C's column j is W's row
    /// 16·panels.lowerBound + j (the caller offsets `c`), and the last panel may be partial.
    static func multiply<T: LSTMScalar>(m: Int, a: UnsafePointer<T>, lda: Int, b: PackedMatrix<T>,
                                        c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool,
                                        panels range: Range<Int>? = nil, kernels: Kernels) {
        let nr = PackedMatrix<T>.panelWidth, k = b.k
        let range = range ?? 0..<b.panelCount
        let n = Swift.min(b.n - range.lowerBound * nr, range.count * nr)
        let packed = UnsafePointer(b.panels + range.lowerBound * k * nr)
        if m <= 0 || n <= 0 { return }
        if T.wholeGEMM(m: m, n: n, k: k, a: a, lda: lda, packed: packed, c: c, ldc: ldc, accumulate: accumulate,
                       kernels: kernels) { return }
        if k == 0 {
            if !accumulate { for r in 0..<m { (c + r * ldc).initialize(repeating: 0, count: n) } }
            return
        }
        var k0 = 0
        while k0 < k {
            let kc = Swift.min(blockK, k - k0)
            let add = accumulate || k0 > 0
            var m0 = 0
            while m0 < m {
                let mc = Swift.min(blockM, m - m0)
                for p in 0..<range.count {
                    let panel = packed + p * k * nr + k0 * nr
                    let cols = Swift.min(nr, n - p * nr)
                    var r = 0
                    while r < mc {
                        let rows = mc - r >= 6 ? 6 : mc - r >= 4 ? 4 : mc - r >= 2 ? 2 : 1
                        let aPtr = a + (m0 + r) * lda + k0
                        let cPtr = c + (m0 + r) * ldc + p * nr
                        if cols == nr {
                            T.gemmTile(rows: rows, kc: kc, a: aPtr, lda: lda, b: panel, c: cPtr, ldc: ldc, add: add)
                        } else {
                            edgeTile(rows: rows, cols: cols, kc: kc, a: aPtr, lda: lda, b: panel, c: cPtr, ldc: ldc, add: add)
                        }
                        r += rows
                    }
                }
                m0 += mc
            }
            k0 += kc
        }
    }

    /// A tile whose last panel is narrower than 16 columns: computed into a scratch tile, then copied.
    @inline(never)
    static func edgeTile<T: LSTMScalar>(rows: Int, cols: Int, kc: Int, a: UnsafePointer<T>, lda: Int,
                                        b: UnsafePointer<T>, c: UnsafeMutablePointer<T>, ldc: Int, add: Bool) {
        withUnsafeTemporaryAllocation(of: T.self, capacity: 6 * 16) { scratch in
            let s = scratch.baseAddress!
            s.initialize(repeating: 0, count: 6 * 16)
            T.gemmTile(rows: rows, kc: kc, a: a, lda: lda, b: b, c: s, ldc: 16, add: false)
            for r in 0..<rows {
                for j in 0..<cols { c[r * ldc + j] = add ? c[r * ldc + j] + s[r * 16 + j] : s[r * 16 + j] }
            }
        }
    }
}
