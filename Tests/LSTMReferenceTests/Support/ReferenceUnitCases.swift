import Foundation
import LSTMSchema
import TensorFormats

/// The cases of `Fixtures/reference-unit/cases.json` (written by `scripts/fixtures/reference_unit.py`).
struct ReferenceUnitCase: Decodable, CustomStringConvertible, Sendable {
    struct Config: Decodable, Sendable {
        var input_size: Int, hidden_size: Int, num_layers: Int, bidirectional: Bool, proj_size: Int, bias: Bool
        var dtype: String
    }
    struct ONNX: Decodable, Sendable {
        var direction: String, activations: [String], activation_alpha: [Float], activation_beta: [Float]
        var clip: Float?, input_forget: Bool, layout: Int, peepholes: Bool, sequence_lens: Bool
    }
    var name: String
    var file: String
    var producer: String
    var family: String
    var config: Config
    var onnx: ONNX?

    var description: String { name }

    static let directory: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { break }
        }
        return url.appendingPathComponent("Fixtures/reference-unit")
    }()

    static let all: [ReferenceUnitCase] = {
        struct Index: Decodable { var cases: [ReferenceUnitCase] }
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("cases.json")),
              let index = try? JSONDecoder().decode(Index.self, from: data) else { return [] }
        return index.cases
    }()

    static func named(_ name: String) -> ReferenceUnitCase? { all.first { $0.name == name } }

    func tensors() throws -> [NamedTensor] {
        try TensorFileIO.read(path: ReferenceUnitCase.directory.appendingPathComponent(file).path).tensors
    }

    /// The module described by the case, its weights taken from the case's npz.
    func module(_ tensors: [NamedTensor]) throws -> LSTMModule {
        func t(_ name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }
        let c = config
        let lstmConfig = LSTMConfig(inputSize: c.input_size, hiddenSize: c.hidden_size, numLayers: c.num_layers,
                                    bidirectional: c.bidirectional, projSize: c.proj_size, bias: c.bias,
                                    dtype: DType(rawValue: c.dtype) ?? .float32)
        var layers: [[LSTMDirectionWeights]] = []
        for k in 0..<c.num_layers {
            var dirs: [LSTMDirectionWeights] = []
            for d in 0..<(c.bidirectional ? 2 : 1) {
                let s = "_l\(k)" + (d == 1 ? "_reverse" : "")
                guard let wih = t("weight_ih" + s), let whh = t("weight_hh" + s) else {
                    throw FormatError(.corrupt, "\(name): weights of layer \(k) direction \(d) missing")
                }
                dirs.append(LSTMDirectionWeights(weightIH: wih, weightHH: whh, biasIH: t("bias_ih" + s),
                                                 biasHH: t("bias_hh" + s), weightHR: t("weight_hr" + s),
                                                 peephole: t("peephole" + s)))
            }
            layers.append(dirs)
        }
        var features: LSTMVariant?
        if let o = onnx {
            var f = LSTMVariant()
            f.direction = LSTMVariant.Direction(rawValue: o.direction) ?? .forward
            f.activations = o.activations
            f.activationAlpha = o.activation_alpha
            f.activationBeta = o.activation_beta
            f.clip = o.clip
            f.inputForget = o.input_forget
            f.layout = o.layout
            f.hasPeepholes = o.peepholes
            f.hasSequenceLens = o.sequence_lens
            features = f
        }
        return LSTMModule(name: name, config: lstmConfig, layers: layers, variant: features)
    }
}
