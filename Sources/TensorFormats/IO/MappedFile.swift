#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file. Tensors read from it are views that keep it alive.
///
/// The mapping is private and read-only; the input file is never modified. An empty file is
/// represented by an empty buffer (mmap of length 0 is not allowed).
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The file's bytes.
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?
    private let length: Int

    private let ownsCopy: Bool
    /// The open file behind the mapping (−1 for in-memory copies), kept for in-kernel copies
    /// (``OutputFile/write(_:range:each:)``).
    let descriptor: Int32

    /// An in-memory copy of `bytes` standing in for a file called `path` (tests and fuzzing).
    public init(copying source: UnsafeRawBufferPointer, path: String) {
        self.path = path
        length = source.count
        ownsCopy = true
        descriptor = -1
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: 64)
        if source.count > 0 { buffer.copyMemory(from: source) }
        base = buffer.baseAddress
        bytes = UnsafeRawBufferPointer(start: buffer.baseAddress, count: source.count)
    }

    public init(path: String) throws(FormatError) {
        ownsCopy = false
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw FormatError(.unreadable, "cannot open: \(String(cString: strerror(errno)))", file: path)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw FormatError(.unreadable, "cannot stat: \(String(cString: strerror(e)))", file: path)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FormatError(.unreadable, "not a regular file", file: path)
        }
        let size = Int(st.st_size)
        length = size
        if size == 0 {
            close(fd)
            descriptor = -1
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            let e = errno
            close(fd)
            throw FormatError(.unreadable, "cannot map: \(String(cString: strerror(e)))", file: path)
        }
        descriptor = fd
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    /// Tell the kernel the pages in `range` will not be needed again (lets `convert` keep its
    /// resident memory bounded while streaming a large file).
    public func release(_ range: Range<Int>) {
        guard let base, !ownsCopy, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let end = min(length, range.upperBound)
        guard end > start else { return }
        _ = madvise(base + start, end - start, MADV_DONTNEED)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        guard let base else { return }
        if ownsCopy { base.deallocate() } else { munmap(base, length) }
    }
}
