import Synchronization

/// The bytes behind one or more tensors: a range of a ``MappedFile`` (zero-copy), memory owned
/// here, or bytes made when first needed (``DeferredBytes``: an inflated ZIP member).
///
/// Storage is immutable once created and shared by reference, so views (PyTorch tensors that
/// share one storage at different offsets) cost nothing.
///
/// Deferred storage knows its ``count`` from the file's metadata and holds no bytes: metadata-only
/// commands never inflate, writers copy it to their output in bounded pieces with
/// ``stream(_:into:)``, and whoever needs the values takes ``materialized()`` (``Tensor/loaded()``)
/// under the memory budget, for as long as they hold it. Reading ``bytes`` of deferred storage
/// directly makes and keeps them, and traps if that fails — a bug in the caller (which skipped
/// ``materialized()``), never a property of the input.
public final class TensorStorage: @unchecked Sendable {
    /// Bytes of storage (known without loading).
    public let count: Int
    private let eager: UnsafeRawBufferPointer?
    private let mapping: MappedFile?
    private let deferred: DeferredState?
    /// Where this storage starts in its deferred source's bytes.
    private let deferredOffset: Int
    /// The CRC-32 of ``bytes`` when a reader has checked it against the file (a ZIP member's), so
    /// that writers copying these bytes whole need not compute it again; nil when unknown.
    public private(set) var crc32: UInt32?

    /// The storage's bytes; valid as long as this object lives. Loads deferred storage (see above).
    public var bytes: UnsafeRawBufferPointer {
        if let eager { return eager }
        guard let deferred else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        do {
            let all = try deferred.load()
            return UnsafeRawBufferPointer(rebasing: all[deferredOffset..<(deferredOffset + count)])
        } catch {
            fatalError("deferred tensor bytes were read without TensorStorage.materialized(), and making them failed: \(error)")
        }
    }

    /// A zero-copy view of `range` in a mapped file. The caller has checked the range; `crc32`, when
    /// given, is the checked CRC-32 of those bytes.
    public init(mapped file: MappedFile, range: Range<Int>, crc32: UInt32? = nil) {
        mapping = file
        deferred = nil
        deferredOffset = 0
        eager = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        count = range.count
        self.crc32 = crc32
    }

    /// Bytes made by `source` when first needed, under `budget`.
    public init(deferred source: any DeferredBytes, budget: MemoryBudget) {
        mapping = nil
        eager = nil
        deferred = DeferredState(source: source, budget: budget)
        deferredOffset = 0
        count = source.count
    }

    /// Records the checked CRC-32 of ``bytes`` (a reader that verified owned, inflated bytes).
    func setCheckedCRC32(_ crc: UInt32) { crc32 = crc }

    /// A view of `range` inside another storage (shares its lifetime; deferred when it is).
    public init(slicing parent: TensorStorage, range: Range<Int>) {
        mapping = parent.mapping
        count = range.count
        deferred = parent.deferred
        deferredOffset = parent.deferredOffset + range.lowerBound
        eager = parent.eager.map { UnsafeRawBufferPointer(rebasing: $0[range]) }
        parentRef = parent
    }

    private var parentRef: TensorStorage?

    /// Holds memory allocated under a budget (freed with this storage).
    public init(budgeted buffer: BudgetedBuffer) {
        mapping = nil
        deferred = nil
        deferredOffset = 0
        eager = UnsafeRawBufferPointer(buffer.buffer)
        count = buffer.buffer.count
        keepAlive = buffer
    }

    private var keepAlive: BudgetedBuffer?

    /// Whether the bytes are made on demand (see ``materialized()``).
    public var isDeferred: Bool { deferred != nil }

    /// Storage holding these bytes in memory: itself unless deferred; for deferred storage, a new
    /// buffer admitted by the memory budget and filled from the source (checked as it is made), so
    /// the bytes live as long as the returned storage and no longer. Throws the budget's refusal or
    /// the source's error (a corrupt stream, a CRC mismatch), naming the file and member.
    public func materialized() throws(FormatError) -> TensorStorage {
        guard let deferred else { return self }
        if let all = deferred.loadedBytes {
            return TensorStorage(holding: self, bytes: UnsafeRawBufferPointer(rebasing: all[deferredOffset..<(deferredOffset + count)]))
        }
        let buffer = try deferred.allocate(count)
        if deferredOffset == 0, count == deferred.source.count {
            try deferred.source.fill(buffer.buffer)
        } else {
            var written = 0
            try deferred.source.stream(deferredOffset..<(deferredOffset + count)) { piece in
                UnsafeMutableRawBufferPointer(rebasing: buffer.buffer[written..<(written + piece.count)]).copyMemory(from: piece)
                written += piece.count
            }
        }
        return TensorStorage(budgeted: buffer)
    }

    /// Bytes that stay valid while `owner` lives.
    private init(holding owner: TensorStorage, bytes: UnsafeRawBufferPointer) {
        mapping = nil
        deferred = nil
        deferredOffset = 0
        eager = bytes
        count = bytes.count
        parentRef = owner
    }

