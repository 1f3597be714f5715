import Foundation
import Testing
@testable import TensorFormats

/// Files under `Fixtures/pytorch-unit/` (made by `scripts/fixtures/pytorch_unit.py`) and the
/// tensors torch itself reported for them (`X.expected.json`).
enum PyTorchUnitFixture {
    static let folder: String = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("Fixtures/pytorch-unit").path
    }()

    static func path(_ name: String) -> String { folder + "/" + name + ".pt" }

    static func read(_ name: String) throws -> TensorFile {
        try PyTorchReader.read(file: MappedFile(path: path(name)))
    }

    struct ExpectedTensor: Decodable {
        let name: String
        let dtype: String
        let shape: [Int]
        let values: [Double]
    }

    struct Expected: Decodable {
        let tensors: [ExpectedTensor]
        let metadata: [String: String]?
    }

    static func expected(_ name: String) throws -> Expected {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name + ".expected.json"))
        return try JSONDecoder().decode(Expected.self, from: data)
    }
}

/// Records an issue unless `tensor` has the expected dtype, shape and values (exactly).
func expectTensor(_ tensor: Tensor?, equals e: PyTorchUnitFixture.ExpectedTensor, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let tensor else {
        Issue.record("tensor '\(e.name)' is missing", sourceLocation: sourceLocation)
        return
    }
    #expect(tensor.dtype.name == e.dtype, "dtype of '\(e.name)'", sourceLocation: sourceLocation)
    #expect(tensor.shape == e.shape, "shape of '\(e.name)'", sourceLocation: sourceLocation)
    if tensor.dtype.isFloatingPoint {
        #expect(tensor.doubles() == e.values, "values of '\(e.name)'", sourceLocation: sourceLocation)
    } else {
        #expect(tensor.int64s() == e.values.map { Int64($0) }, "values of '\(e.name)'", sourceLocation: sourceLocation)
    }
}
