import TensorFormats
@testable import LSTMSchema

/// nn.LSTM state dicts built in code: the names, order and shapes of `torch.nn.LSTM(...).state_dict()`
/// (reference/pytorch-checkpoints.md §6), with distinct values per tensor and element.
enum StateDict {
    static func lstm(_ c: LSTMConfig, prefix: String = "", seed: Float = 0) -> [NamedTensor] {
        var out: [NamedTensor] = []
        var n = seed
        func tensor(_ shape: [Int]) -> Tensor {
            let count = shape.reduce(1, *)
            let values = (0..<count).map { i in n + Float(i) * 0.001 }
            n += 1
            let t = try! Tensor(float32: values, shape: shape)
            return c.dtype == .float32 ? t : try! t.converted(to: c.dtype)
        }
        let g = 4 * c.hiddenSize
        for k in 0..<c.numLayers {
            for s in c.bidirectional ? ["", "_reverse"] : [""] {
                out.append(.init(name: "\(prefix)weight_ih_l\(k)\(s)", tensor: tensor([g, c.layerInputSize(k)])))
                out.append(.init(name: "\(prefix)weight_hh_l\(k)\(s)", tensor: tensor([g, c.outputSize])))
                if c.bias {
                    out.append(.init(name: "\(prefix)bias_ih_l\(k)\(s)", tensor: tensor([g])))
                    out.append(.init(name: "\(prefix)bias_hh_l\(k)\(s)", tensor: tensor([g])))
                }
                if c.projSize > 0 {
                    out.append(.init(name: "\(prefix)weight_hr_l\(k)\(s)", tensor: tensor([c.projSize, c.hiddenSize])))
                }
            }
        }
        return out
    }

    /// A float32 tensor of `shape` (values irrelevant).
    static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        let t = try! Tensor(float32: [Float](repeating: 0, count: shape.reduce(1, *)), shape: shape)
        return dtype == .float32 ? t : try! t.converted(to: dtype)
    }

    static func int64s(_ shape: [Int]) -> Tensor {
        try! Tensor(int64: [Int64](repeating: 1, count: shape.reduce(1, *)), shape: shape)
    }
}

extension Array where Element == NamedTensor {
    func removing(_ names: String...) -> [NamedTensor] { filter { !names.contains($0.name) } }

    func replacing(_ name: String, with tensor: Tensor) -> [NamedTensor] {
        map { $0.name == name ? NamedTensor(name: name, tensor: tensor) : $0 }
    }

    var file: TensorFile { TensorFile(path: "test.npz", format: .npz, tensors: self) }
}
