import Foundation
import Testing
import TensorFormats
@testable import LSTMSchema

/// Fixtures made by scripts/fixtures/onnx_unit.py, with JSON sidecars of expected modules.
enum ONNXFixtures {
    static let folder: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { break }
        }
        return url.appendingPathComponent("Fixtures/onnx-unit").path
    }()

    static func path(_ name: String) -> String { folder + "/" + name }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name + ".json")))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func config(_ c: [String: Any]) throws -> LSTMConfig {
        let dtype = try #require(c["dtype"] as? String)
        return LSTMConfig(inputSize: try #require(c["input_size"] as? Int), hiddenSize: try #require(c["hidden_size"] as? Int),
                   numLayers: try #require(c["num_layers"] as? Int), bidirectional: try #require(c["bidirectional"] as? Bool),
                   projSize: try #require(c["proj_size"] as? Int), bias: try #require(c["bias"] as? Bool),
                   dtype: try #require(DType(rawValue: dtype)))
    }

    /// name → (shape, values as Float: the fixtures are float32).
    static func tensors(_ t: Any?) throws -> [String: (shape: [Int], values: [Float])] {
        let dict = try #require(t as? [String: [String: Any]])
        return try dict.mapValues { v in
            (try #require(v["shape"] as? [Int]), try #require(v["data"] as? [NSNumber]).map(\.floatValue))
        }
    }
}

@Suite struct ONNXMappingTests {
    /// Asserts that `module` holds exactly the expected canonical tensors (names, shapes, values).
    func expectTensors(_ module: LSTMModule, _ expected: [String: (shape: [Int], values: [Float])], _ context: String) {
        let got = module.canonicalTensors()
        #expect(Set(got.map(\.name)) == Set(expected.keys), "\(context)")
        for t in got {
            guard let e = expected[t.name] else { continue }
            #expect(t.tensor.shape == e.shape, "\(context) \(t.name)")
            #expect(t.tensor.floats() == e.values, "\(context) \(t.name)")
        }
    }

    @Test(arguments: ["ts_l2_bi", "ts_l2_uni_nobias", "ts_l1_bf_state", "dyn_l2_bi", "dyn_l2_uni",
                      "dyn_l3_bi_bf_state", "ts_two_lstms", "dyn_two_lstms", "hb_external"])
    func exportedModelsMapToTheTorchStateDict(name: String) throws {
        let json = try ONNXFixtures.json(name)
        let expected = try #require(json["modules"] as? [[String: Any]])
        let modules = try ONNXLSTMMapping.modules(path: ONNXFixtures.path(name + ".onnx"))
        #expect(modules.count == expected.count, "\(name)")
        for (m, e) in zip(modules, expected) {
            #expect(m.config == (try ONNXFixtures.config(try #require(e["config"] as? [String: Any]))), "\(name)")
            expectTensors(m, try ONNXFixtures.tensors(e["tensors"]), name)
            #expect(m.variant?.nonPyTorchFeatures == [], "\(name)")
            #expect(!m.name.isEmpty)
        }
    }

    @Test func moduleNamesAreTheFirstNodeNames() throws {
        #expect(try ONNXLSTMMapping.modules(path: ONNXFixtures.path("ts_l2_bi.onnx")).map(\.name) == ["/rnn/LSTM"])
        #expect(try ONNXLSTMMapping.modules(path: ONNXFixtures.path("ts_two_lstms.onnx")).map(\.name) == ["/encoder/LSTM", "/decoder/LSTM"])
        #expect(try ONNXLSTMMapping.modules(path: ONNXFixtures.path("hb_constant_weights.onnx")).map(\.name) == ["stack/LSTM"])
    }

    @Test func moduleInitializersIncludeExporterPlumbingOnly() throws {
        // Dynamo exports keep zero states, Reshape shapes and Slice bounds as initializers: all belong
        // to the one LSTM, so a conversion to .pt leaves nothing else behind.
        for name in ["dyn_l2_bi", "dyn_l3_bi_bf_state", "dyn_l2_uni"] {
            let model = try ONNXModelFile.read(path: ONNXFixtures.path(name + ".onnx"))
            let mapped = try ONNXLSTMMapping.mapped(in: model)
            #expect(mapped.count == 1)
            #expect(mapped.first?.initializers == model.graph.initializers.map(\.name), "\(name)")
        }
        // In a whole model the other layers' weights stay outside the modules.
        let model = try ONNXModelFile.read(path: ONNXFixtures.path("ts_two_lstms.onnx"))
        let mapped = try ONNXLSTMMapping.mapped(in: model)
        let consumed = Set(mapped.flatMap(\.initializers))
        let others = model.graph.initializers.map(\.name).filter { !consumed.contains($0) }
        #expect(Set(others) == ["proj.bias", "head.bias", "onnx::MatMul_435", "onnx::MatMul_552"])
        #expect(mapped.map { $0.initializers.count } == [6, 3])
    }

    @Test func reverseOnlyFromFloatData() throws {
        let e = try #require(try ONNXFixtures.json("hb_reverse_float_data")["modules"] as? [[String: Any]])[0]
        let m = try #require(try ONNXLSTMMapping.modules(path: ONNXFixtures.path("hb_reverse_float_data.onnx")).first)
        #expect(m.name == "rev_lstm")
        #expect(m.config == (try ONNXFixtures.config(try #require(e["config"] as? [String: Any]))))
        #expect(m.variant?.direction == .reverse)
        #expect(m.variant?.nonPyTorchFeatures == ["reverse-only direction"])
        expectTensors(m, try ONNXFixtures.tensors(e["tensors"]), "reverse")
    }

    @Test func peepholesClipInputForgetActivationsAndSequenceLens() throws {
        let e = try #require(try ONNXFixtures.json("hb_peephole_features")["modules"] as? [[String: Any]])[0]
        let m = try #require(try ONNXLSTMMapping.modules(path: ONNXFixtures.path("hb_peephole_features.onnx")).first)
        let f = try #require(m.variant)
        #expect(f.direction == .bidirectional)
        #expect(f.activations == ["HardSigmoid", "Tanh", "Tanh", "Sigmoid", "ScaledTanh", "Tanh"])
        #expect(f.activationAlpha == [0.3, 1.5] && f.activationBeta == [0.4, 0.7])
        #expect(f.clip == 2.5 && f.inputForget && f.hasPeepholes && f.hasSequenceLens && f.layout == 0)
        #expect(f.nonPyTorchFeatures.count == 4)
        expectTensors(m, try ONNXFixtures.tensors(e["tensors"]), "features")
        let p = try #require(try ONNXFixtures.tensors(e["peepholes"])["P"])
        let got = m.layers[0].compactMap(\.peephole).flatMap { $0.floats() }
        #expect(got == p.values)
    }

    @Test func constantNodesIdentityAndSqueezeAttributeChain() throws {
        let e = try #require(try ONNXFixtures.json("hb_constant_weights")["modules"] as? [[String: Any]])[0]
        let modules = try ONNXLSTMMapping.modules(path: ONNXFixtures.path("hb_constant_weights.onnx"))
        #expect(modules.count == 1)
        let m = try #require(modules.first)
        #expect(m.config == (try ONNXFixtures.config(try #require(e["config"] as? [String: Any]))))
        expectTensors(m, try ONNXFixtures.tensors(e["tensors"]), "constants")
    }

    @Test(arguments: ["hb_bad_hidden_size", "hb_missing_w", "hb_chain_mismatch"])
    func inconsistentNodesAreFormatErrors(name: String) throws {
        let e = try #require(try ONNXFixtures.json(name)["error"] as? [String: String])
        do {
            _ = try ONNXLSTMMapping.modules(path: ONNXFixtures.path(name + ".onnx"))
            Issue.record("\(name) mapped without error")
        } catch {
            #expect(error.reason.rawValue == e["reason"], "\(error)")
            #expect(error.entry == e["entry"], "\(error)")
            #expect(error.message.contains(e["contains"]!), "\(error)")
            #expect(error.file.hasSuffix(name + ".onnx"))
        }
    }

    @Test func gatePermutationIsTheDocumentedOne() throws {
        // ONNX W rows are blocks i, o, f, c of H rows each; torch wants i, f, g(=c), o.
        let h = 2, inputs = 1
        let w = try Tensor(float32: (0..<8).map(Float.init), shape: [1, 4 * h, inputs])  // block k holds 2k, 2k+1
        let r = try Tensor(float32: (0..<16).map { Float(100 + $0) }, shape: [1, 4 * h, h])
        let b = try Tensor(float32: (0..<16).map { Float(200 + $0) }, shape: [1, 8 * h])
        let graph = ONNXGraph(nodes: [ONNXNode(name: "n", opType: "LSTM", inputs: ["x", "W", "R", "B"], outputs: ["Y"],
                                               attributes: [.int("hidden_size", 2)])],
                              initializers: [ONNXTensor(name: "W", tensor: w), ONNXTensor(name: "R", tensor: r), ONNXTensor(name: "B", tensor: b)])
        let m = try #require(try ONNXLSTMMapping.modules(in: ONNXModel(graph: graph)).first)
        let d = m.layers[0][0]
        #expect(d.weightIH.floats() == [0, 1, 4, 5, 6, 7, 2, 3])
        #expect(d.weightHH.floats() == [100, 101, 102, 103, 108, 109, 110, 111, 112, 113, 114, 115, 104, 105, 106, 107])
        #expect(d.biasIH?.floats() == [200, 201, 204, 205, 206, 207, 202, 203])
        #expect(d.biasHH?.floats() == [208, 209, 212, 213, 214, 215, 210, 211])
    }
}
