/// A format that `convert` writes as a map of named tensors. Every writer streams: it loads one
/// ``TensorEntry`` at a time, in its turn, and never holds more than one cast tensor.
public protocol TensorMapWriter {
    /// Writes `entries` (and `metadata` when the format holds it) to `output`, not committing it.
    /// `progress` receives the payload bytes written so far. Returns notes on what the format
    /// could not hold (never dropped silently).
    static func write(_ entries: [TensorEntry], metadata: [(key: String, value: String)], to output: OutputFile,
                      options: TensorWriteOptions, progress: ((Int) -> Void)?) throws(FormatError) -> [String]
}

/// Options of a tensor-map write that only some formats use.
public struct TensorWriteOptions: Sendable {
    /// Deflate npz members (`np.savez_compressed`).
    public var compress = false
    /// Top-level folder inside a PyTorch archive (torch names it after the file's stem; nil: derive from the output path).
    public var archiveName: String?
    public init(compress: Bool = false, archiveName: String? = nil) {
        self.compress = compress
        self.archiveName = archiveName
    }
}

/// The note for metadata a tensor-only format cannot hold.
public func droppedMetadataNote(_ metadata: [(key: String, value: String)], target: String) -> String {
    let keys = metadata.prefix(3).map(\.key).joined(separator: ", ") + (metadata.count > 3 ? ", ..." : "")
    return "\(metadata.count) metadata entr\(metadata.count == 1 ? "y" : "ies") (\(keys)) not written: \(target) holds tensors only"
}

/// Throws when two entries share a name (`what` names the container in the sentence).
func refuseDuplicateNames(_ entries: [TensorEntry], _ what: String) throws(FormatError) {
    var seen = Set<String>()
    for e in entries where !seen.insert(e.name).inserted {
        throw FormatError(.unsupported, "two tensors are named '\(e.name)'; \(what)", entry: e.name)
    }
}
