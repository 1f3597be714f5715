import Foundation
import LSTMSchema
import Testing
@testable import TensorFormats

/// Every valid fixture of `Fixtures/manifest.json` through every other tensor-map format and
/// back: the same tensors (names, dtypes, shapes, bytes), or the documented refusal.
@Suite struct ConvertMatrixTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        var file: String
        var format: String
        var modules: [String]
        /// ONNX modules' features that nn.LSTM cannot express, by module.
        var onnxOnly: [String: [String]]
        /// Modules no ONNX node can hold either (Keras go_backwards: outputs reversed in time).
        var keepsOnlyInKeras: Set<String> = []
        var testDescription: String { file }
    }

    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        return "."
    }()

    static let fixtures: [Fixture] = {
        guard let data = FileManager.default.contents(atPath: root + "/Fixtures/manifest.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let entries = json["fixtures"] as? [[String: Any]] else { return [] }
        return entries.compactMap { e -> Fixture? in
            guard e["kind"] as? String == "valid", let file = e["file"] as? String, let format = e["format"] as? String else { return nil }
            let lstms = e["lstms"] as? [[String: Any]] ?? []
            var onnxOnly: [String: [String]] = [:]
            var kerasOnly: Set<String> = []
            for l in lstms {
                guard let name = l["module"] as? String, let onnx = l["onnx"] as? [String: Any] else { continue }
                let features = nonPyTorchFeatures(onnx)
                if !features.isEmpty { onnxOnly[name] = features }
                if onnx["output_reversed"] as? Bool == true { kerasOnly.insert(name) }
            }
            return Fixture(file: file, format: format, modules: lstms.compactMap { $0["module"] as? String }, onnxOnly: onnxOnly,
                           keepsOnlyInKeras: kerasOnly)
        }
    }()

    /// The manifest's ONNX node features that nn.LSTM cannot express (DESIGN §2).
    static func nonPyTorchFeatures(_ onnx: [String: Any]) -> [String] {
        var out: [String] = []
        if onnx["direction"] as? String == "reverse" { out.append("reverse") }
        if onnx["has_peepholes"] as? Bool == true { out.append("peepholes") }
        if let clip = onnx["clip"], !(clip is NSNull) { out.append("clip") }
        if onnx["input_forget"] as? Bool == true { out.append("input_forget") }
        let activations = (onnx["activations"] as? [String] ?? []).map { $0.lowercased() }
        if !activations.isEmpty, activations != Array(["sigmoid", "tanh", "tanh"].prefix(activations.count))
            && activations != ["sigmoid", "tanh", "tanh", "sigmoid", "tanh", "tanh"] {
            out.append("activations")
        }
        return out
    }

    /// Tensor-map targets with the extension convert picks them by.
    static let targets: [(FileFormat, String)] = [(.pytorch, "pt"), (.npz, "npz"), (.safetensors, "safetensors")]

    @Test func manifestHasValidFixtures() {
        #expect(Self.fixtures.count > 0, "no valid fixtures in Fixtures/manifest.json")
    }

    @Test(arguments: fixtures)
    func fixtureRoundTripsThroughEveryOtherFormat(_ fixture: Fixture) throws {
        let s = ConvertScratch()
        let source = Self.root + "/Fixtures/" + fixture.file
        let original = try TensorFileIO.read(path: source)
        let sourceTarget = Self.targets.first { $0.0.rawValue == fixture.format }
        for (format, ext) in Self.targets where format != sourceTarget?.0 {
            let there = s.path("there.\(ext)")
            let first = Result { try Conversion.run(ConversionRequest(input: source, output: there, overwrite: true)) }
            if !fixture.onnxOnly.isEmpty {
                let error = try #require(throws: ConversionError.self, "\(fixture.file) → \(ext)") { try first.get() }
                #expect(error.exitCode == 2 && error.description.contains("nn.LSTM cannot express"), "\(error)")
                continue
            }
            _ = try first.get()
            let written = try TensorFileIO.read(path: there)
            if format == .safetensors {
                #expect(written.metadata.map(\.key) == original.metadata.map(\.key), "\(fixture.file) → \(ext): metadata")
                #expect(written.metadata.map(\.value) == original.metadata.map(\.value), "\(fixture.file) → \(ext): metadata")
            }
            let mapped = try LSTMSchemaLoader.load(path: source).discovered.contains(where: \.mapped)
            let expected = mapped ? try onnxExpectation(source, written: written.tensors) : original.tensors
            expectSame(written.tensors, expected, "\(fixture.file) → \(ext)")

            // Back to the fixture's own format when convert writes it; else through a second other format.
            let (backFormat, backExt) = sourceTarget ?? Self.targets.first { $0.0 != format } ?? Self.targets[0]
            let back = s.path("back.\(backExt)")
            _ = try Conversion.run(ConversionRequest(input: there, output: back, overwrite: true))
            _ = backFormat
            expectSame(try TensorFileIO.read(path: back).tensors, expected, "\(fixture.file) → \(ext) → \(backExt)")
        }
    }

    /// Each LSTM module to .onnx and back to nn.LSTM tensors: the module's canonical tensors
    /// (a cell's under nn.LSTM names) bitwise, or (for ONNX modules with features nn.LSTM cannot express) the refusal on the way back.
    @Test(arguments: fixtures.filter { !$0.modules.isEmpty })
    func everyModuleRoundTripsThroughONNX(_ fixture: Fixture) throws {
        let s = ConvertScratch()
        let source = Self.root + "/Fixtures/" + fixture.file
        let loaded = try LSTMSchemaLoader.load(path: source)
        #expect(Set(loaded.modules.map(\.name)) == Set(fixture.modules), "\(fixture.file): modules")
        for module in loaded.modules {
            let onnx = s.path("m.onnx"), back = s.path("back.safetensors")
            let label = "\(fixture.file) [\(module.name)] → onnx → safetensors"
            if fixture.keepsOnlyInKeras.contains(module.name) {
                let error = try #require(throws: ConversionError.self, "\(label)") {
                    try Conversion.run(ConversionRequest(input: source, output: onnx, module: module.name, overwrite: true))
                }
                #expect(error.exitCode == 2 && error.description.contains("go_backwards"), "\(error)")
                continue
            }
            let report = try Conversion.run(ConversionRequest(input: source, output: onnx, module: module.name, overwrite: true))
            #expect(report.outputFormat == .onnx && report.module == module.name, "\(label)")
            let second = Result { try Conversion.run(ConversionRequest(input: onnx, output: back, overwrite: true)) }
            if fixture.onnxOnly[module.name] != nil {
                let error = try #require(throws: ConversionError.self, "\(label)") { try second.get() }
                #expect(error.exitCode == 2 && error.description.contains("nn.LSTM cannot express"), "\(error)")
                continue
            }
            _ = try second.get()
            var asLSTM = module
            asLSTM.kind = .lstm  // a cell becomes a one-layer LSTM graph, read back under nn.LSTM names
            expectSame(try SafetensorsReader.read(path: back).tensors, asLSTM.canonicalTensors(), label)
        }
    }

    /// What a source with mapped modules (ONNX graphs, quantized LSTMs) must become: every mapped module's canonical tensors as the ONNX
    /// mapping gives them (bare for one module, else prefixed `name.`), and otherwise only the
    /// source's own initializers, unchanged (modules found by their initializers' names, such as
    /// decomposed cells, are already canonical).
    func onnxExpectation(_ path: String, written: [NamedTensor]) throws -> [NamedTensor] {
        let loaded = try LSTMSchemaLoader.load(path: path)
        let mapped = loaded.discovered.filter(\.mapped)
        #expect(loaded.modules.count == loaded.discovered.count, "\(path): every module maps")
        let canonical = mapped.flatMap { d in
            d.module.map { $0.canonicalTensors(prefix: mapped.count == 1 && !d.keepsPrefix ? "" : $0.name + ".") } ?? []
        }
        let canonicalNames = Set(canonical.map(\.name))
        let initializers = Dictionary(loaded.file.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var expected = canonical
        for t in written where !canonicalNames.contains(t.name) {
            let source = try #require(initializers[t.name], "\(path): '\(t.name)' is neither canonical nor an initializer")
            expected.append(source)
        }
        return expected
    }

    func expectSame(_ got: [NamedTensor], _ want: [NamedTensor], _ label: String) {
        let g = Dictionary(got.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        #expect(Set(g.keys) == Set(want.map(\.name)), "\(label): names")
        for w in want {
            guard let t = g[w.name] else { continue }
            #expect(t.dtype == w.tensor.dtype, "\(label): \(w.name) dtype")
            #expect(t.shape == w.tensor.shape, "\(label): \(w.name) shape")
            #expect(t.leBytes == w.tensor.leBytes, "\(label): \(w.name) bytes")
        }
    }
}
