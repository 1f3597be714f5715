/// The bytes behind one or more tensors: a range of a ``MappedFile`` (zero-copy) or memory owned here.
///
/// Storage is immutable once created and shared by reference, so views (PyTorch tensors that
/// share one storage at different offsets) cost nothing.
public final class TensorStorage: @unchecked Sendable {
    /// The storage's bytes; valid as long as this object lives.
    public let bytes: UnsafeRawBufferPointer
    private let mapping: MappedFile?
    private let owned: UnsafeMutableRawBufferPointer?
    /// The CRC-32 of ``bytes`` when a reader has checked it against the file (a ZIP member's), so
    /// that writers copying these bytes whole need not compute it again; nil when unknown.
    public private(set) var crc32: UInt32?

    /// A zero-copy view of `range` in a mapped file. The caller has checked the range; `crc32`, when
    /// given, is the checked CRC-32 of those bytes.
    public init(mapped file: MappedFile, range: Range<Int>, crc32: UInt32? = nil) {
        mapping = file
        owned = nil
        bytes = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        self.crc32 = crc32
    }

    /// Records the checked CRC-32 of ``bytes`` (a reader that verified owned, inflated bytes).
    func setCheckedCRC32(_ crc: UInt32) { crc32 = crc }

    /// A view of `range` inside another storage (shares its lifetime).
    public init(slicing parent: TensorStorage, range: Range<Int>) {
        mapping = parent.mapping
        owned = nil
        bytes = UnsafeRawBufferPointer(rebasing: parent.bytes[range])
        parentRef = parent
    }

    private var parentRef: TensorStorage?

    /// Takes ownership of `buffer`, which must come from `UnsafeMutableRawBufferPointer.allocate`.
    public init(adopting buffer: UnsafeMutableRawBufferPointer) {
        mapping = nil
        owned = buffer
        bytes = UnsafeRawBufferPointer(buffer)
    }

    /// Allocates `count` bytes (zeroed) and lets `fill` write them.
    public convenience init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        let exact = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
        exact.initializeMemory(as: UInt8.self, repeating: 0)
        do {
            try fill(exact)
        } catch {
            buffer.deallocate()
            throw error
        }
        self.init(adoptingExact: exact, allocation: buffer)
    }

    private init(adoptingExact exact: UnsafeMutableRawBufferPointer, allocation: UnsafeMutableRawBufferPointer) {
        mapping = nil
        owned = allocation
        bytes = UnsafeRawBufferPointer(exact)
    }

    /// A copy of `source`.
    public convenience init(copying source: UnsafeRawBufferPointer) {
        self.init(count: source.count) { dst in
            if source.count > 0 { dst.copyMemory(from: source) }
        }
    }

    public convenience init(bytes array: [UInt8]) {
        self.init(count: array.count) { dst in
            array.withUnsafeBytes { if $0.count > 0 { dst.copyMemory(from: $0) } }
        }
    }

    /// The mapped file and the file offset of ``bytes`` when they are a view of a mapped file.
    var mappedSource: (file: MappedFile, offset: Int)? {
        guard let mapping, let base = mapping.bytes.baseAddress, let start = bytes.baseAddress else { return nil }
        return (mapping, start - base)
    }

    /// Whether the bytes live in a mapped file (zero-copy) rather than in owned memory.
    public var isMapped: Bool { mapping != nil }

    /// Lets the kernel drop the mapped pages behind `range` of ``bytes`` once they have been copied
    /// out (they are read again from the file if touched later); nothing for owned memory.
    public func releasePages(_ range: Range<Int>) {
        guard let mapping, let base = mapping.bytes.baseAddress, let start = bytes.baseAddress,
              range.lowerBound >= 0, range.upperBound <= bytes.count else { return }
        let origin = start - base
        mapping.release((origin + range.lowerBound)..<(origin + range.upperBound))
    }

    deinit { owned?.deallocate() }
}
