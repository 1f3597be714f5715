import TensorFormats

/// The weights of one direction of one layer, in PyTorch's layout and gate order (i, f, g, o).
///
/// | field | shape | PyTorch name |
/// |---|---|---|
/// | `weightIH` | (4H, layer input) | `weight_ih_lk[_reverse]` |
/// | `weightHH` | (4H, R) | `weight_hh_lk[_reverse]` |
/// | `biasIH`, `biasHH` | (4H) | `bias_ih_lk`, `bias_hh_lk` (nil when bias = false) |
/// | `weightHR` | (projSize, H) | `weight_hr_lk` (nil when projSize = 0) |
public struct LSTMDirectionWeights: Sendable {
    public var weightIH: Tensor
    public var weightHH: Tensor
    public var biasIH: Tensor?
    public var biasHH: Tensor?
    public var weightHR: Tensor?
    /// ONNX peephole weights P (3H) in ONNX order i, o, f; nil for PyTorch sources.
    public var peephole: Tensor?

    public init(weightIH: Tensor, weightHH: Tensor, biasIH: Tensor? = nil, biasHH: Tensor? = nil,
                weightHR: Tensor? = nil, peephole: Tensor? = nil) {
        self.weightIH = weightIH
        self.weightHH = weightHH
        self.biasIH = biasIH
        self.biasHH = biasHH
        self.weightHR = weightHR
        self.peephole = peephole
    }
}

/// What an LSTM computes beyond nn.LSTM (format neutral: ONNX nodes set it today, Keras layers'
/// hard_sigmoid and go_backwards next). The reference pass runs it; conversion to a PyTorch-named
/// format refuses a module that uses any of it, naming the feature.
public struct LSTMVariant: Equatable, Sendable {
    /// ONNX `direction` of a single-direction node: `forward` or `reverse`.
    public enum Direction: String, Sendable { case forward, reverse, bidirectional }

    public var direction: Direction = .forward
    /// nn.LSTM's f, g, h activations (ONNX names): the defaults of every direction.
    public static let defaultActivations = ["Sigmoid", "Tanh", "Tanh"]

    /// f, g, h activations per direction (ONNX names, e.g. "Sigmoid", "Tanh", "Tanh"); empty = defaults.
    public var activations: [String] = []
    public var activationAlpha: [Float] = []
    public var activationBeta: [Float] = []
    public var clip: Float?
    public var inputForget = false
    /// ONNX `layout` attribute (1 = batch-major tensors).
    public var layout = 0
    public var hasPeepholes = false
    public var hasSequenceLens = false
    /// The output sequence comes in processing order, i.e. reversed in time (Keras's
    /// `go_backwards=True`, with `direction = reverse`); h_n and c_n are unchanged.
    public var outputReversed = false
    /// The node's `sequence_lens` when it is a constant (initializer or Constant node); nil when
    /// absent or a graph input. The reference pass uses it unless the caller gives lengths.
    public var sequenceLengths: [Int]?

    public init() {}

    /// Names of the features set here that nn.LSTM cannot express (empty when it can).
    public var nonPyTorchFeatures: [String] {
        var f: [String] = []
        if direction == .reverse { f.append(outputReversed ? "go_backwards (a reverse-only direction, output reversed in time)" : "reverse-only direction") }
        if hasPeepholes { f.append("peepholes (P)") }
        if clip != nil { f.append("clip") }
        if inputForget { f.append("input_forget") }
        let defaults = LSTMVariant.defaultActivations
        if !activations.isEmpty, !stride(from: 0, to: activations.count, by: 3).allSatisfy({
            Array(activations[$0..<min($0 + 3, activations.count)]).map { $0.lowercased() } == defaults.map { $0.lowercased() }
        }) { f.append("activations \(activations)") }
        return f
    }
}

/// One LSTM found in a file, mapped onto the canonical schema.
public struct LSTMModule: Sendable {
    /// The module prefix without its trailing dot ("" for a bare nn.LSTM state dict), or the first
    /// ONNX node's name.
    public var name: String
    /// nn.LSTM, or nn.LSTMCell (one layer, one direction, no projection; cell parameter names).
    public var kind: ModuleKind
    public var config: LSTMConfig
    /// `layers[k][d]`: layer k, direction d (0 forward, 1 reverse).
    public var layers: [[LSTMDirectionWeights]]
    /// Set for modules read from ONNX nodes; nil for PyTorch-named sources.
    public var variant: LSTMVariant?

    public init(name: String, kind: ModuleKind = .lstm, config: LSTMConfig, layers: [[LSTMDirectionWeights]],
                variant: LSTMVariant? = nil) {
        self.name = name
        self.kind = kind
        self.config = config
        self.layers = layers
        self.variant = variant
    }

    /// This module with every weight's bytes in memory (``Tensor/loaded()``: compressed members are
    /// inflated, computed weights computed, under the memory budget), for consumers that read all of
    /// them at once (an ONNX graph). Errors name the file and member or the weight.
    public func loaded() throws(FormatError) -> LSTMModule {
        try mappingTensors { t, name throws(FormatError) in
            do throws(FormatError) { return try t.loaded() } catch { throw error.inEntry(name) }
        }
    }

    /// This module with `transform(tensor, canonical name)` applied to every weight it has (the
    /// layer and direction suffix included, e.g. `bias_hh_l1_reverse`; ONNX peepholes as `peephole…`).
    public func mappingTensors(_ transform: (Tensor, String) throws(FormatError) -> Tensor) throws(FormatError) -> LSTMModule {
        var copy = self
        for (k, layer) in layers.enumerated() {
            for (d, w) in layer.enumerated() {
                let suffix = CanonicalName.suffix(layer: k, reverse: d == 1)
                func map(_ t: Tensor?, _ name: String) throws(FormatError) -> Tensor? {
                    guard let t else { return nil }
                    return try transform(t, name + suffix)
                }
                copy.layers[k][d] = LSTMDirectionWeights(
                    weightIH: try transform(w.weightIH, "weight_ih" + suffix), weightHH: try transform(w.weightHH, "weight_hh" + suffix),
                    biasIH: try map(w.biasIH, "bias_ih"), biasHH: try map(w.biasHH, "bias_hh"),
                    weightHR: try map(w.weightHR, "weight_hr"), peephole: try map(w.peephole, "peephole"))
            }
        }
        return copy
    }

    /// The canonical names (nn.LSTM's, or nn.LSTMCell's for a cell) and tensors, in `state_dict()`
    /// order, each prefixed by `prefix`.
    public func canonicalTensors(prefix: String = "") -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (k, layer) in layers.enumerated() {
            for (d, w) in layer.enumerated() {
                func add(_ kind: CanonicalName.Kind, _ t: Tensor?) {
                    guard let t else { return }
                    out.append(NamedTensor(name: prefix + self.kind.leaf(CanonicalName(kind, layer: k, reverse: d == 1)), tensor: t))
                }
                add(.weightIH, w.weightIH)
                add(.weightHH, w.weightHH)
                add(.biasIH, w.biasIH)
                add(.biasHH, w.biasHH)
                add(.weightHR, w.weightHR)
            }
        }
        return out
    }
}
