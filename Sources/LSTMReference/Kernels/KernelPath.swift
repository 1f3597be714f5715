import CLSTMKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The instruction set a float32 forward pass computes with.
///
/// | path | GEMM tile (rows × columns) | gate pass lanes | runs on |
/// |---|---|---|---|
/// | `avx512` | 12 × 32 (1–2 rows: 2 × 64) | 16 | x86-64 with AVX-512F, AVX2, FMA |
/// | `avx2` | 6 × 16 (1 row: 1 × 32) | 8 | x86-64 with AVX2 and FMA |
/// | `portable` | 6 × 16, Swift `SIMD8` | 8 | every CPU (NEON on arm64) |
///
/// A pass uses ``automatic``: the path the environment variable `LSTMKIT_KERNELS` names
/// (``fromEnvironment()``), else the fastest this CPU runs (``best``), so that every path can be
/// tested and benchmarked on any machine that runs it. Float64 passes always use the portable scalar loops.
/// All paths give results within the float32 tolerance of each other; they are not bit-identical.
public enum KernelPath: String, CaseIterable, Sendable, Codable {
    case avx512, avx2, portable

    /// The environment variable that picks a path.
    public static let environmentVariable = "LSTMKIT_KERNELS"

    /// Whether this CPU (and OS) runs the path.
    public var isSupported: Bool { self == .portable || table != nil }

    /// The paths this CPU runs, fastest first (always ends with `portable`).
    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }

    /// The fastest path this CPU runs.
    public static var best: KernelPath { supported[0] }

    /// What a pass uses when not told: ``fromEnvironment()``, or ``best`` when that throws
    /// (front ends call ``fromEnvironment()`` first to report a bad value). Read once per process.
    public static let automatic: KernelPath = (try? fromEnvironment()) ?? best

    /// The path `LSTMKIT_KERNELS` names, or ``best`` when it is unset or empty.
    /// - Throws: ``KernelPathError`` when the value names no path, or one this CPU does not run.
    public static func fromEnvironment() throws(KernelPathError) -> KernelPath {
        guard let raw = getenv(environmentVariable), raw.pointee != 0 else { return best }
        return try named(String(cString: raw))
    }

    /// The path called `name` (case-insensitive; `auto` = ``best``).
    /// - Throws: ``KernelPathError`` when `name` names no path, or one this CPU does not run.
    public static func named(_ name: String) throws(KernelPathError) -> KernelPath {
        let lowered = name.lowercased()
        if lowered == "auto" { return best }
        guard let path = KernelPath(rawValue: lowered) else { throw KernelPathError(value: name, unknown: true) }
        guard path.isSupported else { throw KernelPathError(value: name, unknown: false) }
        return path
    }

    /// The C kernels of the path, nil for `portable` or when this CPU does not run them.
    var table: UnsafePointer<lstmkit_kernel_table>? {
        switch self {
        case .avx512: Self.avx512Table.pointer
        case .avx2: Self.avx2Table.pointer
        case .portable: nil
        }
    }

    private static let avx512Table = KernelTable(lstmkit_kernels(Int32(LSTMKIT_ISA_AVX512)))
    private static let avx2Table = KernelTable(lstmkit_kernels(Int32(LSTMKIT_ISA_AVX2)))
}

/// A path name that names no path, or one this CPU does not run.
public struct KernelPathError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The name as given.
    public var value: String
    /// True when the name is no path at all; false when this CPU does not run it.
    public var unknown: Bool

    public var description: String {
        let runs = KernelPath.supported.map(\.rawValue).joined(separator: ", ")
        return unknown
            ? "\(KernelPath.environmentVariable)=\(value) names no kernel path; use one of \(KernelPath.allCases.map(\.rawValue).joined(separator: ", ")) or auto"
            : "\(KernelPath.environmentVariable)=\(value): this CPU does not run the \(value) kernels; it runs \(runs)"
    }
}

/// A C kernel table, immutable static data of CLSTMKernels.
struct KernelTable: @unchecked Sendable {
    let pointer: UnsafePointer<lstmkit_kernel_table>?
    init(_ pointer: UnsafePointer<lstmkit_kernel_table>?) { self.pointer = pointer }
}

/// The kernels one forward pass calls: the C table of its path, or nil for the Swift kernels.
struct Kernels: Sendable {
    let path: KernelPath
    let table: KernelTable

    init(_ path: KernelPath) {
        self.path = path
        table = KernelTable(path.table)
    }
}
