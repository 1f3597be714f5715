import Foundation
@testable import TensorFormats

/// A scratch folder removed when the value is dropped.
final class SafetensorsScratch {
    let dir: String

    init() {
        dir = NSTemporaryDirectory() + "lstmkit-st-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { dir + "/" + name }

    /// Writes `bytes` to `name` and returns its path.
    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let p = path(name)
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }

    func bytes(_ name: String) -> [UInt8] {
        (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path(name))))) ?? []
    }
}

/// A safetensors file from a header text and data bytes (length prefix computed).
func safetensorsBytes(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    safetensorsBytes(header: Array(header.utf8), data: data, length: length)
}

func safetensorsBytes(header h: [UInt8], data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    let n = length ?? UInt64(h.count)
    return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h + data
}

extension Tensor {
    /// The elements' row-major little-endian bytes.
    var leBytes: [UInt8] {
        let c = try! contiguous()
        return withExtendedLifetime(c) { Array(c.contiguousBytes ?? UnsafeRawBufferPointer(start: nil, count: 0)) }
    }
}
