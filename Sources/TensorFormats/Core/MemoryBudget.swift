#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The one memory budget: every allocation whose size comes from file content (an inflated ZIP
/// member, a tensor copy or cast, the forward pass's working memory) is admitted here before it is
/// made, so that a declared size can never abort the process.
///
/// A request is admitted when both hold:
/// - the bytes held by live reservations plus the request stay within ``limit`` (`--max-bytes`;
///   by default ¾ of the memory the process may use: physical memory, or the cgroup's
///   `memory.max` when lower);
/// - when the address space is capped (`RLIMIT_AS`, `ulimit -v`), the request fits in what is left
///   of it (the cap minus the process's current mapped size, `/proc/self/statm`) with
///   ``addressSpaceHeadroom`` to spare for the allocator and the stacks.
///
/// Refusal is a ``FormatError`` of reason `limitExceeded` (exit 2) whose sentence gives the sizes;
/// the caller attaches the file and the member or tensor. Reservations release their bytes when
/// they are deallocated. Thread-safe.
public final class MemoryBudget: Sendable {
    /// Most bytes that live reservations may hold together.
    public let limit: Int
    private let held = Mutex(0)

    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// The budget of a process that was not told otherwise (see the type's description).
    public static let process = MemoryBudget(limit: MemoryBudget.defaultLimit)

    /// The budget in force for the current task (``process`` unless a caller binds another, as the
    /// CLI does for `--max-bytes`: `MemoryBudget.$current.withValue(budget) { … }`); what
    /// ``Limits/memory`` and tensor copies use.
    @TaskLocal public static var current = MemoryBudget.process

    /// ¾ of the memory this process may use (physical memory or the cgroup limit, whichever is lower).
    public static var defaultLimit: Int {
        let pages = Int(sysconf(Int32(_SC_PHYS_PAGES)))
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        var usable = pages > 0 && pageSize > 0 ? (Checked.mul(pages, pageSize) ?? Int.max) : 16 << 30
        if let cgroup = cgroupMemoryLimit() { usable = min(usable, cgroup) }
        return usable / 4 * 3
    }

    /// Space the address-space check keeps free beyond the request (allocator arenas, thread stacks).
    public static let addressSpaceHeadroom = 96 << 20

    /// Bytes held by live reservations.
    public var heldBytes: Int { held.withLock { $0 } }

    /// Admits `bytes` for as long as the returned reservation lives. `what` names the allocation in
    /// the refusal ("inflating member 'w.npy'", "the forward pass"): the sentence reads
    /// "<what> needs N bytes (…), over the memory budget …".
    public func reserve(_ bytes: Int, for what: @autoclosure () -> String) throws(FormatError) -> MemoryReservation {
        let count = max(0, bytes)
        if let room = MemoryBudget.addressSpaceLeft(), count > room {
            throw FormatError(.limitExceeded, "\(what()) needs \(MemoryBudget.shown(count)), more than the \(MemoryBudget.shown(max(0, room))) of address space left under this process's limit (ulimit -v)")
        }
        let limit = self.limit
        let granted = held.withLock { total -> Int? in
            guard let next = Checked.add(total, count), next <= limit else { return total }
            total = next
            return nil
        }
        if let inUse = granted {
            throw FormatError(.limitExceeded, "\(what()) needs \(MemoryBudget.shown(count)), over the memory budget of \(MemoryBudget.shown(limit)) (\(MemoryBudget.shown(inUse)) already in use; --max-bytes raises it)")
        }
        return MemoryReservation(budget: self, bytes: count)
    }

    fileprivate func release(_ bytes: Int) {
        held.withLock { $0 -= bytes }
    }

    /// Allocates `bytes` (64-byte aligned, uninitialised) after admitting them; the reservation is
    /// held by the returned allocation. An allocator that fails anyway is a thrown error, not a trap.
    public func allocate(_ bytes: Int, for what: @autoclosure () -> String) throws(FormatError) -> BudgetedBuffer {
        let reservation = try reserve(bytes, for: what())
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, max(bytes, 1)) == 0, let raw else {
            throw FormatError(.limitExceeded, "\(what()) needs \(MemoryBudget.shown(bytes)), which the system could not allocate")
        }
        return BudgetedBuffer(UnsafeMutableRawBufferPointer(start: raw, count: bytes), reservation: reservation)
    }

    /// Bytes of address space left under `RLIMIT_AS` minus the headroom; nil when unlimited.
    static func addressSpaceLeft() -> Int? {
        var rl = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max else { return nil }
        let cap = Int(clamping: rl.rlim_cur)
        return cap - mappedBytes() - addressSpaceHeadroom
    }

    /// The process's current virtual size (first field of `/proc/self/statm`, in pages).
    static func mappedBytes() -> Int {
        guard let text = readSmallFile("/proc/self/statm"), let first = text.split(separator: " ").first,
              let pages = Int(first) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// cgroup v2 `memory.max` of this process's group, when it is a number.
    static func cgroupMemoryLimit() -> Int? {
        guard let text = readSmallFile("/sys/fs/cgroup/memory.max") else { return nil }
        return Int(text.split(separator: "\n").first ?? "")
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    /// `bytes` for a sentence (``ByteCount/format(_:small:)`` with "bytes" below 1 KiB).
    public static func shown(_ bytes: Int) -> String { ByteCount.format(bytes, small: "bytes") }
}

/// Bytes admitted by a ``MemoryBudget``, given back when this object is deallocated.
public final class MemoryReservation: Sendable {
    private let budget: MemoryBudget
    public let bytes: Int

    fileprivate init(budget: MemoryBudget, bytes: Int) {
        self.budget = budget
        self.bytes = bytes
    }

    deinit { budget.release(bytes) }
}

/// Memory allocated under a ``MemoryBudget``: freed, and its reservation released, on deinit.
public final class BudgetedBuffer: @unchecked Sendable {
    public let buffer: UnsafeMutableRawBufferPointer
    private let reservation: MemoryReservation

    init(_ buffer: UnsafeMutableRawBufferPointer, reservation: MemoryReservation) {
        self.buffer = buffer
        self.reservation = reservation
    }

    deinit { free(buffer.baseAddress) }
}
