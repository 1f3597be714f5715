import Foundation
import Testing
import TensorFormats
@testable import LSTMSchema

/// Deterministic random modules (every gate, direction and layer different).
enum RandomModule {
    struct Generator {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 1_000_000) / 1_000_000 - 0.5
        }
    }

    static func make(_ c: LSTMConfig, name: String = "rnn", seed: UInt64 = 1) throws -> LSTMModule {
        var g = Generator(state: seed)
        func t(_ shape: [Int]) throws -> Tensor {
            try Tensor(float32: (0..<shape.reduce(1, *)).map { _ in g.next() }, shape: shape).converted(to: c.dtype)
        }
        var layers: [[LSTMDirectionWeights]] = []
        for k in 0..<c.numLayers {
            var dirs: [LSTMDirectionWeights] = []
            for _ in 0..<c.numDirections {
                var w = LSTMDirectionWeights(weightIH: try t([4 * c.hiddenSize, c.layerInputSize(k)]),
                                             weightHH: try t([4 * c.hiddenSize, c.outputSize]))
                if c.bias {
                    w.biasIH = try t([4 * c.hiddenSize])
                    w.biasHH = try t([4 * c.hiddenSize])
                }
                if c.projSize > 0 { w.weightHR = try t([c.projSize, c.hiddenSize]) }
                dirs.append(w)
            }
            layers.append(dirs)
        }
        return LSTMModule(name: name, config: c, layers: layers)
    }
}

