/// Every format lstmkit knows, in recognition order, and the one sniffing path.
///
/// Recognition, from content only:
/// 1. a file starting with a ZIP signature (`PK\x03\x04`, or an empty archive's `PK\x05\x06`) is
///    opened as a ZIP and claimed by the first ``FileFormatDescriptor/Recognition/zipMembers`` format;
/// 2. otherwise the first ``FileFormatDescriptor/Recognition/leadingBytes`` format in ``all`` order
///    (safetensors before legacy pickle: a 128–255-byte safetensors header also starts with 0x80);
/// 3. otherwise any other `PK` start goes to the ZIP reader too, so a damaged first local header gets
///    a ZIP error naming the member.
public enum FormatRegistry {
    /// The formats, in recognition order.
    public static let all: [FileFormatDescriptor] = [
        .npy, .torchscript, .pytorch, .npz, .safetensors, .pytorchLegacy, .onnx, .hdf5, .keras,
    ]

    /// The descriptor of `format`, if lstmkit knows it.
    public static func descriptor(_ format: FileFormat) -> FileFormatDescriptor? {
        all.first { $0.format == format }
    }

    /// The format `convert` writes for `path`: the longest extension (case-insensitive) any
    /// writable format owns, nil when none matches.
    public static func output(forPath path: String) -> FileFormatDescriptor? {
        let name = (path.split(separator: "/").last.map(String.init) ?? path).lowercased()
        var best: (descriptor: FileFormatDescriptor, length: Int)?
        for d in all where d.output != nil {
            for ext in d.extensions where name.hasSuffix(ext) && name.count > ext.count && ext.count > (best?.length ?? 0) {
                best = (d, ext.count)
            }
        }
        return best?.descriptor
    }

    /// The output extensions, for messages: `.pt, .pth, .npz, ...`.
    public static var outputExtensionList: String {
        all.filter { $0.output != nil }.flatMap(\.extensions).joined(separator: ", ")
    }

    /// The format of `file` and its opened ZIP archive when it is one. Errors carry no file name.
    public static func recognise(_ file: MappedFile, limits: Limits = .default) throws(FormatError) -> (descriptor: FileFormatDescriptor, archive: ZipArchive?) {
        let bytes = file.bytes
        let head = UnsafeRawBufferPointer(rebasing: bytes.prefix(16))
        if startsWith(head, [0x50, 0x4B, 0x03, 0x04]) || startsWith(head, [0x50, 0x4B, 0x05, 0x06]) {
            return try zipFormat(file, limits: limits)
        }
        for d in all {
            if case .leadingBytes(let test) = d.recognition, test(head) { return (d, nil) }
        }
        if startsWith(head, [0x50, 0x4B]) { return try zipFormat(file, limits: limits) }
        guard !bytes.isEmpty else { throw FormatError(.unsupported, "empty file: not a recognised tensor file", offset: 0) }
        let shown = bytes.prefix(4).map { b -> String in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: " ")
        throw FormatError(.unsupported, "not a recognised tensor file (first bytes: \(shown))", offset: 0)
    }

    private static func zipFormat(_ file: MappedFile, limits: Limits) throws(FormatError) -> (descriptor: FileFormatDescriptor, archive: ZipArchive?) {
        let archive = try ZipArchive(file: file, limits: limits)
        for d in all {
            if case .zipMembers(let claims) = d.recognition, claims(archive) { return (d, archive) }
        }
        throw FormatError(.unsupported, "ZIP archive holds neither .npy arrays nor a PyTorch data.pkl; not a recognised tensor file")
    }

    static func startsWith(_ bytes: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        bytes.count >= prefix.count && zip(bytes, prefix).allSatisfy { $0 == $1 }
    }
}

extension ZipArchive {
    /// Whether a member is named `record`, at the top or inside the archive's folder.
    public func hasRecord(_ record: String) -> Bool {
        entries.contains { $0.name == record || $0.name.hasSuffix("/" + record) }
    }
}
