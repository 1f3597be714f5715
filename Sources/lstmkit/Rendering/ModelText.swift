import LSTMSchema
import TensorFormats

/// Text blocks shared by the reports of inspect, validate and the other commands.
enum ModelText {
    /// `model.npz: npz, 8 tensors (12.3 KiB), 1 LSTM` — the first line of a report.
    static func headline(_ model: LoadedModel) -> String {
        let bytes = model.file.tensors.reduce(0) { $0 &+ $1.tensor.byteCount }
        let n = model.file.tensors.count
        let m = model.discovered.count
        return "\(model.file.path): \(model.file.format.rawValue), \(n) tensor\(n == 1 ? "" : "s") (\(ByteCount.format(bytes))), "
            + (m == 0 ? "no LSTM" : "\(m) LSTM\(m == 1 ? "" : "s")")
    }

    /// A module name in a table cell: as it is, `(root)` for the unprefixed module.
    static func cell(_ module: String) -> String { module.isEmpty ? "(root)" : module }

    /// One row per module: its inferred config (config keys as `--expect` spells them) and its status,
    /// counting `problems` (default: the module's own schema problems).
    static func lstmTable(_ modules: [DiscoveredModule], problems: [SchemaProblem]? = nil) -> TextTable {
        let fields = LSTMConfig.Field.allCases
        var table = TextTable(["LSTM", "kind"] + fields.map { .init($0.rawValue, $0.isNumeric ? .right : .left) } + ["status"])
        for d in modules {
            let count = problems.map { $0.filter { $0.module == d.name }.count } ?? d.problems.count
            var status = count == 0 ? "valid" : "\(count) problem\(count == 1 ? "" : "s")"
            if let onnx = d.module?.variant {
                let extras = onnx.nonPyTorchFeatures + (onnx.hasSequenceLens ? ["sequence_lens"] : []) + (onnx.layout == 1 ? ["layout=1"] : [])
                if !extras.isEmpty { status += " (ONNX: " + extras.joined(separator: ", ") + ")" }
            }
            if let c = d.config {
                table.append([cell(d.name), d.kind.rawValue] + fields.map { $0.value(in: c).description } + [status])
            } else {
                table.append([cell(d.name), d.kind.rawValue] + fields.map { _ in "?" } + [status])
            }
        }
        return table
    }

    /// One row per tensor in file order: name, dtype, shape, size.
    static func tensorTable(_ tensors: [NamedTensor]) -> TextTable {
        var table = TextTable(["tensor", "dtype", "shape", .init("size", .right)])
        for t in tensors {
            table.append([t.name, t.tensor.dtype.name, formatShape(t.tensor.shape), ByteCount.format(t.tensor.byteCount)])
        }
        return table
    }

    /// One row per problem: module, tensor, what is wrong (expected and found are in the message).
    static func problemTable(_ problems: [SchemaProblem]) -> TextTable {
        var table = TextTable(["LSTM", "tensor", "problem"])
        for p in problems {
            table.append([cell(p.module), p.tensor ?? "-", p.message])
        }
        return table
    }

    /// The sentence on stderr when problems were found: the file, how many, and the first in full.
    static func problemSentence(file: String, _ problems: [SchemaProblem]) -> String {
        guard let first = problems.first else { return "\(file): no problems" }
        if problems.count == 1 { return printable("\(file): \(first.description)") }
        return printable("\(file): \(problems.count) problems; first: \(first.description)")
    }
}