    /// Calls `sink` with `range` of the bytes, in order, in pieces of bounded size: deferred bytes
    /// not yet made are made on the way (checked as ``materialized()`` checks them) without being held.
    public func stream(_ range: Range<Int>, into sink: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw FormatError(.corrupt, "range \(range) lies outside a storage of \(count) bytes")
        }
        if let deferred, !deferred.isLoaded {
            let shifted = (deferredOffset + range.lowerBound)..<(deferredOffset + range.upperBound)
            try deferred.source.stream(shifted, into: sink)
            return
        }
        let all = bytes
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + TensorStorage.streamPiece, range.upperBound)
            try sink(UnsafeRawBufferPointer(rebasing: all[start..<end]))
            start = end
        }
    }

    /// Largest piece ``stream(_:into:)`` hands over from bytes in memory.
    static let streamPiece = 4 << 20

    /// Allocates `count` bytes (zeroed) under the memory budget (``MemoryBudget/current``) and
    /// lets `fill` write them. Throws the budget's refusal, or what `fill` throws.
    public convenience init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
        let buffer = try MemoryBudget.current.allocate(count, for: "a tensor buffer")
        buffer.buffer.initializeMemory(as: UInt8.self, repeating: 0)
        try fill(buffer.buffer)
        self.init(budgeted: buffer)
    }

    /// A copy of `source`, under the memory budget.
    public convenience init(copying source: UnsafeRawBufferPointer) throws(FormatError) {
        try self.init(count: source.count) { dst in
            if source.count > 0 { dst.copyMemory(from: source) }
        }
    }

    public convenience init(bytes array: [UInt8]) throws(FormatError) {
        try self.init(count: array.count) { dst in
            array.withUnsafeBytes { if $0.count > 0 { dst.copyMemory(from: $0) } }
        }
    }

    /// The mapped file and the file offset of ``bytes`` when they are a view of a mapped file.
    var mappedSource: (file: MappedFile, offset: Int)? {
        guard let mapping, let base = mapping.bytes.baseAddress, let start = eager?.baseAddress else { return nil }
        return (mapping, start - base)
    }

    /// The file the bytes come from (mapped or deferred storage), for errors; nil for memory.
    public var originFile: String? { mapping?.path ?? deferred?.source.file ?? parentRef?.originFile }

    /// Whether the bytes live in a mapped file (zero-copy) rather than in owned memory.
    public var isMapped: Bool { mapping != nil }

    /// Lets the kernel drop the mapped pages behind `range` of ``bytes`` once they have been copied
    /// out (they are read again from the file if touched later); nothing for owned memory.
    public func releasePages(_ range: Range<Int>) {
        guard let mapping, let base = mapping.bytes.baseAddress, let start = eager?.baseAddress,
              range.lowerBound >= 0, range.upperBound <= count else { return }
        let origin = start - base
        mapping.release((origin + range.lowerBound)..<(origin + range.upperBound))
    }

}

/// Where deferred storage gets its bytes: a ZIP member inflated on demand (``ZipArchive``).
public protocol DeferredBytes: Sendable {
    /// Bytes it makes.
    var count: Int { get }
    /// Names the bytes in a budget refusal ("inflating 'w.npy' (N bytes from M)").
    var what: String { get }
    /// The file the bytes come from, and the member or tensor, for errors (a budget refusal is
    /// attributed to them).
    var file: String { get }
    var member: String? { get }
    /// Fills `destination` (exactly ``count`` bytes), checking them (size, CRC) as it goes.
    func fill(_ destination: UnsafeMutableRawBufferPointer) throws(FormatError)
    /// Calls `sink` with `range` of the bytes in order, in bounded pieces, holding none of them.
    func stream(_ range: Range<Int>, into sink: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError)
}

/// The bytes of deferred storage read through ``TensorStorage/bytes``, made once and kept.
final class DeferredState: Sendable {
    let source: any DeferredBytes
    let budget: MemoryBudget
    private let loaded = Mutex<BudgetedBuffer?>(nil)

    init(source: any DeferredBytes, budget: MemoryBudget) {
        self.source = source
        self.budget = budget
    }

    var isLoaded: Bool { loaded.withLock { $0 != nil } }

    /// `count` bytes admitted by the budget; a refusal names the source's file and member.
    func allocate(_ count: Int) throws(FormatError) -> BudgetedBuffer {
        do {
            return try budget.allocate(count, for: source.what)
        } catch {
            var e = error.inFile(source.file)
            if let member = source.member { e = e.inEntry(member) }
            throw e
        }
    }

    /// The bytes when ``load()`` has made them (a direct ``TensorStorage/bytes`` read).
    var loadedBytes: UnsafeRawBufferPointer? { loaded.withLock { $0.map { UnsafeRawBufferPointer($0.buffer) } } }

    func load() throws(FormatError) -> UnsafeRawBufferPointer {
        let result = loaded.withLock { slot -> Result<UnsafeRawBufferPointer, FormatError> in
            if let slot { return .success(UnsafeRawBufferPointer(slot.buffer)) }
            do throws(FormatError) {
                let buffer = try allocate(source.count)
                try source.fill(buffer.buffer)
                slot = buffer
                return .success(UnsafeRawBufferPointer(buffer.buffer))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
