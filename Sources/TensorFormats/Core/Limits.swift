/// Hard caps applied before any allocation driven by file content. One place for all of them.
///
/// Every cap is checked before the memory or work it bounds is committed; going over one is a
/// ``FormatError`` of reason `limitExceeded` (or `hostile` where noted) whose sentence names the
/// file, the member / tensor and the byte offset, and quotes the limit.
///
/// | Cap | Default | Protects against | Error sentence (fragment) |
/// |---|---|---|---|
/// | `npyHeaderBytes` | 10 000 chars | npy header length field lying (numpy's own cap) | "npy header of N bytes is over the limit of 10000" |
/// | `safetensorsHeaderBytes` | 100 000 000 B | 8-byte header length claiming gigabytes of JSON | "header length N bytes is over the limit of …" |
/// | `jsonDepth` | 127 levels | `[[[[…` recursion in a safetensors header | "JSON nesting deeper than 127 levels" |
/// | `maxRank` | 32 | shapes with thousands of dimensions (npy, safetensors, pickle, ONNX) | "rank N is over the limit of 32", "shape has more than 32 dimensions" |
/// | `zipMembers` | 1 000 000 | central directory claiming billions of entries | "archive lists N members, over the limit of …" |
/// | `memory` (CLI `--max-bytes`) | ¾ of physical memory (or of the cgroup limit), and what `RLIMIT_AS` leaves | every allocation sized by file content: inflated members, tensor copies and casts, the forward pass's working memory (``MemoryBudget``) | "inflating 'w.npy' (N bytes from M) needs 2.0 GiB, over the memory budget of …" |
/// | `maxInflateRatio` | 1100 : 1 | deflate bombs (declared size far beyond what the compressed bytes can make) | hostile: "… over the 1100:1 ratio limit (a deflate bomb)" |
/// | `pickleMemo` | 1 000 000 entries | memo growth (MEMOIZE loops) | "the memo grows past the limit of …" |
/// | `pickleStack` | 1 000 000 values | stack growth | "the pickle stack grows past the limit of …" |
/// | `pickleNesting` | 1000 | MARK nesting, nested dict/set keys, deep object graphs in the walk | "MARKs nest deeper than …", "the pickled objects nest deeper than …" |
/// | `pickleOps` | 100 000 000 opcodes | CPU time of one pickle | "the pickle runs more than the limit of … opcodes" |
/// | `pickleLongBytes` | 65 536 B | LONG4 / text integers of gigabytes (quadratic conversion) | "a LONG4 integer of N bytes is over the limit of …" |
/// | `pickleWalkNodes` | 10 000 000 values | memo-shared DAGs making the flattening walk exponential | "the pickled object graph has more than … values to walk" |
/// | `metadataBytes` | 16 MiB | non-tensor leaves kept as metadata (not an error: the rest is dropped with a note) | note "metadata past … bytes was not kept" |
/// | `protobufBytes` | 2 GiB | ONNX files over protobuf's own message limit | "the model is N bytes, over the protobuf limit of …" |
/// | `protobufDepth` | 64 levels | recursion in nested protobuf messages | "protobuf messages nested deeper than 64 levels" |
/// | `onnxDecodedBytes` | 3 GiB | memory libprotobuf-c would allocate (repeated fields, copied bytes) | "decoding the protobuf would take more than … bytes of memory" |
/// | `onnxConstantNodes` | 100 000 nodes | ONNX constant computations (Slice / Concat / Expand chains feeding LSTM weights) that never end | "constant computations need more than the limit of … nodes" |
/// | `onnxConstantElements` | 64 Mi elements per value (4× in all) | a tiny `Expand` / `ConstantOfShape` claiming a huge constant | "… would make a constant of shape …, over the limit of … elements" |
/// | `onnxConstantDepth` | 512 nodes | recursion through deep constant chains | "constant computation of '…' nests deeper than the limit of …" |
/// | `onnxGraphDepth` | 16 levels (protobuf nesting allows about 20) | `If` / `Loop` / `Scan` bodies nested inside each other | "subgraphs nest deeper than the limit of …" |
///
/// Checks that need no number, applied by every reader: element counts, byte sizes and stride
/// extents are overflow-checked products ("element count of shape … overflows"); every tensor lies
/// inside its storage and every storage inside the file ("truncated" / "corrupt" with the offset);
/// an inflated member may not produce more than its declared size (hostile: "deflate stream
/// inflates to more than the N bytes declared"); ZIP members may not overlap; pickles never import
/// or call anything outside the allow-list (hostile: "the pickle calls os.system, …");
/// ONNX external data must stay in the model's folder: absolute paths, `..` and symlinks resolving
/// outside it are refused (hostile: "external data location '…' …").
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
    /// The memory budget every allocation sized by file content is admitted by: the one set here,
    /// else ``MemoryBudget/current`` (the process's, or the one a caller bound for its task).
    public var memory: MemoryBudget {
        get { explicitMemory ?? MemoryBudget.current }
        set { explicitMemory = newValue }
    }
    private var explicitMemory: MemoryBudget?
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
    /// ONNX constant evaluator: nodes evaluated per model, elements of one value (and 4× that for
    /// all values of a model), recursion depth.
    public var onnxConstantNodes = 100_000
    public var onnxConstantElements = 64 << 20
    public var onnxConstantDepth = 512
    /// Deepest nesting of ONNX subgraphs (If branches, Loop / Scan bodies) searched for LSTMs.
    public var onnxGraphDepth = 16

    /// Not a cap: whether the CRC-32 of STORED PyTorch storage records is checked when a checkpoint is
    /// opened. Checking reads every tensor byte (torch itself never checks). Commands that only need
    /// metadata (`inspect`, `validate`) turn it off; everything that reads tensor data keeps it on.
    /// Applies to STORED npz arrays too. Metadata records (a checkpoint's pickle) are always
    /// checked; DEFLATED tensor members are checked each time they are inflated (loaded or streamed
    /// into an output), and metadata-only readers never inflate them.
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
