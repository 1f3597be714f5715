#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves `TensorProto.external_data` (`location`, `offset`, `length`) against the model's folder
/// and maps the data files.
///
/// Rules: `location` is relative to the folder that holds the .onnx file; absolute locations, `..`
/// components and paths that resolve (through symlinks) outside that folder are refused as hostile;
/// `offset` and `length` are decimal byte counts; the tensor's bytes must lie inside the data file and
/// `length`, when given, must equal the tensor's size. Each data file is mapped once and shared.
final class ONNXExternalData {
    private let modelPath: String
    private let folder: String
    private var resolvedFolder: String?
    private var files: [String: MappedFile] = [:]

    init(modelPath: String) {
        self.modelPath = modelPath
        if let slash = modelPath.lastIndex(of: "/") {
            let dir = String(modelPath[..<slash])
            folder = dir.isEmpty ? "/" : dir
        } else {
            folder = "."
        }
    }

    /// The `byteCount` bytes of the tensor described by `entries`, as a zero-copy view of its data file.
    func storage(entries: [(key: String, value: String)], byteCount: Int) throws(FormatError) -> TensorStorage {
        var location: String?
        var offset = 0
        var length: Int?
        for (key, value) in entries {
            switch key {
            case "location": location = value
            case "offset":
                guard let v = Int(value), v >= 0 else { throw FormatError(.corrupt, "external data offset '\(value)' is not a byte count") }
                offset = v
            case "length":
                guard let v = Int(value), v >= 0 else { throw FormatError(.corrupt, "external data length '\(value)' is not a byte count") }
                length = v
            default: break  // checksum, basepath: not needed to read the bytes
            }
        }
        guard let location, !location.isEmpty else {
            throw FormatError(.corrupt, "external data has no location")
        }
        let file = try mapped(location)
        if let length, length != byteCount {
            throw FormatError(.corrupt, "external data length \(length) differs from the \(byteCount) bytes of the tensor's shape and type")
        }
        guard let end = Checked.add(offset, byteCount), end <= file.bytes.count else {
            throw FormatError(.truncated, "external data '\(location)' at offset \(offset) needs \(byteCount) bytes but the file has \(file.bytes.count)")
        }
        return TensorStorage(mapped: file, range: offset..<end)
    }

    private func mapped(_ location: String) throws(FormatError) -> MappedFile {
        if let f = files[location] { return f }
        let driveLetter = location.count >= 2 && location.dropFirst().first == ":"
        guard !location.hasPrefix("/"), !location.hasPrefix("\\"), !driveLetter else {
            throw FormatError(.hostile, "external data location '\(location)' is an absolute path")
        }
        let components = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        guard !components.contains("..") else {
            throw FormatError(.hostile, "external data location '\(location)' leaves the model's folder ('..')")
        }
        guard !location.utf8.contains(0) else {
            throw FormatError(.hostile, "external data location contains a NUL byte")
        }
        let full = folder + "/" + location
        let base = try resolvedFolderPath()
        guard let real = Self.realPath(full) else {
            throw FormatError(.unreadable, "external data file '\(location)' cannot be opened: \(String(cString: strerror(errno)))")
        }
        guard real.hasPrefix(base == "/" ? "/" : base + "/") else {
            throw FormatError(.hostile, "external data location '\(location)' resolves outside the model's folder (to \(real))")
        }
        let file: MappedFile
        do {
            file = try MappedFile(path: real)
        } catch {
            throw FormatError(.unreadable, "external data file '\(location)': \(error.message)")
        }
        files[location] = file
        return file
    }

    private func resolvedFolderPath() throws(FormatError) -> String {
        if let resolvedFolder { return resolvedFolder }
        guard let r = Self.realPath(folder) else {
            throw FormatError(.unreadable, "cannot resolve the model's folder: \(String(cString: strerror(errno)))")
        }
        resolvedFolder = r
        return r
    }

    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
