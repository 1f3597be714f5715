/// Reads the datasets of an HDF5 file (what h5py writes: Keras weights files) into tensors named
/// by their path from the root group (`layers/lstm/cell/vars/0`): zero-copy views of contiguous
/// and compact data, chunked data assembled under the memory budget. libhdf5 is
/// not used; this is a bounded subset, parse → validate → view, every offset checked.
///
/// | structure | read |
/// |---|---|
/// | superblock | versions 0 and 1 (root symbol-table entry), 2 and 3 (root object header address); at byte 0, 512, 1024, … |
/// | object headers | versions 1 and 2 with continuation blocks (``HDF5ObjectHeader``) |
/// | groups | symbol tables (v1 B-tree + local heap), compact link messages and dense storage (``HDF5Groups``, ``HDF5DenseStorage``) |
/// | datasets | contiguous, compact and chunked layouts (``HDF5Chunks``); fixed-point and IEEE float datatypes, either byte order, Keras's opaque bfloat16 (``HDF5Dataset``) |
/// | attributes | the root group's string attributes (``HDF5Attributes``): Keras's `model_config`, `keras_version` |
///
/// Datasets of other datatypes or layouts (strings, compounds, resizable chunked storage, unknown
/// filters) are listed in the notes and skipped; external and soft links are not followed. An object inside itself (a cycle of hard links) or a B-tree node reached twice is an
/// error; nesting, visits (every path to an object counts), messages and header blocks are capped
/// (``Caps``).
public enum HDF5Reader {
    /// The eight bytes every HDF5 superblock starts with.
    public static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Structural caps: far above what any real weights file needs, low enough that a hostile file
    /// cannot make the walk long.
    struct Caps {
        var maxDepth = 64
        var maxObjects = 20_000
        var maxMessages = 4096
        var maxHeaderBlocks = 256
        var maxRank = 32
    }

    public static func read(path: String, limits: Limits = .default) throws(FormatError) -> TensorFile {
        try read(file: MappedFile(path: path), limits: limits)
    }

    public static func read(file: MappedFile, limits: Limits = .default) throws(FormatError) -> TensorFile {
        do {
            let image = try parse(UnsafeRawBufferPointer(file.bytes), limits: limits) { r in TensorStorage(mapped: file, range: r) }
            var tensorFile = TensorFile(path: file.path, format: .hdf5, tensors: image.tensors, notes: image.notes)
            tensorFile.content = HDF5RootAttributes(strings: image.rootAttributes)
            return tensorFile
        } catch {
            throw error.inFile(file.path)
        }
    }

    /// What ``parse(_:limits:storage:)`` finds.
    struct Image {
        var tensors: [NamedTensor] = []
        var notes: [String] = []
        /// The root group's string attributes (``HDF5Attributes``).
        var rootAttributes: [(name: String, values: [String])] = []
    }

    /// The datasets of the HDF5 image `bytes` (a file, or a member of an archive); `storage` makes the
    /// storage of a dataset's byte range of `bytes` (a view of the mapped file where it can).
    static func parse(_ bytes: UnsafeRawBufferPointer, limits: Limits,
                      storage: (Range<Int>) throws(FormatError) -> TensorStorage) throws(FormatError) -> Image {
        var b = HDF5Bytes(bytes: bytes)
        var caps = Caps()
        caps.maxRank = limits.maxRank
        var start = 0
        while !(start + 8 <= b.count && (0..<8).allSatisfy({ b.bytes[start + $0] == signature[$0] })) {
            start = start == 0 ? 512 : start * 2
            guard start + 8 <= b.count else {
                throw FormatError(.corrupt, "no HDF5 superblock signature at byte 0, 512, 1024, …", offset: 0)
            }
        }
        let version = try b.u8(start + 8, "superblock version")
        let root: Int
        switch version {
        case 0, 1:
            let o = try b.u8(start + 13, "size of offsets"), l = try b.u8(start + 14, "size of lengths")
            try checkSizes(o, l, at: start + 13)
            b.offsetSize = o
            b.lengthSize = l
            var at = start + 24 + (version == 1 ? 4 : 0)
            b.base = 0
            let base = try b.address(at, "base address")
            at += 4 * o                                       // base, free space, end of file, driver info
            let entry = at
            b.base = base == HDF5Bytes.undefined ? start : base
            root = try b.address(entry + o, "root group object header address")
        case 2, 3:
            let o = try b.u8(start + 9, "size of offsets"), l = try b.u8(start + 10, "size of lengths")
            try checkSizes(o, l, at: start + 9)
            b.offsetSize = o
            b.lengthSize = l
            let base = try b.address(start + 12, "base address")
            b.base = base == HDF5Bytes.undefined ? start : base
            root = try b.address(start + 12 + 3 * o, "root group object header address")
        default:
            throw FormatError(.unsupported, "HDF5 superblock version \(version) (lstmkit reads 0 to 3)", offset: start + 8)
        }
        var image = Image()
        var visiting: Set<Int> = []
        var visits = 0
        do {
            image.rootAttributes = try HDF5Attributes.strings(of: HDF5ObjectHeader(at: root, in: b, limits: caps), b)
        } catch {
            throw error.inEntry("/")
        }
        try walk(root, path: "", b, storage: storage, caps: caps, depth: 0, visiting: &visiting, visits: &visits,
                 tensors: &image.tensors, notes: &image.notes)
        return image
    }

