import LSTMSchema
import TensorFormats

/// The one JSON object every `--json` prints (DESIGN §3), keys in DESIGN's order:
///
/// `{"file", "format", "tensors": [{"name", "dtype", "shape"}], "lstms": [{"module", "kind", "input_size",
/// "hidden_size", "num_layers", "bidirectional", "proj_size", "bias", "dtype"}], "problems":
/// [{"module", "tensor", "message", "expected", "found"}]}` + `"results"` for verify / compare.
///
/// ```swift
/// var report = JSONReport(model: loaded)              // tensors, lstms and problems of the file
/// report.results = comparisons.map(\.jsonResult)      // verify / compare only
/// console.print(report.value.rendered())
/// ```
struct JSONReport {
    var file: String
    var format: String
    var tensors: [NamedTensor]
    /// Modules with an inferred config, in file order.
    var lstms: [(module: String, kind: ModuleKind, config: LSTMConfig)]
    var problems: [SchemaProblem]
    /// verify / compare only; nil leaves the key out.
    var results: [Result]?

    /// One `results` entry: how far one output (or tensor) is from its reference.
    struct Result {
        var name: String
        var maxAbsError: Double
        var maxRelError: Double
        /// Multi-index of the element with the largest error; nil when there are no elements.
        var worstIndex: [Int]?
        var mismatches: Int
        var passed: Bool

        var value: JSONValue {
            .object([("name", .string(name)), ("max_abs_error", .double(maxAbsError)),
                     ("max_rel_error", .double(maxRelError)),
                     ("worst_index", worstIndex.map { .array($0.map(JSONValue.int)) } ?? .null),
                     ("mismatches", .int(mismatches)), ("passed", .bool(passed))])
        }
    }

    init(file: String, format: String, tensors: [NamedTensor], lstms: [(module: String, kind: ModuleKind, config: LSTMConfig)],
         problems: [SchemaProblem], results: [Result]? = nil) {
        self.file = file
        self.format = format
        self.tensors = tensors
        self.lstms = lstms
        self.problems = problems
        self.results = results
    }

    /// Everything in `model`: all tensors, every module with a config, every problem.
    init(model: LoadedModel) {
        self.init(file: model.file.path, format: model.file.format.rawValue, tensors: model.file.tensors,
                  lstms: model.discovered.compactMap { d in d.config.map { (d.name, d.kind, $0) } },
                  problems: model.problems)
    }

    var value: JSONValue {
        var members: [(String, JSONValue)] = [
            ("file", .string(file)),
            ("format", .string(format)),
            ("tensors", .array(tensors.map { t in
                .object([("name", .string(t.name)), ("dtype", .string(t.tensor.dtype.name)),
                         ("shape", .array(t.tensor.shape.map(JSONValue.int)))])
            })),
            ("lstms", .array(lstms.map { JSONReport.lstmValue(module: $0.module, kind: $0.kind, config: $0.config) })),
            ("problems", .array(problems.map(JSONReport.problemValue))),
        ]
        if let results { members.append(("results", .array(results.map(\.value)))) }
        return .object(members)
    }

    static func lstmValue(module: String, kind: ModuleKind, config c: LSTMConfig) -> JSONValue {
        .object([("module", .string(module)), ("kind", .string(kind.rawValue))] + LSTMConfig.Field.allCases.map { field in
            switch field.value(in: c) {
            case .int(let v): (field.rawValue, .int(v))
            case .bool(let v): (field.rawValue, .bool(v))
            case .dtype(let v): (field.rawValue, .string(v.name))
            }
        })
    }

    static func problemValue(_ p: SchemaProblem) -> JSONValue {
        .object([("module", .string(p.module)), ("tensor", .string(p.tensor)), ("message", .string(p.message)),
                 ("expected", .string(p.expected)), ("found", .string(p.found))])
    }
}
