import Foundation
import TensorFormats

/// A test-only reader for the STORED `.npz` files that `scripts/fixtures/reference_unit.py` writes
/// (local headers in sequence, npy v1/v2 headers, little-endian or bool dtypes), so that these
/// tests do not depend on the product's npz reader.
enum StoredNPZ {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func read(_ url: URL) throws -> [NamedTensor] {
        let data = try Data(contentsOf: url)
        let bytes = [UInt8](data)
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        var out: [NamedTensor] = []
        var pos = 0
        while pos + 30 <= bytes.count, u32(pos) == 0x0403_4b50 {
            guard u16(pos + 8) == 0 else { throw Failure(description: "\(url.lastPathComponent): member at \(pos) is compressed") }
            let size = u32(pos + 18), nameLen = u16(pos + 26), extraLen = u16(pos + 28)
            let name = String(decoding: bytes[(pos + 30)..<(pos + 30 + nameLen)], as: UTF8.self)
            let start = pos + 30 + nameLen + extraLen
            let npy = Array(bytes[start..<(start + size)])
            out.append(NamedTensor(name: String(name.dropLast(4)), tensor: try parseNpy(npy, name: name)))
            pos = start + size
        }
        return out
    }

    static func parseNpy(_ b: [UInt8], name: String) throws -> Tensor {
        guard b.count > 10, b[0] == 0x93, String(decoding: b[1..<6], as: UTF8.self) == "NUMPY" else {
            throw Failure(description: "\(name): not an npy array")
        }
        let major = b[6]
        let headerLen = major == 1 ? Int(b[8]) | Int(b[9]) << 8 : Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
        let headerStart = major == 1 ? 10 : 12
        let header = String(decoding: b[headerStart..<(headerStart + headerLen)], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)': ") else { return nil }
            return String(header[r.upperBound...])
        }
        guard let descrRest = field("descr"), let shapeRest = field("shape"),
              let fortran = field("fortran_order"), fortran.hasPrefix("False") else {
            throw Failure(description: "\(name): unsupported npy header \(header)")
        }
        let descr = String(descrRest.dropFirst().prefix { $0 != "'" })
        let dtypes: [String: DType] = ["<f4": .float32, "<f8": .float64, "<f2": .float16, "|b1": .bool,
                                       "<i4": .int32, "<i8": .int64]
        guard let dtype = dtypes[descr] else { throw Failure(description: "\(name): dtype \(descr)") }
        let dims = shapeRest.dropFirst().prefix { $0 != ")" }.split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.compactMap { Int($0) }
        let payload = Array(b[(headerStart + headerLen)...])
        return try Tensor(dtype: dtype, shape: dims, storage: TensorStorage(bytes: payload))
    }
}
