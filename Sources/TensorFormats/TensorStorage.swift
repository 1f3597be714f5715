/// The bytes behind one or more tensors: a range of a ``MappedFile`` (zero-copy) or memory owned here.
///
/// Storage is immutable once created and shared by reference, so views (PyTorch tensors that
/// share one storage at different offsets) cost nothing.
public final class TensorStorage: @unchecked Sendable {
    /// The storage's bytes; valid as long as this object lives.
    public let bytes: UnsafeRawBufferPointer
    private let mapping: MappedFile?
    private let owned: UnsafeMutableRawBufferPointer?

    /// A zero-copy view of `range` in a mapped file. The caller has checked the range.
    public init(mapped file: MappedFile, range: Range<Int>) {
        mapping = file
        owned = nil
        bytes = UnsafeRawBufferPointer(rebasing: file.bytes[range])
    }

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
