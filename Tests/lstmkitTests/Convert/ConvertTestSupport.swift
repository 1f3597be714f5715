import Foundation
import LSTMSchema
@testable import TensorFormats

/// A scratch folder removed when the value is dropped.
final class ConvertScratch {
    let dir: String

    init() {
        dir = NSTemporaryDirectory() + "lstmkit-convert-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { dir + "/" + name }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        FileManager.default.createFile(atPath: path(name), contents: Data(bytes))
        return path(name)
    }

    func bytes(_ name: String) -> [UInt8]? {
        (try? Data(contentsOf: URL(fileURLWithPath: path(name)))).map { [UInt8]($0) }
    }

    /// Every name in the folder (temporary files included).
    var listing: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    /// A valid safetensors file of a few tensors.
    @discardableResult
    func validInput(_ name: String = "in.safetensors") throws -> String {
        let out = try OutputFile(path: path(name), overwrite: true)
        try SafetensorsWriter.write([
            NamedTensor(name: "w", tensor: try Tensor(float32: [1, 2, 3, 4, 5, 6], shape: [2, 3])),
            NamedTensor(name: "n", tensor: try Tensor(int64: [7], shape: [])),
        ], metadata: [("epoch", "3")], to: out)
        try out.commit()
        return path(name)
    }
}

/// A safetensors file whose data is one byte short of what its header declares.
let truncatedSafetensors: [UInt8] = {
    let header = Array(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
    return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64($0))) } + header + [0, 0, 0, 0, 0, 0, 0]
}()

extension Tensor {
    /// The elements' row-major little-endian bytes.
    var leBytes: [UInt8] {
        let c = try! contiguous()
        return withExtendedLifetime(c) { Array(c.contiguousBytes ?? UnsafeRawBufferPointer(start: nil, count: 0)) }
    }
}
