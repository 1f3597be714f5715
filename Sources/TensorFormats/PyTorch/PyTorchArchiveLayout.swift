/// Where the records of a PyTorch ZIP archive are, and which kind of archive it is.
///
/// The prefix (torch's "archive name", `model/` for `model.pt`) is the folder of the `data.pkl`
/// with the fewest path components; torch itself takes the folder of the first entry. Records are
/// then `<prefix>data.pkl`, `<prefix>data/<key>`, `<prefix>version` (or `.data/version`),
/// `<prefix>byteorder`, `<prefix>.format_version`, `<prefix>.storage_alignment`, and for
/// TorchScript `<prefix>constants.pkl` + `<prefix>constants/<key>`.
struct PyTorchArchiveLayout {
    enum Kind {
        /// `torch.save`.
        case checkpoint
        /// `torch.jit.save` (`constants.pkl` present); `mobile` when `bytecode.pkl` is present too.
        case torchScript(mobile: Bool)
    }

    let prefix: String
    let kind: Kind
    let dataPickle: ZipEntry

    init(archive: ZipArchive) throws(FormatError) {
        var best: (entry: ZipEntry, prefix: String, depth: Int)?
        for entry in archive.entries where entry.name == "data.pkl" || entry.name.hasSuffix("/data.pkl") {
            let prefix = String(entry.name.dropLast("data.pkl".count))
            let depth = prefix.filter { $0 == "/" }.count
            if let current = best, current.depth <= depth { continue }
            best = (entry, prefix, depth)
        }
        guard let best else {
            throw FormatError(.unsupported, PyTorchArchiveLayout.whatItIs(archive), file: archive.path)
        }
        prefix = best.prefix
        dataPickle = best.entry
        if archive.entry(named: prefix + "constants.pkl") != nil {
            kind = .torchScript(mobile: archive.entry(named: prefix + "bytecode.pkl") != nil)
        } else {
            kind = .checkpoint
        }
    }

    /// Why an archive without `data.pkl` is not read.
    private static func whatItIs(_ archive: ZipArchive) -> String {
        let names = archive.entries.map(\.name)
        func has(_ suffix: String) -> Bool { names.contains { $0 == suffix || $0.hasSuffix("/" + suffix) } }
        if has("model.json") { return "a TorchScript archive from PyTorch 1.0–1.2 (model.json), which lstmkit does not read" }
        if has("archive_format") { return "a torch.export .pt2 archive, which lstmkit does not read" }
        if has(".data/version") { return "a torch.package archive, which lstmkit does not read" }
        return "a ZIP archive without data.pkl is not a PyTorch checkpoint"
    }

    func entry(_ record: String, in archive: ZipArchive) -> ZipEntry? {
        archive.entry(named: prefix + record)
    }

    /// A short ASCII record (`version`, `byteorder`) as trimmed text; nil when absent.
    func text(_ record: String, in archive: ZipArchive) throws(FormatError) -> String? {
        guard let e = entry(record, in: archive) else { return nil }
        guard e.uncompressedSize <= 64 else {
            throw FormatError(.corrupt, "record of \(e.uncompressedSize) bytes is too long for its purpose", file: archive.path, entry: e.name, offset: e.dataOffset)
        }
        let data = try PyTorchArchiveLayout.bytes(of: e, in: archive)
        let text = String(decoding: data.bytes, as: UTF8.self)
        return text.filter { !$0.isWhitespace }
    }

    /// A record's bytes, CRC-checked unless its CRC is 0 (what torch writes with CRCs disabled,
    /// `torch.serialization.set_crc32_options(False)`; torch itself never checks them) or it is a
    /// STORED tensor record read with `Limits.verifyTensorChecksums` off (metadata-only commands).
    static func bytes(of entry: ZipEntry, in archive: ZipArchive, isTensorData: Bool = false) throws(FormatError) -> TensorStorage {
        if isTensorData, entry.method == .deflated {
            return try archive.lazyData(of: entry, range: 0..<entry.uncompressedSize, verifyCRC: entry.crc32 != 0)
        }
        let skip = isTensorData && !archive.limits.verifyTensorChecksums
        return try archive.data(of: entry, verifyCRC: entry.crc32 != 0 && !skip, tensor: isTensorData)
    }
}
