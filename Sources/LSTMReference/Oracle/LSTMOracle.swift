import LSTMSchema
import TensorFormats

/// The forward pass written as nn.LSTM's and ONNX's documentation write the equations, in float64,
/// with no packing, threads or SIMD: the oracle that ``LSTMForward`` is tested against. Slow on purpose.
///
/// For layer k, direction d, batch row b, step t (x = the layer's input at t; gates i, f, g, o):
///
///     z = W_ih x + b_ih + W_hh h + b_hh             (4H)
///     z_i += P_i ⊙ c,  z_f += P_f ⊙ c               (peepholes; ONNX stores P as i, o, f)
///     z = clamp(z, −clip, clip)                      (gate by gate, when clip is set)
///     i = f(z_i);  f = input_forget ? 1 − i : f(z_f);  g = g(z_g)
///     c = f ⊙ c + i ⊙ g
///     z_o += P_o ⊙ c;  o = f(z_o);  h = o ⊙ h(c);  h = W_hr h when proj_size > 0
///
/// f, g, h = sigmoid, tanh, tanh unless the module's ``LSTMVariant`` names others. The reverse
/// direction (and an ONNX reverse-only LSTM) walks t from len − 1 down to 0; row b runs its first
/// len = sequenceLengths[b] steps, later output steps are 0 and h_n / c_n keep the last valid state
/// (zeros when len = 0).
/// Layouts in and out are ``LSTMForward``'s (``LSTMOutputs``), outputs float64.
public enum LSTMOracle {
    public static func run(module: LSTMModule, input: Tensor, h0: Tensor? = nil, c0: Tensor? = nil,
                           batchFirst: Bool = false, sequenceLengths: [Int]? = nil) throws(ForwardError) -> LSTMOutputs {
        let cfg = module.config
        let D = cfg.numDirections, L = cfg.numLayers, H = cfg.hiddenSize, R = cfg.outputSize, I = cfg.inputSize
        let unbatched = input.rank == 2
        let first = batchFirst && !unbatched
        guard input.rank == 2 || input.rank == 3, input.shape.last == I else {
            throw ForwardError(.input, .unsupported, "input has shape \(input.shape); the module expects input_size \(I)")
        }
        let S = first ? input.shape[1] : input.shape[0]
        let N = unbatched ? 1 : (first ? input.shape[0] : input.shape[1])
        let x0 = input.doubles()
        // layerInput[t][b] = the current layer's input vector at step t for row b.
        var layerInput = (0..<S).map { t in (0..<N).map { b -> [Double] in
            let base = (first ? b * S + t : t * N + b) * I
            return Array(x0[base..<(base + I)])
        } }
        let lengths = sequenceLengths ?? module.variant?.sequenceLengths ?? Array(repeating: S, count: N)
        guard lengths.count == N, lengths.allSatisfy({ (0...S).contains($0) }) else {
            throw ForwardError(.sequenceLengths, .unsupported, "sequence lengths \(lengths) do not fit batch \(N) and \(S) steps")
        }
        let hInit = h0?.doubles() ?? Array(repeating: 0, count: L * D * N * R)
        let cInit = c0?.doubles() ?? Array(repeating: 0, count: L * D * N * H)
        guard hInit.count == L * D * N * R, cInit.count == L * D * N * H else {
            throw ForwardError(.h0, .unsupported, "h0 / c0 do not hold (\(L * D), \(N), \(R)) / (\(L * D), \(N), \(H)) values")
        }
        let specs = try LSTMForward.gateSpecs(module)
        let reverseOnly = module.variant?.direction == .reverse && D == 1
        var hN = [Double](repeating: 0, count: L * D * N * R), cN = [Double](repeating: 0, count: L * D * N * H)

        for k in 0..<L {
            var layerOutput = Array(repeating: Array(repeating: [Double](repeating: 0, count: D * R), count: N), count: S)
            for d in 0..<D {
                let w = module.layers[k][d], spec = specs[d], s = k * D + d
                let wih = w.weightIH.doubles(), whh = w.weightHH.doubles(), whr = w.weightHR?.doubles()
                let bih = w.biasIH?.doubles() ?? Array(repeating: 0, count: 4 * H)
                let bhh = w.biasHH?.doubles() ?? Array(repeating: 0, count: 4 * H)
                let p = w.peephole?.doubles()
                let In = cfg.layerInputSize(k)
                for b in 0..<N {
                    var h = Array(hInit[((s * N + b) * R)..<((s * N + b + 1) * R)])
                    var c = Array(cInit[((s * N + b) * H)..<((s * N + b + 1) * H)])
                    let len = lengths[b]
                    let steps = (d == 1 || reverseOnly) ? Array((0..<len).reversed()) : Array(0..<len)
                    for t in steps {
                        let x = layerInput[t][b]
                        var z = [Double](repeating: 0, count: 4 * H)
                        for r in 0..<(4 * H) {
                            var sum = bih[r] + bhh[r]
                            for j in 0..<In { sum += wih[r * In + j] * x[j] }
                            for j in 0..<R { sum += whh[r * R + j] * h[j] }
                            z[r] = sum
                        }
                        var hidden = [Double](repeating: 0, count: H)
                        for u in 0..<H {
                            var zi = z[u], zf = z[H + u], zg = z[2 * H + u], zo = z[3 * H + u]
                            if let p { zi += p[u] * c[u]; zf += p[2 * H + u] * c[u] }
                            if let clip = spec.clip { zi = clamp(zi, clip); zf = clamp(zf, clip); zg = clamp(zg, clip) }
                            let i = spec.f.apply(zi)
                            let f = spec.inputForget ? 1 - i : spec.f.apply(zf)
                            c[u] = f * c[u] + i * spec.g.apply(zg)
                            if let p { zo += p[H + u] * c[u] }
                            if let clip = spec.clip { zo = clamp(zo, clip) }
                            hidden[u] = spec.f.apply(zo) * spec.h.apply(c[u])
                        }
                        if let whr {
                            h = (0..<R).map { r in (0..<H).reduce(0.0) { $0 + whr[r * H + $1] * hidden[$1] } }
                        } else {
                            h = hidden
                        }
                        for j in 0..<R { layerOutput[t][b][d * R + j] = h[j] }
                    }
                    guard len > 0 else { continue }  // h_n, c_n of an empty row are zeros
                    for j in 0..<R { hN[(s * N + b) * R + j] = h[j] }
                    for j in 0..<H { cN[(s * N + b) * H + j] = c[j] }
                }
            }
            layerInput = layerOutput
        }

        var out = [Double](repeating: 0, count: S * N * D * R)
        for t in 0..<S {
            for b in 0..<N {
                let base = (first ? b * S + t : t * N + b) * D * R
                for j in 0..<(D * R) { out[base + j] = layerInput[t][b][j] }
            }
        }
        let outShape = unbatched ? [S, D * R] : (first ? [N, S, D * R] : [S, N, D * R])
        return LSTMOutputs(output: try Double.tensor(out, shape: outShape),
                           hN: try Double.tensor(hN, shape: unbatched ? [L * D, R] : [L * D, N, R]),
                           cN: try Double.tensor(cN, shape: unbatched ? [L * D, H] : [L * D, N, H]),
                           batchFirst: first)
    }

    private static func clamp(_ v: Double, _ limit: Double) -> Double { Swift.min(Swift.max(v, -limit), limit) }
}
