/// Hard caps applied before any allocation driven by file content. One place for all of them.
public struct Limits: Sendable {
    /// Largest npy header, in characters (numpy's own cap).
    public var npyHeaderBytes = 10_000
    /// Largest safetensors JSON header, in bytes (the reference implementation's cap).
    public var safetensorsHeaderBytes = 100_000_000
    /// Most nested JSON arrays/objects in a safetensors header (serde_json's recursion limit).
    public var jsonDepth = 127
    /// Largest tensor rank.
    public var maxRank = 32
    /// Most members a ZIP archive may list.
    public var zipMembers = 1_000_000
    /// Total bytes that may be produced by inflating compressed members, across one file.
    public var maxInflatedBytes = 16 << 30
    /// Largest ratio of inflated to compressed size for one member (deflate's own limit is about 1032).
    public var maxInflateRatio = 1100
    /// Pickle VM: memo entries, stack depth, container nesting, total opcodes executed.
    public var pickleMemo = 1_000_000
    public var pickleStack = 1_000_000
    public var pickleNesting = 1000
    public var pickleOps = 100_000_000
    /// Pickle VM: longest LONG4 / text integer, in bytes of two's complement.
    public var pickleLongBytes = 1 << 16
    /// Pickle walk (flattening a checkpoint into named tensors): values visited, so that a
    /// memo-shared DAG cannot make the walk exponential.
    public var pickleWalkNodes = 10_000_000
    /// Checkpoint metadata (keys and values of non-tensor leaves) kept per file, in bytes; the rest
    /// is dropped with a note.
    public var metadataBytes = 16 << 20
    /// Largest protobuf message (ONNX model without external data).
    public var protobufBytes = 2 << 30
    /// Deepest protobuf message nesting (an ONNX graph attribute inside a node inside a graph is 3 levels).
    public var protobufDepth = 64
    /// Most memory libprotobuf-c may allocate for one decoded ONNX model (structs, arrays, copied bytes).
    public var onnxDecodedBytes = 3 << 30

    /// Not a cap: whether the CRC-32 of STORED PyTorch storage records is checked when a checkpoint is
    /// opened. Checking reads every tensor byte (torch itself never checks). Commands that only need
    /// metadata (`inspect`, `validate`) turn it off; everything that reads tensor data keeps it on.
    /// npz members and PyTorch metadata records are always checked.
    public var verifyTensorChecksums = true

    /// Not a cap: with ``verifyTensorChecksums``, check the CRC-32 of STORED tensor records (PyTorch
    /// storages, npz arrays) on a background thread instead of while opening, so the bytes can be used
    /// at once. The data is unchecked until ``TensorFile/finishChecksums()`` returns; only callers
    /// that call it before trusting the data may turn this on (`convert`, before committing).
    public var tensorChecksumsInBackground = false

    /// These limits with tensor checksums off: for reading metadata only.
    public var metadataOnly: Limits {
        var copy = self
        copy.verifyTensorChecksums = false
        return copy
    }

    public init() {}

    public static let `default` = Limits()
}