@Suite struct ONNXExportTests {
    /// Writes `model` to a temporary file and maps it back.
    func readBack(_ model: ONNXModel) throws -> [LSTMModule] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lstmkit-export-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = try OutputFile(path: dir + "/m.onnx", overwrite: false)
        #expect(try ONNXModelFile.write(model, to: out) == nil)
        try out.commit()
        return try ONNXLSTMMapping.modules(path: dir + "/m.onnx")
    }

    func expectSame(_ a: LSTMModule, _ b: LSTMModule, _ context: String) {
        #expect(a.name == b.name, "\(context)")
        #expect(a.config == b.config, "\(context)")
        let x = a.canonicalTensors(), y = b.canonicalTensors()
        #expect(x.map(\.name) == y.map(\.name), "\(context)")
        for (s, t) in zip(x, y) {
            #expect(s.tensor.shape == t.tensor.shape && s.tensor.dtype == t.tensor.dtype, "\(context) \(s.name)")
            let u = try! s.tensor.contiguous(), v = try! t.tensor.contiguous()
            #expect(u.contiguousBytes.map(Array.init) == v.contiguousBytes.map(Array.init), "\(context) \(s.name)")
        }
    }

    static let configs: [LSTMConfig] = [
        LSTMConfig(inputSize: 3, hiddenSize: 4),
        LSTMConfig(inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true),
        LSTMConfig(inputSize: 5, hiddenSize: 6, numLayers: 3, bias: false),
        LSTMConfig(inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, dtype: .float64),
        LSTMConfig(inputSize: 3, hiddenSize: 5, projSize: 2),
        LSTMConfig(inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 3),
        LSTMConfig(inputSize: 4, hiddenSize: 6, numLayers: 2, bidirectional: true, projSize: 2, bias: false),
    ]

    @Test(arguments: configs)
    func exportThenReadGivesTheSameModule(config: LSTMConfig) throws {
        let m = try RandomModule.make(config, name: "encoder.rnn")
        for options in [ONNXExportOptions(), ONNXExportOptions(batchFirst: true, initialState: .required, opset: 20),
                        ONNXExportOptions(initialState: .optional, opset: 13)] {
            let modules = try readBack(try ONNXLSTMExport.model(for: m, options: options))
            #expect(modules.count == 1)
            if let back = modules.first { expectSame(m, back, "\(config) opset \(String(describing: options.opset))") }
        }
    }

    @Test func defaultGraphLooksLikeTorchsExport() throws {
        let m = try RandomModule.make(LSTMConfig(inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true))
        let model = try ONNXLSTMExport.model(for: m)
        #expect(model.irVersion == 8 && model.opsetVersion() == 17 && model.producerName == "lstmkit")
        let g = model.graph
        #expect(g.inputs.map(\.name) == ["x"])
        #expect(g.inputs[0].shape == [.param("seq"), .param("batch"), .value(3)])
        #expect(g.outputs.map(\.name) == ["output", "h_n", "c_n"])
        #expect(g.outputs.map(\.shape) == [[.param("seq"), .param("batch"), .value(8)],
                                          [.value(4), .param("batch"), .value(4)], [.value(4), .param("batch"), .value(4)]])
        #expect(g.initializers.filter { $0.dims.count > 1 || $0.name.hasSuffix(".B") }.map(\.name)
                == ["rnn.l0.W", "rnn.l0.R", "rnn.l0.B", "rnn.l1.W", "rnn.l1.R", "rnn.l1.B"])
        #expect(g.initializer(named: "rnn.l1.W")?.dims == [2, 16, 8])
        #expect(g.nodes.filter { $0.opType == "LSTM" }.map(\.name) == ["rnn/LSTM", "rnn/LSTM_1"])
        #expect(g.nodes.map(\.opType) == ["LSTM", "Transpose", "Reshape", "LSTM", "Transpose", "Reshape", "Concat", "Concat"])
        let lstm = g.nodes[0]
        #expect(lstm.attribute("hidden_size")?.int == 4 && lstm.attribute("direction")?.string == "bidirectional")
        #expect(lstm.inputs == ["x", "rnn.l0.W", "rnn.l0.R", "rnn.l0.B"])
        #expect(model.metadata("lstmkit.module") == "rnn" && model.metadata("lstmkit.lowering") == "lstm-node")
        #expect(model.metadata("lstmkit.bidirectional") == "true" && model.metadata("lstmkit.num_layers") == "2")
        // Same module, same bytes.
        #expect(try ONNXModelFile.serialized(model) == (try ONNXModelFile.serialized(try ONNXLSTMExport.model(for: m))))
    }

    @Test func uniDirectionalLayersAreJoinedBySqueeze() throws {
        let m = try RandomModule.make(LSTMConfig(inputSize: 3, hiddenSize: 4, numLayers: 2))
        let g = try ONNXLSTMExport.model(for: m, options: ONNXExportOptions(batchFirst: true, initialState: .required)).graph
        #expect(g.inputs.map(\.name) == ["x", "h0", "c0"])
        #expect(g.nodes.map(\.opType) == ["Transpose", "Slice", "Slice", "LSTM", "Squeeze", "Slice", "Slice", "LSTM", "Squeeze", "Transpose", "Concat", "Concat"])
        #expect(g.outputs[0].shape == [.param("batch"), .param("seq"), .value(4)])
    }

    @Test func projectedModuleLowersToScansWithTorchNames() throws {
        let m = try RandomModule.make(LSTMConfig(inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 2), name: "lstmp")
        let model = try ONNXLSTMExport.model(for: m)
        let g = model.graph
        #expect(!g.nodes.contains { $0.opType == "LSTM" })
        #expect(g.nodes.filter { $0.opType == "Scan" }.count == 4)
        #expect(g.initializer(named: "rnn.weight_hr_l1_reverse")?.dims == [2, 5])
        #expect(g.initializer(named: "rnn.weight_ih_l1")?.dims == [20, 4])
        #expect(g.outputs.map(\.shape) == [[.param("seq"), .param("batch"), .value(4)],
                                          [.value(4), .param("batch"), .value(2)], [.value(4), .param("batch"), .value(5)]])
        let reverse = try #require(g.nodes.filter { $0.opType == "Scan" }.map { $0.attribute("scan_input_directions")?.ints })
        #expect(reverse == [[0], [1], [0], [1]])
        #expect(model.metadata("lstmkit.lowering") == "scan-projection" && model.metadata("lstmkit.proj_size") == "2")
    }

    @Test func onnxFeaturesSurviveExportAndReadBack() throws {
        for name in ["hb_peephole_features", "hb_reverse_float_data"] {
            let original = try #require(try ONNXLSTMMapping.modules(path: ONNXFixtures.path(name + ".onnx")).first)
            let back = try #require(try readBack(try ONNXLSTMExport.model(for: original)).first)
            expectSame(original, back, name)
            var expected = try #require(original.variant)
            expected.hasSequenceLens = false  // the exported graph has no sequence_lens input
            #expect(back.variant == expected, "\(name)")
            #expect(back.layers.flatMap { $0.compactMap(\.peephole) }.map { $0.floats() }
                    == original.layers.flatMap { $0.compactMap(\.peephole) }.map { $0.floats() })
        }
    }

    /// The default opset is 17 for every dtype; bfloat16 and float64 weights are stored as they are
    /// and Cast to float32 for the LSTM (bfloat16 graph I/O is float32, float64's is float64).
    @Test func opsetIRAndComputeTypeFollowTheDtype() throws {
        let c = LSTMConfig(inputSize: 3, hiddenSize: 4, bidirectional: true)
        let f32 = try ONNXLSTMExport.model(for: try RandomModule.make(c))
        #expect(f32.opsetVersion() == 17 && f32.irVersion == 8)
        #expect(!f32.graph.nodes.contains { $0.opType == "Cast" })
        for (dtype, io) in [(DType.bfloat16, ONNXDataType.float), (.float64, ONNXDataType(.float64)), (.float16, ONNXDataType(.float16))] {
            var d = c
            d.dtype = dtype
            let m = try ONNXLSTMExport.model(for: try RandomModule.make(d))
            #expect(m.opsetVersion() == 17, "\(dtype)")
            #expect(m.graph.initializer(named: "rnn.l0.W")?.tensor?.dtype == dtype, "\(dtype)")
            #expect(m.graph.inputs[0].elementType == io && m.graph.outputs.allSatisfy { $0.elementType == io }, "\(dtype)")
            let casts = m.graph.nodes.filter { $0.opType == "Cast" }.count
            #expect(dtype == .float16 ? casts == 0 : casts >= 3, "\(dtype): \(casts) Cast nodes")
            #expect((ONNXExportOptions.computeNote(for: dtype) != nil) == (dtype != .float16))
        }
        let v20 = try ONNXLSTMExport.model(for: try RandomModule.make(c), options: ONNXExportOptions(opset: 20))
        #expect(v20.irVersion == 9)
        let v28 = try ONNXLSTMExport.model(for: try RandomModule.make(c), options: ONNXExportOptions(opset: 28))
        #expect(v28.irVersion == 14)
        #expect(throws: FormatError.self) { try ONNXLSTMExport.model(for: try RandomModule.make(c), options: ONNXExportOptions(opset: 29)) }
    }

    @Test func badModulesAndOptionsAreRefused() throws {
        let m = try RandomModule.make(LSTMConfig(inputSize: 3, hiddenSize: 4, numLayers: 2))
        #expect(throws: FormatError.self) { try ONNXLSTMExport.model(for: m, options: ONNXExportOptions(opset: 12)) }
        var bad = m
        bad.layers[1][0].weightIH = try Tensor(float32: [Float](repeating: 0, count: 16 * 3), shape: [16, 3])
        do {
            _ = try ONNXLSTMExport.model(for: bad)
            Issue.record("a wrong weight_ih_l1 shape was exported")
        } catch {
            #expect(error.message.contains("weight_ih_l1") && error.message.contains("[16, 4]"), "\(error)")
        }
        var projected = try RandomModule.make(LSTMConfig(inputSize: 3, hiddenSize: 4, projSize: 2))
        var f = LSTMVariant()
        f.clip = 1
        projected.variant = f
        #expect(throws: FormatError.self) { try ONNXLSTMExport.model(for: projected) }
    }
}
