import ArgumentParser
import TensorFormats

/// `--max-bytes SIZE`: the memory budget (``Limits/memory``) for everything sized by the inputs —
/// inflated members, tensor copies and casts, the forward pass; by default ¾ of the machine's
/// memory (``MemoryBudget/defaultLimit``) and what `ulimit -v` leaves. The other caps of ``Limits``
/// keep their defaults. Add to a command that reads files with
/// `@OptionGroup var limitOptions: LimitOptions`, conform it to ``UsesMemoryBudget``, and read the
/// files with `limitOptions.limits`: ``CommandRunner`` runs the command with its budget bound as
/// ``MemoryBudget/current``, which those limits (and every tensor copy) use.
struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("max-bytes"),
            help: ArgumentHelp("Memory budget for data sized by the inputs (inflated members, copies, the forward pass); K, M, G, T suffixes are powers of 1024 (default: 3/4 of the machine's memory).",
                               valueName: "size"))
    var maxBytes: ByteSize?

    /// ``Limits/default``; its memory budget is the one ``CommandRunner`` binds (``budget``).
    var limits: Limits { Limits.default }

    /// The budget the command runs under: `--max-bytes`, else the process's.
    func makeBudget() -> MemoryBudget {
        maxBytes.map { MemoryBudget(limit: $0.bytes) } ?? .process
    }
}

/// A command whose memory budget `--max-bytes` sets (``CommandRunner`` binds it while it runs).
protocol UsesMemoryBudget {
    var limitOptions: LimitOptions { get }
}

/// A byte count on the command line: `1048576`, `512K`, `64M`, `2G`, `1T` (suffixes are powers of
/// 1024, case-insensitive, an optional trailing `B` / `iB` is accepted).
struct ByteSize: ExpressibleByArgument, Sendable, Equatable {
    var bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        var text = Substring(argument.uppercased())
        if text.hasSuffix("IB") { text = text.dropLast(2) } else if text.hasSuffix("B") { text = text.dropLast() }
        var shift = 0
        if let last = text.last, let index = "KMGT".firstIndex(of: last) {
            shift = 10 * ("KMGT".distance(from: "KMGT".startIndex, to: index) + 1)
            text = text.dropLast()
        }
        guard let value = Int(text), value >= 0, value <= Int.max >> shift else { return nil }
        bytes = value << shift
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
