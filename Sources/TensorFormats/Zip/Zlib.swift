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
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FormatError(.unreadable, "zlib could not start an inflate stream")
        }
        // zlib refuses a null output pointer even with no room, so an empty destination gets a dummy.
        let dummy = UnsafeMutablePointer<Bytef>.allocate(capacity: 1)
        defer {
            inflateEnd(&stream)
            dummy.deallocate()
        }
        var inDone = 0
        var outDone = 0
        stream.avail_in = 0
        stream.next_out = dummy
        stream.avail_out = 0
        while true {
            if stream.avail_in == 0, inDone < source.count, let base = source.baseAddress {
                let n = min(chunk, source.count - inDone)
                stream.next_in = UnsafeMutablePointer(mutating: base.advanced(by: inDone).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                inDone += n
            }
            if stream.avail_out == 0, outDone < destination.count, let base = destination.baseAddress {
                let n = min(chunk, destination.count - outDone)
                stream.next_out = base.advanced(by: outDone).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(n)
                outDone += n
            }
            let lastIn = inDone == source.count
            let lastOut = outDone == destination.count
            let status = inflate(&stream, lastIn && lastOut ? Z_FINISH : Z_NO_FLUSH)
            let consumed = inDone - Int(stream.avail_in)
            let produced = outDone - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END:
                guard produced == destination.count else {
                    throw FormatError(.corrupt, "deflate stream ends after \(produced) bytes, \(destination.count) declared",
                                      offset: consumed)
                }
                return consumed
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                if stream.avail_out == 0 && lastOut {
                    throw FormatError(.hostile, "deflate stream inflates to more than the \(destination.count) bytes declared",
                                      offset: consumed)
                }
                if stream.avail_in == 0 && lastIn {
                    throw FormatError(.truncated, "deflate stream ends before its end-of-stream marker (\(produced) of \(destination.count) bytes inflated)",
                                      offset: consumed)
                }
                guard stream.avail_in == 0 || stream.avail_out == 0 else {
                    throw FormatError(.corrupt, "deflate stream makes no progress", offset: consumed)
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
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FormatError(.unreadable, "zlib could not start a deflate stream")
        }
        defer { deflateEnd(&stream) }
        var output: [UInt8] = []
        let total = parts.reduce(0) { $0 &+ $1.count }
        output.reserveCapacity(min(total / 2 + 64, 64 << 20))
        let outChunk = 1 << 20
        var scratch = [UInt8](repeating: 0, count: outChunk)

        func run(_ flush: Int32) throws(FormatError) -> Int32 {
            var status: Int32 = Z_OK
            repeat {
                status = scratch.withUnsafeMutableBytes { out -> Int32 in
                    stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(outChunk)
                    let s = deflate(&stream, flush)
                    output.append(contentsOf: out.prefix(outChunk - Int(stream.avail_out)))
                    return s
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw FormatError(.unreadable, "zlib deflate failed (error \(status))")
                }
            } while stream.avail_out == 0 && status != Z_STREAM_END
            return status
        }

        for part in parts {
            guard let base = part.baseAddress else { continue }
            var done = 0
            while done < part.count {
                let n = min(chunk, part.count - done)
                stream.next_in = UnsafeMutablePointer(mutating: base.advanced(by: done).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                _ = try run(Z_NO_FLUSH)
                done += n
            }
        }
        stream.avail_in = 0
        while try run(Z_FINISH) != Z_STREAM_END {}
        return output
    }
}