    private static func checkSizes(_ o: Int, _ l: Int, at: Int) throws(FormatError) {
        guard [2, 4, 8].contains(o), [2, 4, 8].contains(l) else {
            throw FormatError(.corrupt, "superblock gives \(o)-byte offsets and \(l)-byte lengths (HDF5 allows 2, 4 or 8)", offset: at)
        }
    }

    /// Visits the object at `address`: a group's members in name order, or a dataset as a tensor.
    private static func walk(_ address: Int, path: String, _ b: HDF5Bytes, storage: (Range<Int>) throws(FormatError) -> TensorStorage,
                             caps: Caps, depth: Int,
                             visiting: inout Set<Int>, visits: inout Int, tensors: inout [NamedTensor],
                             notes: inout [String]) throws(FormatError) {
        // Every visit counts, so that groups linked many times over (a DAG, not a cycle) cannot make the walk exponential.
        visits += 1
        guard visits <= caps.maxObjects else {
            throw FormatError(.limitExceeded, "the file has more than \(caps.maxObjects) objects (counting every path to each)", entry: path, offset: address)
        }
        guard depth <= caps.maxDepth else {
            throw FormatError(.limitExceeded, "groups nest deeper than \(caps.maxDepth) levels at '\(path)'", entry: path, offset: address)
        }
        guard visiting.insert(address).inserted else {
            throw FormatError(.corrupt, "object at byte \(address) contains itself (a cycle of hard links)", entry: path, offset: address)
        }
        defer { visiting.remove(address) }
        let header: HDF5ObjectHeader
        do { header = try HDF5ObjectHeader(at: address, in: b, limits: caps) } catch { throw error.inEntry(path.isEmpty ? "/" : path) }
        if header.first(0x08) != nil {
            do {
                switch try HDF5Dataset.tensor(header, b, storage: storage, caps: caps) {
                case .success(let t): tensors.append(NamedTensor(name: path, tensor: t))
                case .failure(let skip): notes.append("\(path): skipped, a dataset of \(skip.reason)")
                }
            } catch {
                throw error.inEntry(path)
            }
            return
        }
        let links: [HDF5Groups.Link]
        do { links = try HDF5Groups.links(of: header, b, caps: caps) } catch { throw error.inEntry(path.isEmpty ? "/" : path) }
        guard tensors.count + links.count <= caps.maxObjects else {
            throw FormatError(.limitExceeded, "the file has more than \(caps.maxObjects) objects", entry: path, offset: address)
        }
        var names: Set<String> = []
        for link in links.sorted(by: { $0.name < $1.name }) {
            guard names.insert(link.name).inserted else {
                throw FormatError(.corrupt, "group '\(path.isEmpty ? "/" : path)' has two members named '\(link.name)'", entry: path, offset: link.at)
            }
            try walk(link.address, path: path.isEmpty ? link.name : path + "/" + link.name, b, storage: storage, caps: caps,
                     depth: depth + 1, visiting: &visiting, visits: &visits, tensors: &tensors, notes: &notes)
        }
    }
}

/// The root group's string attributes of an HDF5 file (``TensorFile/content`` of a `.h5`).
public struct HDF5RootAttributes: Sendable {
    public var strings: [(name: String, values: [String])]

    /// The first value of attribute `name`.
    public subscript(name: String) -> String? { strings.first { $0.name == name }?.values.first }
}

extension TensorFile {
    /// The root attributes of an HDF5 file (nil for other formats).
    public var hdf5RootAttributes: HDF5RootAttributes? { content as? HDF5RootAttributes }
}
