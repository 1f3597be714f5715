import LSTMSchema
import TensorFormats

/// The inputs of a forward pass as arrays in a file (a golden, or `run --input`): `input`, and
/// optionally `h0`, `c0`, `sequence_lens` (1-d integers) and `batch_first` (a 0-d bool).
public struct ForwardInputs: Sendable {
    public var input: Tensor
    public var h0: Tensor?
    public var c0: Tensor?
    public var sequenceLengths: [Int]?
    /// The `sequence_lens` array as the file holds it (its own integer dtype).
    public var sequenceLengthsArray: Tensor?
    public var batchFirst: Bool

    /// Reads the inputs from `arrays`, making the bytes of compressed members (under the memory
    /// budget). With `allowSingle`, a file holding one array is that array
    /// (an .npy given as `--input`) and nothing else. Throws naming the missing or malformed key.
    public init(arrays: [NamedTensor], allowSingle: Bool = false) throws(FormatError) {
        func find(_ key: String) throws(FormatError) -> Tensor? {
            try arrays.first { $0.name == key }.map { t throws(FormatError) in try t.tensor.loaded() }
        }
        func float(_ key: String) throws(FormatError) -> Tensor? {
            guard let t = try find(key) else { return nil }
            guard t.dtype.isFloatingPoint else {
                throw FormatError(.unsupported, "array '\(key)' has dtype \(t.dtype.name); expected a float dtype", entry: key)
            }
            return t
        }
        if let x = try float("input") {
            input = x
        } else if allowSingle, arrays.count == 1, let only = arrays.first?.tensor {
            input = try only.loaded()
            batchFirst = false
            return
        } else {
            let names = arrays.map(\.name).joined(separator: ", ")
            throw FormatError(.unsupported, "has no array 'input' (it holds \(names.isEmpty ? "none" : names))", entry: "input")
        }
        h0 = try float("h0")
        c0 = try float("c0")
        if let flag = try find("batch_first") {
            guard flag.elementCount == 1 else {
                throw FormatError(.unsupported, "'batch_first' has shape \(flag.shape); expected a 0-d bool", entry: "batch_first")
            }
            batchFirst = flag.doubles().first.map { $0 != 0 } ?? false
        } else {
            batchFirst = false
        }
        if let lens = try find("sequence_lens") {
            guard !lens.dtype.isFloatingPoint, lens.rank == 1 else {
                throw FormatError(.unsupported, "'sequence_lens' has dtype \(lens.dtype.name) and shape \(formatShape(lens.shape)); expected a 1-d integer array", entry: "sequence_lens")
            }
            sequenceLengths = lens.int64s().map { Int(clamping: $0) }
            sequenceLengthsArray = lens
        }
    }
}
