import CTensorIO
import CZlib

/// zlib for ZIP members: raw deflate streams (no zlib header or trailer, window bits −15) and CRC-32.
///
/// zlib's lengths are 32-bit (`uInt`), so every call here feeds it at most ``chunk`` bytes at a time
/// and works on buffers of any size. Errors carry no file or entry; callers attach them.
public enum Zlib {
    /// Largest piece handed to one zlib call (1 GiB, well under `uInt`'s limit).
    static let chunk = 1 << 30

    /// CRC-32 (reflected 0xEDB88320, as ZIP, gzip and PNG use) of `bytes`, continuing from `initial`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        crc32(bytes, initial: initial, chunk: chunk)
    }

    /// Whether ``crc32(_:initial:)`` folds with carry-less multiplication (x86-64 with PCLMULQDQ).
    static let hasCarrylessCRC = lstmkit_crc32_clmul_available() != 0

    /// `chunk`: most bytes per zlib call; `carryless` false forces zlib (tests compare the two).
    static func crc32(_ bytes: UnsafeRawBufferPointer, initial: UInt32, chunk: Int,
                      carryless: Bool = hasCarrylessCRC) -> UInt32 {
        guard let base = bytes.baseAddress else { return initial }
        if carryless && bytes.count >= 64 {
            return lstmkit_crc32_clmul(initial, base, bytes.count)
        }
        var crc = UInt(initial)
        var done = 0
        while done < bytes.count {
            let n = min(chunk, bytes.count - done)
            crc = CZlib.crc32(crc, base.advanced(by: done).assumingMemoryBound(to: Bytef.self), uInt(n))
            done += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// The CRC-32 of A followed by B, from A's CRC, B's CRC and B's length (zlib's `crc32_combine`).
    public static func crc32Combine(_ a: UInt32, _ b: UInt32, lengthOfB: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(UInt(a), UInt(b), Int(lengthOfB)))
    }

    /// Inflates the raw deflate stream `source` into exactly `destination.count` bytes.
    ///
    /// Fails when the stream would produce more than that (`.hostile`), ends before filling it or
    /// runs out of input (`.truncated` / `.corrupt`), or is not valid deflate data (`.corrupt`).
    /// `offset` of an error is the position in `source` where zlib stopped. Returns the number of
    /// input bytes consumed (the stream may be followed by unused bytes).
    @discardableResult
    public static func inflateRaw(_ source: UnsafeRawBufferPointer,
                                  into destination: UnsafeMutableRawBufferPointer) throws(FormatError) -> Int {
        try inflateRaw(source, into: destination, chunk: chunk)
    }

    /// `chunk`: most bytes handed to zlib per call (tests lower it to exercise the > 4 GiB loop).
    @discardableResult
    static func inflateRaw(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                           chunk: Int) throws(FormatError) -> Int {
        try inflateStream(source, declaredSize: destination.count, chunk: chunk,
                          window: { produced in UnsafeMutableRawBufferPointer(rebasing: destination[produced...]) },
                          each: { _ in true })
    }

    /// Bytes inflated per piece by ``inflateRaw(_:declaredSize:each:)``.
    static let streamWindow = 1 << 20

    /// Inflates `source`, which must make exactly `declaredSize` bytes, handing them to `each` in
    /// order in pieces of at most 1 MiB (memory stays at one piece whatever the size). `each`
    /// returns false to stop early: the rest of the stream is then neither inflated nor checked.
    /// Errors as ``inflateRaw(_:into:)``. Returns the input bytes consumed.
    /// `consumed` (when given) learns after each piece how many input bytes zlib has read, so a
    /// caller can release the mapped pages behind them.
    @discardableResult
    public static func inflateRaw(_ source: UnsafeRawBufferPointer, declaredSize: Int,
                                  consumed: ((Int) -> Void)? = nil,
                                  each: (UnsafeRawBufferPointer) throws(FormatError) -> Bool) throws(FormatError) -> Int {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: streamWindow, alignment: 64)
        defer { scratch.deallocate() }
        return try inflateStream(source, declaredSize: declaredSize, chunk: consumed == nil ? chunk : streamInput,
                                 window: { _ in scratch }, each: each, consumed: consumed)
    }

    /// Input fed to zlib per call when the caller releases consumed pages (4 MiB).
    static let streamInput = 4 << 20

    /// The first `count` bytes `source` inflates to (all of them when it makes fewer than `count` of
    /// its `declaredSize`), inflating no further than that: how a reader looks at a header.
    public static func inflatePrefix(_ source: UnsafeRawBufferPointer, declaredSize: Int, count: Int) throws(FormatError) -> [UInt8] {
        let n = min(max(0, count), declaredSize)
        guard n > 0 else { return [] }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 16)
        defer { buffer.deallocate() }
        var made = 0
        _ = try inflateStream(source, declaredSize: declaredSize, chunk: chunk,
                          window: { produced in UnsafeMutableRawBufferPointer(rebasing: buffer[produced...]) },
                          each: { piece in
                              made += piece.count
                              return made < n
                          })
        return Array(buffer[0..<made])
    }

    /// The one inflate loop. `window(produced)` gives the buffer the next bytes go into (only its
    /// first `declaredSize − produced` bytes are used); `each` sees every produced piece.
    static func inflateStream(_ source: UnsafeRawBufferPointer, declaredSize: Int, chunk: Int,
                              window: (Int) -> UnsafeMutableRawBufferPointer,
                              each: (UnsafeRawBufferPointer) throws(FormatError) -> Bool,
                              consumed report: ((Int) -> Void)? = nil) throws(FormatError) -> Int {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FormatError(.unreadable, "zlib could not start an inflate stream")
        }
        // One byte past the declared size: inflating anything into it proves the stream is longer.
        let probe = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
        defer {
            inflateEnd(&stream)
            probe.deallocate()
        }
        var inDone = 0
        var produced = 0
        stream.avail_in = 0
        while true {
            if stream.avail_in == 0, inDone < source.count, let base = source.baseAddress {
                let n = min(chunk, source.count - inDone)
                stream.next_in = UnsafeMutablePointer(mutating: base.advanced(by: inDone).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                inDone += n
            }
            let wanted = declaredSize - produced
            let target = wanted > 0 ? window(produced) : probe
            let room = wanted > 0 ? min(target.count, wanted, chunk) : 1
            stream.next_out = target.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(room)
            let status = inflate(&stream, Z_NO_FLUSH)
            let made = room - Int(stream.avail_out)
            let consumed = inDone - Int(stream.avail_in)
            if made > 0 {
                guard wanted > 0 else {
                    throw FormatError(.hostile, "deflate stream inflates to more than the \(declaredSize) bytes declared",
                                      offset: consumed)
                }
                produced += made
                guard try each(UnsafeRawBufferPointer(rebasing: target[0..<made])) else { return consumed }
                report?(consumed)
            }
            switch status {
            case Z_STREAM_END:
                guard produced == declaredSize else {
                    throw FormatError(.corrupt, "deflate stream ends after \(produced) bytes, \(declaredSize) declared",
                                      offset: consumed)
                }
                return consumed
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                guard stream.avail_in == 0, inDone < source.count else {
                    throw FormatError(.truncated, "deflate stream ends before its end-of-stream marker (\(produced) of \(declaredSize) bytes inflated)",
                                      offset: consumed)
                }
                continue
            case Z_MEM_ERROR:
                throw FormatError(.unreadable, "zlib ran out of memory while inflating")
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw FormatError(.corrupt, "invalid deflate data (\(detail))", offset: consumed)
            }
        }
    }

    /// Compresses the concatenation of `parts` as one raw deflate stream (level 6, memLevel 8,
    /// window bits −15 — CPython zipfile's settings) and returns the compressed bytes.
    public static func deflateRaw(_ parts: [UnsafeRawBufferPointer], level: Int32 = 6) throws(FormatError) -> [UInt8] {
        try deflateRaw(parts, level: level, chunk: chunk)
    }

    static func deflateRaw(_ parts: [UnsafeRawBufferPointer], level: Int32, chunk: Int) throws(FormatError) -> [UInt8] {
        let deflater = try RawDeflater(level: level, chunk: chunk)
        var output: [UInt8] = []
        for part in parts {
            try deflater.feed(part) { output.append(contentsOf: $0) }
        }
        try deflater.finish { output.append(contentsOf: $0) }
        return output
    }

    /// The most bytes deflating `count` bytes can produce (zlib's `deflateBound` for our settings).
    public static func deflateBound(_ count: Int) -> UInt64 {
        let n = UInt64(max(0, count))
        return n + (n >> 12) + (n >> 14) + (n >> 25) + 13 + 64
    }

    /// A raw deflate stream compressed piece by piece: ``feed(_:into:)`` any number of times, then
    /// ``finish(into:)``. Compressed bytes go to `sink` in pieces of at most 1 MiB, so memory stays
    /// bounded whatever the input's size. Settings as ``deflateRaw(_:level:)``.
    public final class RawDeflater {
        private var stream = z_stream()
        private let chunk: Int
        private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        private var finished = false

        public convenience init(level: Int32 = 6) throws(FormatError) {
            try self.init(level: level, chunk: Zlib.chunk)
        }

        init(level: Int32, chunk: Int) throws(FormatError) {
            self.chunk = chunk
            guard deflateInit2_(&stream, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                scratch.deallocate()
                throw FormatError(.unreadable, "zlib could not start a deflate stream")
            }
        }

        deinit {
            deflateEnd(&stream)
            scratch.deallocate()
        }

        /// Compresses `bytes`.
        public func feed(_ bytes: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
            guard let base = bytes.baseAddress else { return }
            var done = 0
            while done < bytes.count {
                let n = min(chunk, bytes.count - done)
                stream.next_in = UnsafeMutablePointer(mutating: base.advanced(by: done).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                _ = try run(Z_NO_FLUSH, sink)
                done += n
            }
        }

        /// Ends the stream.
        public func finish(into sink: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
            guard !finished else { return }
            stream.avail_in = 0
            while try run(Z_FINISH, sink) != Z_STREAM_END {}
            finished = true
        }

        private func run(_ flush: Int32, _ sink: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) -> Int32 {
            var status: Int32 = Z_OK
            repeat {
                stream.next_out = scratch.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(scratch.count)
                status = deflate(&stream, flush)
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw FormatError(.unreadable, "zlib deflate failed (error \(status))")
                }
                let made = scratch.count - Int(stream.avail_out)
                if made > 0 { try sink(UnsafeRawBufferPointer(rebasing: scratch[0..<made])) }
            } while stream.avail_out == 0 && status != Z_STREAM_END
            return status
        }
    }
}
