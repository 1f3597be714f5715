import CTensorIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An output written atomically: bytes go to a temporary file in the destination's folder, which
/// ``commit()`` flushes and renames over the destination. Until then the destination is untouched;
/// an output that is never committed (error, early exit) removes its temporary file.
///
/// An existing destination is refused unless `overwrite` is true. Writes are buffered. With
/// `durable`, ``commit()`` waits for the bytes to reach the disk (fsync) before the rename, so the
/// destination survives a power loss too; otherwise, like `cp`, `torch.save` or `np.save`, it leaves
/// that to the kernel's writeback.
public final class OutputFile {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    private var committed = false
    private let durable: Bool
    /// Bytes written so far (the offset of the next byte).
    public private(set) var position = 0

    public init(path: String, overwrite: Bool, durable: Bool = false) throws(FormatError) {
        self.path = path
        self.durable = durable
        var st = stat()
        if !overwrite, lstat(path, &st) == 0 {
            throw FormatError(.unreadable, "output exists (use --force to replace it)", file: path)
        }
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        // The name buffer is registered before mkstemp fills it in, so a signal at any moment finds it.
        let (slot, name) = OutputFile.register("\(dir.isEmpty ? "/" : dir)/.\(base).lstmkit-XXXXXX")
        let fd = mkstemp(name)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            OutputFile.unregister(slot)
            throw FormatError(.unreadable, "cannot create a temporary file in \(dir): \(reason)", file: path)
        }
        self.slot = slot
        self.fd = fd
        // mkstemp creates 0600; give the output the mode a plain create would (0666 & ~umask).
        let mask = umask(0)
        umask(mask)
        fchmod(fd, 0o666 & ~mask)
        temporaryPath = String(cString: name)
        buffer.reserveCapacity(bufferLimit)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        guard bytes.count > 0 else { return }
        if buffer.count + bytes.count > bufferLimit { try flush() }
        if bytes.count >= bufferLimit {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
        position += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws(FormatError) {
        guard !bytes.isEmpty else { return }
        if buffer.count + bytes.count > bufferLimit { try flush() }
        if bytes.count >= bufferLimit {
            let failure = bytes.withUnsafeBytes { raw in Result { () throws(FormatError) in try writeAll(raw) } }
            try failure.get()
        } else {
            buffer.append(contentsOf: bytes)
        }
        position += bytes.count
    }

    /// Bytes handed to one `write(2)` by ``write(_:each:)``.
    public static let streamChunk = 4 << 20

    /// Writes `bytes` in pieces of ``streamChunk`` bytes, calling `done` with each piece's range in
    /// `bytes` once it is written (so that a caller can release the mapped input pages behind it).
    public func write(_ bytes: UnsafeRawBufferPointer, each done: (Range<Int>) -> Void) throws(FormatError) {
        var start = 0
        while start < bytes.count {
            let end = min(start + OutputFile.streamChunk, bytes.count)
            try write(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            done(start..<end)
            start = end
        }
    }

    /// Writes `range` of `storage`'s bytes. When they are a view of a mapped file they are copied
    /// file to file inside the kernel (`copy_file_range`, as `cp` does), so their pages never enter
    /// this process; otherwise, or where the kernel cannot, they are written from memory with the
    /// mapped pages released behind. Deferred storage (a compressed member) is made piece by piece
    /// straight into the output (``TensorStorage/stream(_:into:)``), never held whole. `done` gets
    /// each written range (relative to `range`).
    public func write(_ storage: TensorStorage, range: Range<Int>, each done: (Range<Int>) -> Void = { _ in }) throws(FormatError) {
        if storage.isDeferred {
            var at = 0
            try storage.stream(range) { piece throws(FormatError) in
                try write(piece)
                done(at..<(at + piece.count))
                at += piece.count
            }
            return
        }
        var at = 0
        if let source = storage.mappedSource, source.file.descriptor >= 0, !range.isEmpty {
            try flush()
            var from = Int64(source.offset + range.lowerBound)
            while at < range.count {
                let want = min(OutputFile.copyChunk, range.count - at)
                let n = lstmkit_copy_file_range(source.file.descriptor, &from, fd, want)
                if n == -Int(EINTR) { continue }
                guard n > 0 else { break }  // not supported here (or the source shrank): write from memory
                done(at..<(at + n))
                at += n
                position += n
                fileBytes += n
                startWriteback()
            }
        }
        guard at < range.count else { return }
        let rest = (range.lowerBound + at)..<range.upperBound
        try write(UnsafeRawBufferPointer(rebasing: storage.bytes[rest])) { r in
            storage.releasePages((rest.lowerBound + r.lowerBound)..<(rest.lowerBound + r.upperBound))
            done((at + r.lowerBound)..<(at + r.upperBound))
        }
    }

    /// Bytes per `copy_file_range` call (progress is reported between calls).
    static let copyChunk = 64 << 20

    /// Overwrites `bytes.count` already written bytes at `offset` (a field whose value is known only
    /// after what follows it, such as a ZIP local header's CRC-32). `position` does not change.
    public func patch(_ bytes: [UInt8], at offset: Int) throws(FormatError) {
        guard offset >= 0, offset + bytes.count <= position else {
            throw FormatError(.unreadable, "cannot patch bytes \(offset)..<\(offset + bytes.count): only \(position) written", file: path)
        }
        let flushed = position - buffer.count
        for (i, b) in bytes.enumerated() where offset + i >= flushed { buffer[offset + i - flushed] = b }
        let direct = max(0, min(bytes.count, flushed - offset))
        guard direct > 0 else { return }
        let failed = bytes.withUnsafeBytes { raw -> Int32? in
            var done = 0
            while done < direct {
                let n = pwrite(fd, raw.baseAddress! + done, direct - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += n
            }
            return nil
        }
        if let failed {
            throw FormatError(.unreadable, "cannot write: \(String(cString: strerror(failed)))", file: path)
        }
    }

    /// Writes `count` zero bytes (padding).
    public func writeZeros(_ count: Int) throws(FormatError) {
        try write([UInt8](repeating: 0, count: count))
    }

    private func flush() throws(FormatError) {
        guard !buffer.isEmpty else { return }
        let pending = buffer
        buffer.removeAll(keepingCapacity: true)
        let result = pending.withUnsafeBytes { raw in Result { () throws(FormatError) in try writeAll(raw) } }
        try result.get()
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(.unreadable, "cannot write: \(String(cString: strerror(errno)))", file: path)
            }
            done += n
        }
        fileBytes += bytes.count
        startWriteback()
    }

    /// Bytes handed to the kernel so far (`position` minus what is still buffered).
    private var fileBytes = 0
    /// Bytes before this offset have been sent to disk (asynchronously).
    private var writebackStart = 0
    /// With `durable`, writeback is started every this many bytes, so that ``commit()``'s fsync overlaps the copy.
    static let writebackChunk = 32 << 20

    private func startWriteback() {
        guard durable, fileBytes - writebackStart >= OutputFile.writebackChunk else { return }
        _ = lstmkit_start_writeback(fd, Int64(writebackStart), Int64(fileBytes - writebackStart))
        writebackStart = fileBytes
    }

    /// Flushes, syncs (when `durable`) and renames the temporary file over `path`.
    public func commit() throws(FormatError) {
        try flush()
        guard !durable || fsync(fd) == 0 else {
            throw FormatError(.unreadable, "cannot sync: \(String(cString: strerror(errno)))", file: path)
        }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            throw FormatError(.unreadable, "cannot rename the temporary file: \(String(cString: strerror(errno)))", file: path)
        }
        committed = true
        OutputFile.unregister(slot)
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed {
            unlink(temporaryPath)
            OutputFile.unregister(slot)
        }
    }

