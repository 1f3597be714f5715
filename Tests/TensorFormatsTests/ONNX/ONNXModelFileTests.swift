import Foundation
import Testing
@testable import TensorFormats

/// Fixtures made by scripts/fixtures/onnx_unit.py (each with a JSON sidecar of expectations).
enum ONNXUnitFixtures {
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

    /// A fresh temporary folder, removed by the caller.
    static func temporaryFolder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lstmkit-onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }
}

/// Protobuf bytes by hand, for malformed-input tests.
enum Wire {
    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }
    static func key(_ field: Int, _ wire: Int) -> [UInt8] { varint(UInt64(field << 3 | wire)) }
    static func int(_ field: Int, _ v: Int64) -> [UInt8] { key(field, 0) + varint(UInt64(bitPattern: v)) }
    static func bytes(_ field: Int, _ b: [UInt8]) -> [UInt8] { key(field, 2) + varint(UInt64(b.count)) + b }
    static func string(_ field: Int, _ s: String) -> [UInt8] { bytes(field, Array(s.utf8)) }
}

@Suite struct ONNXModelFileTests {
    func readError(_ path: String, limits: Limits = .default) -> FormatError? {
        do {
            _ = try ONNXModelFile.read(path: path, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    func withBytes<T>(_ bytes: [UInt8], _ body: (String) throws -> T) throws -> T {
        let dir = try ONNXUnitFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/m.onnx"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try body(path)
    }

    @Test func everyTypedPayloadFieldDecodes() throws {
        let expected = try #require(try ONNXUnitFixtures.json("hb_typed_fields")["tensors"] as? [String: [String: Any]])
        let file = try MappedFile(path: ONNXUnitFixtures.path("hb_typed_fields.onnx"))
        let tf = try ONNXModelFile.readTensors(file: file)
        #expect(tf.format == .onnx)
        #expect(Set(tf.tensors.map(\.name)) == Set(expected.keys))
        #expect(tf.notes.count == 1 && tf.notes[0].contains("'s'"))
        for (name, e) in expected {
            let t = try #require(tf[name], "\(name)")
            #expect(t.dtype.name == e["dtype"] as? String, "\(name)")
            #expect(t.shape == e["shape"] as? [Int], "\(name)")
            let data = try #require(e["data"] as? [NSNumber])
            switch t.dtype {
            case .int64: #expect(t.int64s() == data.map { $0.int64Value }, "\(name)")
            case .uint64:
                let raw = try #require(t.contiguousBytes)
                #expect(raw.loadUnaligned(as: UInt64.self) == data[0].uint64Value)
            case .float64: #expect(t.doubles() == data.map { $0.doubleValue }, "\(name)")
            // Compared as Float: Foundation's JSON number parsing is not always correctly rounded.
            default: #expect(t.floats() == data.map { $0.floatValue }, "\(name)")
            }
        }
    }

    @Test func torchExportReadsWithZeroCopyInitializers() throws {
        let model = try ONNXModelFile.read(path: ONNXUnitFixtures.path("ts_l2_bi.onnx"))
        #expect(model.producerName == "pytorch")
        #expect(model.opsetVersion() == 20)
        let lstms = model.graph.nodes.filter { $0.opType == "LSTM" }
        #expect(lstms.map(\.name) == ["/rnn/LSTM", "/rnn/LSTM_1"])
        #expect(lstms[0].attribute("hidden_size")?.int == 4)
        #expect(lstms[0].attribute("direction")?.string == "bidirectional")
        #expect(lstms[0].inputs.count == 7 && lstms[0].input(4) == nil)
        #expect(model.graph.initializers.count == 6)
        for i in model.graph.initializers {
            let t = try #require(i.tensor)
            #expect(t.storage.isMapped, "\(i.name) should be a view of the mapped file")
            #expect(t.dtype == .float32)
        }
        let shapes = Set(model.graph.initializers.map(\.dims))
        #expect(shapes == [[2, 32], [2, 16, 3], [2, 16, 4], [2, 16, 8]])
        let x = try #require(model.graph.inputs.first)
        #expect(x.name == "x" && x.elementType == .float && x.shape == [.value(5), .value(2), .value(3)])
        // Constant nodes carry their tensors.
        let c = try #require(model.graph.nodes.first { $0.opType == "Constant" }?.attribute("value")?.tensor)
        #expect(c.tensor != nil)
    }

    @Test func dynamoExternalDataIsMapped() throws {
        let model = try ONNXModelFile.read(path: ONNXUnitFixtures.path("dyn_l2_bi.onnx"))
        let external = model.graph.initializers.filter { $0.dims == [2, 16, 3] || $0.dims == [2, 16, 8] }
        #expect(external.count == 2)
        for i in external { #expect(i.tensor?.storage.isMapped == true) }
        #expect(model.graph.nodes.first?.attribute("input_forget")?.int == 0)
    }

    @Test func externalDataAtOffsets() throws {
        let model = try ONNXModelFile.read(path: ONNXUnitFixtures.path("hb_external.onnx"))
        let w = try #require(model.graph.initializer(named: "W")?.tensor)
        #expect(w.shape == [1, 12, 2])
        let blob = try Data(contentsOf: URL(fileURLWithPath: ONNXUnitFixtures.path("hb_external.bin")))
        let expected = blob.prefix(96).withUnsafeBytes { raw in (0..<24).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        #expect(w.floats() == expected)
        let b = try #require(model.graph.initializer(named: "B")?.tensor)
        #expect(b.shape == [1, 24])
    }

    @Test(arguments: ["hb_external_absolute", "hb_external_dotdot", "hb_external_past_end"])
    func badExternalDataIsRefused(name: String) throws {
        let e = try #require(try ONNXUnitFixtures.json(name)["error"] as? [String: String])
        let error = try #require(readError(ONNXUnitFixtures.path(name + ".onnx")))
        #expect(error.reason.rawValue == e["reason"])
        #expect(error.entry == e["entry"])
        #expect(error.message.contains(e["contains"]!), "\(error)")
        #expect(error.file.hasSuffix(name + ".onnx"))
    }

    @Test func symlinkLeavingTheFolderIsRefused() throws {
        let outside = try ONNXUnitFixtures.temporaryFolder()
        let inside = outside + "/model"
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ONNXUnitFixtures.path("hb_external.bin"), toPath: outside + "/secret.bin")
        try FileManager.default.copyItem(atPath: ONNXUnitFixtures.path("hb_external.onnx"), toPath: inside + "/m.onnx")
        try FileManager.default.createSymbolicLink(atPath: inside + "/hb_external.bin", withDestinationPath: "../secret.bin")
        let error = try #require(readError(inside + "/m.onnx"))
        #expect(error.reason == .hostile && error.message.contains("outside"), "\(error)")
        // The same data file, really inside the folder, reads.
        try FileManager.default.removeItem(atPath: inside + "/hb_external.bin")
        try FileManager.default.copyItem(atPath: outside + "/secret.bin", toPath: inside + "/hb_external.bin")
        #expect(readError(inside + "/m.onnx") == nil)
    }

    @Test func truncatedAndGarbageFilesFailWithOffsets() throws {
        let t = try #require(readError(ONNXUnitFixtures.path("truncated.onnx")))
        #expect(t.reason == .truncated && t.offset != nil, "\(t)")
        #expect(t.description.contains("truncated.onnx"))
        let g = try #require(readError(ONNXUnitFixtures.path("garbage.onnx")))
        #expect(g.offset != nil || g.reason == .corrupt, "\(g)")
        // Every prefix of a real model either reads or fails cleanly.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: ONNXUnitFixtures.path("ts_l1_bf_state.onnx"))))
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            _ = try withBytes(Array(bytes[0..<cut])) { readError($0) }
        }
    }

    @Test func unknownFieldsAndPackedDimsAreAccepted() throws {
        var raw: [UInt8] = []
        for v: Float in [1, 2, 3, 4, 5, 6] { raw += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
        let packedDims = Wire.bytes(1, Wire.varint(2) + Wire.varint(3))
        let tensor = packedDims + Wire.int(2, 1) + Wire.string(8, "t") + Wire.bytes(9, raw) + Wire.int(99, 5)
            + Wire.bytes(100, [1, 2, 3])
        let graph = Wire.bytes(5, tensor) + Wire.bytes(15, [0x0A, 0x00]) + Wire.string(2, "g")
        let model = Wire.int(1, 8) + Wire.bytes(20, [9, 9]) + Wire.bytes(7, graph)
            + Wire.bytes(8, Wire.int(2, 17)) + Wire.bytes(14, Wire.string(1, "k") + Wire.string(2, "v"))
        let m = try withBytes(model) { try ONNXModelFile.read(path: $0) }
        #expect(m.irVersion == 8 && m.opsetVersion() == 17 && m.metadata("k") == "v")
        let t = try #require(m.graph.initializer(named: "t")?.tensor)
        #expect(t.shape == [2, 3] && t.floats() == [1, 2, 3, 4, 5, 6])
        #expect(t.storage.isMapped)
    }

    @Test func wrongWireTypeIsCorruptWithOffset() throws {
        let model = Wire.int(1, 8) + Wire.int(7, 3)
        let e = try withBytes(model) { readError($0) }
        #expect(e?.reason == .corrupt && e?.offset == 2 && e?.message.contains("graph") == true, "\(String(describing: e))")
    }

    @Test func rawDataOfTheWrongSizeNamesTheInitializer() throws {
        let tensor = Wire.int(1, 3) + Wire.int(2, 1) + Wire.string(8, "weights") + Wire.bytes(9, [0, 0, 0, 0])
        let model = Wire.int(1, 8) + Wire.bytes(7, Wire.bytes(5, tensor))
        let e = try withBytes(model) { readError($0) }
        #expect(e?.entry == "weights" && e?.reason == .corrupt && e?.message.contains("12") == true, "\(String(describing: e))")
    }

    @Test func deepNestingIsCappedNotACrash() throws {
        var graph: [UInt8] = []
        for _ in 0..<200 {
            let attribute = Wire.string(1, "body") + Wire.bytes(6, graph) + Wire.int(20, 5)
            let node = Wire.string(4, "Loop") + Wire.bytes(5, attribute)
            graph = Wire.bytes(1, node)
        }
        let model = Wire.int(1, 8) + Wire.bytes(7, graph)
        let e = try withBytes(model) { readError($0) }
        #expect(e?.reason == .limitExceeded && e?.message.contains("nested") == true, "\(String(describing: e))")
    }

    @Test func decodedMemoryIsCapped() throws {
        // 100k empty nodes: 200 kB on disk, far more once decoded.
        let graph = [UInt8](repeating: 0, count: 0) + (0..<100_000).flatMap { _ in Wire.bytes(1, []) }
        let model = Wire.int(1, 8) + Wire.bytes(7, graph)
        var limits = Limits()
        limits.onnxDecodedBytes = 1 << 20
        let e = try withBytes(model) { readError($0, limits: limits) }
        #expect(e?.reason == .limitExceeded, "\(String(describing: e))")
        #expect(try withBytes(model) { readError($0) } == nil)
    }

    @Test func groupsAreUnsupported() throws {
        let model = Wire.int(1, 8) + Wire.key(30, 3) + Wire.key(30, 4)
        let e = try withBytes(model) { readError($0) }
        #expect(e?.reason == .unsupported && e?.offset == 2, "\(String(describing: e))")
    }

    static func sampleModel() throws -> ONNXModel {
        let w = try Tensor(float32: (0..<24).map { Float($0) * 0.5 - 3 }, shape: [1, 8, 3])
        let big = try Tensor(float32: (0..<600).map { Float($0) }, shape: [600])
        let half = try Tensor(float32: [1, -2], shape: [2]).converted(to: .float16)
        let body = ONNXGraph(name: "body", nodes: [ONNXNode(name: "id", opType: "Identity", inputs: ["a"], outputs: ["b"])],
                             inputs: [ONNXValueInfo(name: "a", elementType: .float, shape: [])],
                             outputs: [ONNXValueInfo(name: "b", elementType: .float, shape: [])])
        let node = ONNXNode(name: "n0", opType: "Custom", domain: "test", inputs: ["x", "", "w"], outputs: ["y"], attributes: [
            .int("i", -7), .float("f", 0.25), .string("s", "héllo"), .ints("is", [1, -2, 3]),
            .floats("fs", [0.5, 1.5]), .strings("ss", ["a", "", "b"]),
            .tensor("t", ONNXTensor(name: "c", tensor: half)), .graph("g", body),
            ONNXAttribute(name: "ts", value: .tensors([ONNXTensor(name: "c2", tensor: try Tensor(int64: [4, 5], shape: [2]))])),
        ], docString: "doc")
        let graph = ONNXGraph(name: "main", nodes: [node],
                              initializers: [ONNXTensor(name: "w", tensor: w), ONNXTensor(name: "big", tensor: big)],
                              inputs: [ONNXValueInfo(name: "x", elementType: .float, shape: [.param("seq"), .value(2), .unknown])],
                              outputs: [ONNXValueInfo(name: "y", elementType: .float, shape: [.param("seq")])])
        return ONNXModel(irVersion: 8, opsetImports: [ONNXOpsetImport(domain: "", version: 17), ONNXOpsetImport(domain: "test", version: 1)],
                         producerName: "lstmkit", producerVersion: "0.1.0", graph: graph,
                         metadataProps: [("a", "1"), ("b", "two")])
    }

    func expectSameModel(_ a: ONNXModel, _ b: ONNXModel) {
        #expect(a.irVersion == b.irVersion && a.opsetImports == b.opsetImports && a.producerName == b.producerName)
        #expect(a.metadataProps.map { "\($0.key)=\($0.value)" } == b.metadataProps.map { "\($0.key)=\($0.value)" })
        #expect(a.graph.inputs == b.graph.inputs && a.graph.outputs == b.graph.outputs)
        #expect(a.graph.initializers.map(\.name) == b.graph.initializers.map(\.name))
        for (x, y) in zip(a.graph.initializers, b.graph.initializers) {
            #expect(x.tensor?.shape == y.tensor?.shape && x.tensor?.floats() == y.tensor?.floats())
        }
        let n = a.graph.nodes[0], m = b.graph.nodes[0]
        #expect(n.inputs == m.inputs && n.outputs == m.outputs && n.domain == m.domain && n.docString == m.docString)
        #expect(n.attributes.map(\.name) == m.attributes.map(\.name))
        #expect(m.attribute("i")?.int == -7 && m.attribute("f")?.float == 0.25 && m.attribute("s")?.string == "héllo")
        #expect(m.attribute("is")?.ints == [1, -2, 3] && m.attribute("fs")?.floats == [0.5, 1.5])
        #expect(m.attribute("ss")?.strings == ["a", "", "b"])
        #expect(m.attribute("t")?.tensor?.tensor?.dtype == .float16 && m.attribute("t")?.tensor?.tensor?.floats() == [1, -2])
        #expect(m.attribute("g")?.graph?.nodes.first?.opType == "Identity")
        if case .tensors(let ts) = m.attribute("ts")?.value { #expect(ts.first?.tensor?.int64s() == [4, 5]) } else { Issue.record("ts") }
    }

    @Test func writeReadRoundTripIsExactAndDeterministic() throws {
        let model = try Self.sampleModel()
        let a = try ONNXModelFile.serialized(model)
        #expect(a == (try ONNXModelFile.serialized(model)))
        let dir = try ONNXUnitFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = try OutputFile(path: dir + "/m.onnx", overwrite: false)
        #expect(try ONNXModelFile.write(model, to: out) == nil)
        try out.commit()
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx"))) == a)
        expectSameModel(model, try ONNXModelFile.read(path: dir + "/m.onnx"))
    }

    @Test func forcedExternalDataRoundTrips() throws {
        let model = try Self.sampleModel()
        let dir = try ONNXUnitFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = try OutputFile(path: dir + "/m.onnx", overwrite: false)
        let data = try #require(try ONNXModelFile.write(model, to: out, options: ONNXWriteOptions(externalData: .always)))
        try data.commit()
        try out.commit()
        let read = try ONNXModelFile.read(path: dir + "/m.onnx")
        expectSameModel(model, read)
        // Only `big` (2400 bytes) is over the 1024-byte threshold; it starts at offset 0.
        let big = try #require(read.graph.initializer(named: "big")?.tensor)
        #expect(big.storage.isMapped)
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/m.onnx.data")[.size] as? Int
        #expect(size == 2400)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx"))).count < 2400)
    }
}
