/// How one direction turns gate pre-activations into the new cell and hidden state.
///
/// PyTorch: f = Sigmoid, g = h = Tanh, nothing else. ONNX adds, per direction: other activations,
/// `clip` (onnxruntime clamps each gate's pre-activation — peephole term included — to
/// [−clip, clip] before its activation; the cell state itself is never clipped), `input_forget`
/// (f = 1 − i; the forget gate's weights are never used) and peepholes.
struct GateSpec: Sendable, Equatable {
    var f: Activation = .sigmoid
    var g: Activation = .tanh
    var h: Activation = .tanh
    var clip: Double?
    var inputForget = false

    var isPyTorchDefault: Bool { f == .sigmoid && g == .tanh && h == .tanh && clip == nil && !inputForget }
}

/// Peephole weights of one direction, each of length H (ONNX stores them i, o, f).
struct Peepholes<T: LSTMScalar>: Sendable {
    var i: [T]
    var o: [T]
    var f: [T]
}

enum GateStep {
    /// One time step for `rows` batch rows.
    ///
    /// `gates`: rows × 4H pre-activations in PyTorch order i, f, g, o (input and recurrent terms
    /// and both biases already summed); overwritten. `c`: rows × H cell state, updated in place.
    /// `h`: receives rows × H hidden values (before projection), row stride `ldh`.
    /// `scratch`: H elements.
    ///
    ///     i = f(i + Pi·c)   f = f(f + Pf·c) or 1 − i   g = g(g)
    ///     c' = f·c + i·g    o = f(o + Po·c')           h = o·h(c')
    static func apply<T: LSTMScalar>(rows: Int, hidden H: Int, gates: UnsafeMutablePointer<T>,
                                     c: UnsafeMutablePointer<T>, h: UnsafeMutablePointer<T>, ldh: Int,
                                     spec: GateSpec, peepholes: Peepholes<T>?, scratch: UnsafeMutablePointer<T>,
                                     kernels: Kernels) {
        if spec.isPyTorchDefault && peepholes == nil {
            applyDefault(rows: rows, count: H, stride: H, gates: gates, ldg: 4 * H, c: c, ldc: H, h: h, ldh: ldh,
                         kernels: kernels)
            return
        }
        for r in 0..<rows {
            general(hidden: H, gates: gates + r * 4 * H, c: c + r * H, h: h + r * ldh,
                    spec: spec, peepholes: peepholes, scratch: scratch)
        }
    }

    /// The PyTorch gate pass (sigmoid, tanh, tanh) for units 0..<count of `rows` rows whose gate
    /// blocks i, f, g, o are `stride` apart: unit j of row r reads gates[r·ldg + q·stride + j],
    /// updates c[r·ldc + j] and writes h[r·ldh + j]. Same arithmetic as ``apply(rows:hidden:gates:c:h:ldh:spec:peepholes:scratch:kernels:)``.
    static func applyDefault<T: LSTMScalar>(rows: Int, count: Int, stride: Int, gates: UnsafeMutablePointer<T>, ldg: Int,
                                            c: UnsafeMutablePointer<T>, ldc: Int, h: UnsafeMutablePointer<T>, ldh: Int,
                                            kernels: Kernels) {
        if T.fusedGateUnits(rows: rows, count: count, stride: stride, gates: gates, ldg: ldg, c: c, ldc: ldc, h: h, ldh: ldh,
                            kernels: kernels) { return }
        for r in 0..<rows {
            fused(hidden: count, stride: stride, gates: gates + r * ldg, c: c + r * ldc, h: h + r * ldh)
        }
    }

    /// Sigmoid / tanh / tanh in one pass over units 0..<H of a row (gate blocks `stride` apart, H by default).
    @inline(__always)
    static func fused<T: LSTMScalar>(hidden H: Int, stride: Int? = nil, gates g: UnsafeMutablePointer<T>,
                                     c: UnsafeMutablePointer<T>, h: UnsafeMutablePointer<T>) {
        let S = stride ?? H
        var j = 0
        while j + 8 <= H {
            let i = T.sigmoid(loadVector(g + j))
            let f = T.sigmoid(loadVector(g + S + j))
            let gg = T.tanh(loadVector(g + 2 * S + j))
            let o = T.sigmoid(loadVector(g + 3 * S + j))
            let cn = f * loadVector(c + j) + i * gg
            storeVector(cn, c + j)
            storeVector(o * T.tanh(cn), h + j)
            j += 8
        }
        while j < H {
            let i = T.sigmoid(g[j]), f = T.sigmoid(g[S + j]), gg = T.tanh(g[2 * S + j]), o = T.sigmoid(g[3 * S + j])
            let cn = f * c[j] + i * gg
            c[j] = cn
            h[j] = o * T.tanh(cn)
            j += 1
        }
    }

    static func general<T: LSTMScalar>(hidden H: Int, gates g: UnsafeMutablePointer<T>, c: UnsafeMutablePointer<T>,
                                       h: UnsafeMutablePointer<T>, spec: GateSpec, peepholes: Peepholes<T>?,
                                       scratch: UnsafeMutablePointer<T>) {
        let gi = g, gf = g + H, gc = g + 2 * H, go = g + 3 * H
        if let p = peepholes {
            for j in 0..<H { gi[j] += p.i[j] * c[j] }
            if !spec.inputForget { for j in 0..<H { gf[j] += p.f[j] * c[j] } }
        }
        if let clip = spec.clip {
            clamp(gi, H, T(clip))
            if !spec.inputForget { clamp(gf, H, T(clip)) }
            clamp(gc, H, T(clip))
        }
        spec.f.apply(gi, count: H)
        if !spec.inputForget { spec.f.apply(gf, count: H) }
        spec.g.apply(gc, count: H)
        for j in 0..<H {
            let f = spec.inputForget ? 1 - gi[j] : gf[j]
            c[j] = f * c[j] + gi[j] * gc[j]
        }
        if let p = peepholes { for j in 0..<H { go[j] += p.o[j] * c[j] } }
        if let clip = spec.clip { clamp(go, H, T(clip)) }
        spec.f.apply(go, count: H)
        scratch.update(from: c, count: H)
        spec.h.apply(scratch, count: H)
        for j in 0..<H { h[j] = go[j] * scratch[j] }
    }

    @inline(__always)
    static func clamp<T: LSTMScalar>(_ p: UnsafeMutablePointer<T>, _ n: Int, _ limit: T) {
        for j in 0..<n where !p[j].isNaN { p[j] = Swift.min(Swift.max(p[j], -limit), limit) }
    }
}
