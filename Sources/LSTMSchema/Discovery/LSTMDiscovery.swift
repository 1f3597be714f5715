import TensorFormats

/// Finds every nn.LSTM in a file's flat tensor map and checks it against the canonical schema.
///
/// Rules (DESIGN §2):
/// - Names are split at their last `.` into a prefix P ("" or ending in `.`) and a leaf. Every P
///   with a leaf of the form `{weight_ih|weight_hh|bias_ih|bias_hh|weight_hr}_l{k}[_reverse]` is one
///   nn.LSTM module, and every P with a leaf `weight_ih|weight_hh|bias_ih|bias_hh` one nn.LSTMCell
///   (``ModuleKind``), named P without its trailing dot. (A prefix whose `weight_ih_l0` is missing is still a
///   module, so the missing tensor is reported rather than the module silently ignored.)
///   `module.` (DataParallel), `_orig_mod.` (torch.compile) and checkpoint wrappers such as
///   `model_state_dict.` are simply part of P.
/// - The config is inferred from the tensors: hidden_size = gate rows / 4 (the majority over the
///   module's weight_ih / weight_hh / bias tensors, so one wrong tensor is reported instead of
///   skewing the inference); input_size = columns of `weight_ih_l0`; num_layers = the highest layer
///   index + 1 (a layer missing in between is a gap whose tensors are reported missing);
///   bidirectional when any `_reverse` tensor exists; proj_size = rows of `weight_hr` when present;
///   bias when any bias tensor exists; dtype of `weight_ih_l0`.
/// - Then every tensor is checked against that config and *all* problems are reported: missing and
///   unexpected tensors, wrong shapes (expected shape with its formula and the shape found), layer
///   gaps, mixed or non-floating dtypes, gate rows that are not 4·hidden_size (3·hidden_size: every
///   gate-row tensor is reported as looking like a GRU; 1·hidden_size: like a plain RNN). A module
///   that is not an LSTM, or whose input_size cannot be inferred, has no config.
///
/// Modules are returned in the order their first tensor appears in the file.
/// ``discover(in:)`` runs every ``ModuleSource`` (an ONNX file's graph included); the rules above
/// are ``discover(tensors:)``, the ``TensorNameSource``.
public enum LSTMDiscovery {
    /// The valid modules (tensors taken as they are, no copies) and the problems of all the others.
    public static func modules(in file: TensorFile) throws(FormatError) -> (modules: [LSTMModule], problems: [SchemaProblem]) {
        let found = try discover(in: file)
        return (found.compactMap(\.module), found.flatMap(\.problems))
    }

    /// Every module candidate of every source, with its inferred config (when one can be inferred)
    /// and its problems.
    public static func discover(in file: TensorFile) throws(FormatError) -> [DiscoveredModule] {
        try ModuleSources.discover(in: file)
    }

    /// The name-based rules over a bare list of named tensors.
    public static func discover(tensors: [NamedTensor]) -> [DiscoveredModule] {
        struct Key: Hashable { var prefix: String; var kind: ModuleKind }
        var order: [Key] = []
        var groups: [Key: ModuleChecker] = [:]
        var strays: [String: [String]] = [:]
        for named in tensors {
            let (prefix, leaf) = split(named.name)
            var matched = false
            for kind in ModuleKind.allCases {
                guard let canonical = kind.parse(leaf) else { continue }
                let key = Key(prefix: prefix, kind: kind)
                if groups[key] == nil {
                    order.append(key)
                    groups[key] = ModuleChecker(prefix: prefix, kind: kind)
                }
                groups[key]?.add(canonical, named)
                matched = true
            }
            if !matched, CanonicalName.looksLayerIndexed(leaf) {
                strays[prefix, default: []].append(named.name)
            }
        }
        return order.compactMap { key in
            guard var checker = groups[key] else { return nil }
            if key.kind == .lstm { checker.strays = strays[key.prefix] ?? [] }
            return checker.check()
        }
    }

    /// `a.b.weight_ih_l0` → (`a.b.`, `weight_ih_l0`); `weight_ih_l0` → (``, `weight_ih_l0`).
    static func split(_ name: String) -> (prefix: String, leaf: Substring) {
        guard let dot = name.lastIndex(of: ".") else { return ("", name[...]) }
        return (String(name[...dot]), name[name.index(after: dot)...])
    }
}

/// One LSTM module found in a file by a ``ModuleSource``: its inferred config, its problems and
/// the tensors it came from.
public struct DiscoveredModule: Sendable {
    /// The prefix without its trailing dot ("" for a bare nn.LSTM state dict).
    public var name: String
    /// nn.LSTM or nn.LSTMCell.
    public var kind: ModuleKind
    /// The config inferred from the tensors; nil when the tensors do not determine one (the problems say why).
    public var config: LSTMConfig?
    /// Every way the module's tensors differ from `config`, in state_dict order.
    public var problems: [SchemaProblem]
    /// The module's weights; set exactly when `config` is set and `problems` is empty.
    public var module: LSTMModule?
    /// Names of the file's tensors the module was found from, in file order (tensor maps: its
    /// canonical tensors; ONNX: the initializers its nodes consume).
    public var sourceTensors: [String]
    /// True when the module's weights were mapped from another layout (an ONNX node's W / R / B),
    /// so that its canonical tensors are not themselves in the file.
    public var mapped: Bool
    /// For a mapped module: whether its canonical tensors keep the module name as their prefix
    /// when converted (a quantized LSTM inside a PyTorch model, so the float model loads them),
    /// rather than bare names for a lone module (an ONNX graph).
    public var keepsPrefix = false
    /// What was computed to find the module (effective weights of weight_norm, WeightDrop, dequantized weights).
    public var notes: [String] = []

    public init(name: String, kind: ModuleKind = .lstm, config: LSTMConfig?, problems: [SchemaProblem], module: LSTMModule?,
                sourceTensors: [String], mapped: Bool = false) {
        self.kind = kind
        self.mapped = mapped
        self.name = name
        self.config = config
        self.problems = problems
        self.module = module
        self.sourceTensors = sourceTensors
    }

    public var isValid: Bool { module != nil }
}
