import ArgumentParser
import TensorFormats

/// `--max-bytes SIZE`: the most bytes that may be inflated from the compressed members of one input
/// archive (``Limits/maxInflatedBytes``, default 16 GiB); the other caps of ``Limits`` keep their
/// defaults. Add to a command that reads files with `@OptionGroup var limitOptions: LimitOptions`
/// and read them through `limitOptions.limits`.
struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("max-bytes"),
            help: ArgumentHelp("Most bytes to inflate from a compressed input (npz, PyTorch zip); K, M, G, T suffixes are powers of 1024 (default 16G).",
                               valueName: "size"))
    var maxBytes: ByteSize?

    /// ``Limits/default`` with the options applied.
    var limits: Limits {
        var limits = Limits.default
        if let maxBytes { limits.maxInflatedBytes = maxBytes.bytes }
        return limits
    }
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
