import TensorFormats

/// The hyper-parameters of one `nn.LSTM`, inferred from its tensors.
///
/// Shapes they imply (H = hiddenSize, I = inputSize, D = 2 if bidirectional else 1,
/// R = projSize if > 0 else H):
///
/// | tensor | shape |
/// |---|---|
/// | `weight_ih_l0` | (4H, I) |
/// | `weight_ih_lk`, k > 0 | (4H, D·R) |
/// | `weight_hh_lk` | (4H, R) |
/// | `bias_ih_lk`, `bias_hh_lk` | (4H) when `bias` |
/// | `weight_hr_lk` | (projSize, H) when projSize > 0 |
public struct LSTMConfig: Equatable, Hashable, Sendable, Codable {
    public var inputSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var bidirectional: Bool
    public var projSize: Int
    public var bias: Bool
    public var dtype: DType

    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bidirectional: Bool = false,
                projSize: Int = 0, bias: Bool = true, dtype: DType = .float32) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.projSize = projSize
        self.bias = bias
        self.dtype = dtype
    }

    /// D: 2 when bidirectional, else 1.
    public var numDirections: Int { bidirectional ? 2 : 1 }
    /// R: the size of h (projSize when projecting, else hiddenSize).
    public var outputSize: Int { projSize > 0 ? projSize : hiddenSize }
    /// Input width of layer `k`: I for k = 0, D·R after.
    public func layerInputSize(_ k: Int) -> Int { k == 0 ? inputSize : numDirections * outputSize }
}
