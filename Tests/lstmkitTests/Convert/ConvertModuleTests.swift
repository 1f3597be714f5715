import Foundation
import LSTMSchema
import Testing
@testable import TensorFormats

/// `--module` extraction, module choice and schema refusals of ``Conversion``.
@Suite struct ConvertModuleTests {
    /// nn.LSTM(input_size: 3, hidden_size: 4, bidirectional: true) tensors under `prefix`, with
    /// distinct values per tensor.
    static func lstm(_ prefix: String, seed: Float) throws -> [NamedTensor] {
        var out: [NamedTensor] = []
        var v = seed
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in v += 0.25; return v } }
        for s in ["", "_reverse"] {
            out.append(NamedTensor(name: prefix + "weight_ih_l0" + s, tensor: try Tensor(float32: values(48), shape: [16, 3])))
            out.append(NamedTensor(name: prefix + "weight_hh_l0" + s, tensor: try Tensor(float32: values(64), shape: [16, 4])))
            out.append(NamedTensor(name: prefix + "bias_ih_l0" + s, tensor: try Tensor(float32: values(16), shape: [16])))
            out.append(NamedTensor(name: prefix + "bias_hh_l0" + s, tensor: try Tensor(float32: values(16), shape: [16])))
        }
        return out
    }

    func input(_ s: ConvertScratch, _ tensors: [NamedTensor], name: String = "in.safetensors") throws -> String {
        let out = try OutputFile(path: s.path(name), overwrite: true)
        try SafetensorsWriter.write(tensors, metadata: [], to: out)
        try out.commit()
        return s.path(name)
    }

    @Test func moduleIsWrittenWithBareNamesAndSameBytes() throws {
        let s = ConvertScratch()
        let enc = try Self.lstm("model.enc.rnn.", seed: 0)
        let dec = try Self.lstm("model.dec.rnn.", seed: 100)
        let fc = NamedTensor(name: "model.fc.weight", tensor: try Tensor(float32: [1, 2], shape: [1, 2]))
        let path = try input(s, enc + dec + [fc])
        let report = try Conversion.run(ConversionRequest(input: path, output: s.path("dec.safetensors"), module: "model.dec.rnn"))
        #expect(report.module == "model.dec.rnn")
        #expect(report.tensors.map(\.name) == dec.map { String($0.name.dropFirst("model.dec.rnn.".count)) })
        let back = try SafetensorsReader.read(path: s.path("dec.safetensors"))
        #expect(back.tensors.count == 8)
        for t in dec {
            let bare = String(t.name.dropFirst("model.dec.rnn.".count))
            #expect(try #require(back[bare]).leBytes == t.tensor.leBytes, "\(bare)")
        }
    }

    @Test func withoutModuleEveryTensorKeepsItsName() throws {
        let s = ConvertScratch()
        let tensors = try Self.lstm("a.", seed: 0) + [NamedTensor(name: "step", tensor: try Tensor(int64: [5], shape: []))]
        let path = try input(s, tensors)
        let report = try Conversion.run(ConversionRequest(input: path, output: s.path("all.safetensors")))
        #expect(Set(report.tensors.map(\.name)) == Set(tensors.map(\.name)))
        #expect(report.module == nil)
    }

    @Test func rootModuleIsNamedEmptyOrRoot() throws {
        let s = ConvertScratch()
        let path = try input(s, try Self.lstm("", seed: 0))
        for (i, name) in ["", "(root)"].enumerated() {
            let report = try Conversion.run(ConversionRequest(input: path, output: s.path("r\(i).safetensors"), module: name))
            #expect(report.module == "")
            #expect(report.tensors.count == 8)
        }
    }

    @Test func unknownModuleIsRefusedListingTheModules() throws {
        let s = ConvertScratch()
        let path = try input(s, try Self.lstm("enc.", seed: 0) + Self.lstm("dec.", seed: 1))
        let error = try #require(throws: ConversionError.self) {
            try Conversion.run(ConversionRequest(input: path, output: s.path("x.safetensors"), module: "decoder"))
        }
        #expect(error.exitCode == 64)
        #expect(error.description == "\(path): --module decoder: no such LSTM; the file holds 'dec', 'enc'")
        #expect(!FileManager.default.fileExists(atPath: s.path("x.safetensors")))
    }

    @Test func onnxTargetNeedsOneModule() throws {
        let s = ConvertScratch()
        let path = try input(s, try Self.lstm("enc.", seed: 0) + Self.lstm("dec.", seed: 1))
        let error = try #require(throws: ConversionError.self) {
            try Conversion.run(ConversionRequest(input: path, output: s.path("x.onnx")))
        }
        #expect(error.exitCode == 64)
        #expect(error.description.contains("holds 2 LSTMs ('dec', 'enc'); an ONNX file holds one: pick it with --module"))
        #expect(s.listing == ["in.safetensors"])
    }

    @Test func moduleBreakingTheSchemaIsACheckFailure() throws {
        let s = ConvertScratch()
        var tensors = try Self.lstm("enc.", seed: 0)
        tensors[5] = NamedTensor(name: "enc.weight_hh_l0_reverse", tensor: try Tensor(float32: Array(repeating: 0, count: 60), shape: [15, 4]))
        let path = try input(s, tensors)
        let error = try #require(throws: ConversionError.self) {
            try Conversion.run(ConversionRequest(input: path, output: s.path("x.safetensors"), module: "enc"))
        }
        #expect(error.kind == .schema && error.exitCode == 1)
        #expect(error.description.contains("LSTM 'enc' does not match the nn.LSTM schema (1 problem; run lstmkit validate): "))
        #expect(error.description.contains("enc.weight_hh_l0_reverse"))
        #expect(s.listing == ["in.safetensors"])
    }

    @Test func castModuleKeepsConfigInStep() throws {
        let s = ConvertScratch()
        let path = try input(s, try Self.lstm("", seed: 0))
        let report = try Conversion.run(ConversionRequest(input: path, output: s.path("b.safetensors"), module: "", dtype: .bfloat16))
        #expect(report.tensors.allSatisfy { $0.dtype == .bfloat16 })
        let back = try SafetensorsReader.read(path: s.path("b.safetensors"))
        let src = try SafetensorsReader.read(path: path)
        for t in back.tensors {
            let want = try #require(src[t.name]).floats().map { HalfPrecision.bfloat16(from: $0) }
            let got = t.tensor.leBytes.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
            #expect(got == want, "\(t.name)")
        }
    }
}