    // MARK: - Temporary files to remove if the process is interrupted

    /// Registry slot of this output's temporary name.
    private let slot: Int

    /// Temporary names as C strings in a fixed table, so that a signal handler can walk it without
    /// allocating or locking: a slot holds a pointer or nil, written with single stores; claiming and
    /// releasing slots is serialised by `lock`, which the handler never takes.
    private static let slotCount = 256
    nonisolated(unsafe) private static let names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: slotCount)
        table.initialize(repeating: nil, count: slotCount)
        return table
    }()
    nonisolated(unsafe) private static var lock = pthread_mutex_t()
    private static let lockReady: Bool = { pthread_mutex_init(&lock, nil); return true }()

    /// Claims a slot holding a malloc'd copy of `template` (slot -1 when the table is full: such an
    /// output is still removed on errors, only not by a signal handler).
    private static func register(_ template: String) -> (slot: Int, name: UnsafeMutablePointer<CChar>) {
        let name = strdup(template)!
        _ = lockReady
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        for i in 0..<slotCount where names[i] == nil {
            names[i] = name
            return (i, name)
        }
        return (-1, name)
    }

    private static func unregister(_ slot: Int) {
        guard slot >= 0 else { return }
        pthread_mutex_lock(&lock)
        let name = names[slot]
        names[slot] = nil
        pthread_mutex_unlock(&lock)
        free(name)
    }

    /// Removes every uncommitted temporary file. Async-signal-safe: called from the CLI's SIGINT /
    /// SIGTERM / SIGHUP handlers.
    /// Allocates the table ``removeAllTemporaryFiles()`` reads, so that a signal handler never
    /// triggers the lazy allocation (malloc is not async-signal-safe). Call before installing handlers.
    public static func prepareForSignals() {
        _ = names
    }

    public static func removeAllTemporaryFiles() {
        for i in 0..<slotCount {
            if let name = names[i] { unlink(name) }
        }
    }
}
