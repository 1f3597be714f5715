/// Flattens an unpickled checkpoint into dotted tensor names and string metadata.
///
/// | value | becomes |
/// |---|---|
/// | tensor | a named tensor (`""` at the root is named `tensor`) |
/// | dict / OrderedDict | its items under `path.key` (int keys as decimal: `state.0.exp_avg`) |
/// | list / tuple of scalars only | one metadata entry, Python repr (`(0.9, 0.999)`) |
/// | other list / tuple | its items under `path.index` |
/// | placeholder `nn.Module` (state has `_parameters` / `_modules`) | what `state_dict()` would give: `_parameters`, persistent `_buffers`, then `_modules` recursively |
/// | other placeholder object | its `__dict__` state (`args.lr`), dict items, or appended items; a tuple / list state holding tensors (`__getstate__` of torch's packed-parameter objects) under `path.index`; else its repr as metadata |
/// | TorchScript object (``Mode/torchScript``) | tensor attributes, then submodule objects; other attributes are skipped |
/// | anything else (numbers, strings, sets, classes) | metadata, Python repr |
///
/// Empty containers and `None` produce nothing. BUILD attributes of dicts (`_metadata`) are not
/// items and are ignored. Cycles are cut; nesting, visited values and metadata text are bounded.
struct PyTorchFlattener {
    enum Mode {
        case checkpoint
        case torchScript
    }

    let mode: Mode
    let limits: Limits
    private(set) var tensors: [(name: String, tensor: PickleTensor)] = []
    private(set) var metadata: [(key: String, value: String)] = []
    private(set) var notes: [String] = []
    private var visited = 0
    private var onPath: Set<ObjectIdentifier> = []
    private var names: Set<String> = []
    private var metadataBytes = 0
    private var metadataDropped = 0

    init(mode: Mode, limits: Limits) {
        self.mode = mode
        self.limits = limits
    }

    mutating func walk(_ value: PickleValue, path: String = "") throws(FormatError) {
        try visit(value, path: path, depth: 0)
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    private static func keyText(_ key: PickleValue) -> String {
        switch key {
        case .string(let s): s
        case .int(let i): String(i)
        default: key.rendered(limit: 200)
        }
    }

    private mutating func visit(_ value: PickleValue, path: String, depth: Int) throws(FormatError) {
        visited += 1
        guard visited <= limits.pickleWalkNodes else {
            throw FormatError(.limitExceeded, "the pickled object graph has more than \(limits.pickleWalkNodes) values to walk")
        }
        guard depth <= limits.pickleNesting else {
            throw FormatError(.limitExceeded, "the pickled objects nest deeper than the limit of \(limits.pickleNesting)")
        }
        switch value {
        case .tensor(let t):
            emit(path.isEmpty ? "tensor" : path, t)
        case .dict(let d):
            try enter(d) { (me: inout PyTorchFlattener) throws(FormatError) in
                for (k, v) in d.entries {
                    try me.visit(v, path: Self.join(path, Self.keyText(k)), depth: depth + 1)
                }
            }
        case .list, .tuple:
            let items = value.sequenceItems ?? []
            if items.isEmpty { return }
            if items.allSatisfy({ $0.isScalarLeaf }) {
                record(path, value)
                return
            }
            guard let owner = value.containerIdentity else { return }
            try enter(owner) { (me: inout PyTorchFlattener) throws(FormatError) in
                for (i, item) in items.enumerated() {
                    try me.visit(item, path: Self.join(path, String(i)), depth: depth + 1)
                }
            }
        case .object(let o):
            try enter(o) { (me: inout PyTorchFlattener) throws(FormatError) in
                try me.visitObject(o, path: path, depth: depth)
            }
        case .none:
            return
        default:
            record(path, value)
        }
    }

    private mutating func visitObject(_ o: PickleObject, path: String, depth: Int) throws(FormatError) {
        if mode == .torchScript {
            try visitScriptObject(o, path: path, depth: depth)
            return
        }
        if let state = o.stateDict, state["_parameters"] != nil || state["_modules"] != nil {
            if depth == 0 || path.isEmpty {
                notes.append("whole-model pickle of \(o.typeName): tensors are named as its state_dict() names them")
            }
            try visitModule(state, path: path, depth: depth)
        } else if let state = o.stateDict, state.count > 0 {
            try visit(.dict(state), path: path, depth: depth + 1)
        } else if let items = o.items, items.count > 0 {
            try visit(.dict(items), path: path, depth: depth + 1)
        } else if !o.appended.isEmpty {
            for (i, item) in o.appended.enumerated() {
                try visit(item, path: Self.join(path, String(i)), depth: depth + 1)
            }
        } else if let state = o.state, state.sequenceItems != nil, Self.holdsTensor(state, depth: 8) {
            try visit(state, path: path, depth: depth + 1)
        } else {
            record(path, .object(o))
        }
    }

    /// Whether `value` holds a tensor within `depth` levels of tuples, lists and object states.
    private static func holdsTensor(_ value: PickleValue, depth: Int) -> Bool {
        guard depth > 0 else { return false }
        switch value {
        case .tensor: return true
        case .tuple, .list: return (value.sequenceItems ?? []).prefix(64).contains { holdsTensor($0, depth: depth - 1) }
        case .object(let o): return o.state.map { holdsTensor($0, depth: depth - 1) } ?? false
        default: return false
        }
    }

    /// `nn.Module.state_dict()`: own parameters, own persistent buffers, then each child module.
    private mutating func visitModule(_ state: PickleDict, path: String, depth: Int) throws(FormatError) {
        var nonPersistent: Set<String> = []
        if case .set(let s)? = state["_non_persistent_buffers_set"] {
            for case .string(let name) in s.items { nonPersistent.insert(name) }
        }
        for field in ["_parameters", "_buffers"] {
            guard case .dict(let d)? = state[field] else { continue }
            for (k, v) in d.entries {
                let name = Self.keyText(k)
                if field == "_buffers", nonPersistent.contains(name) { continue }
                if case .tensor(let t) = v { emit(Self.join(path, name), t) }
            }
        }
        guard case .dict(let modules)? = state["_modules"] else { return }
        for (k, v) in modules.entries {
            guard case .object(let child) = v else { continue }
            let childPath = Self.join(path, Self.keyText(k))
            try enter(child) { (me: inout PyTorchFlattener) throws(FormatError) in
                if let childState = child.stateDict {
                    try me.visitModule(childState, path: childPath, depth: depth + 1)
                }
            }
        }
    }

    /// TorchScript `__torch__.*` objects: attributes are the BUILD dict (or a `__getstate__` tuple).
    private mutating func visitScriptObject(_ o: PickleObject, path: String, depth: Int) throws(FormatError) {
        guard let state = o.state else { return }
        guard case .dict(let attributes) = state else {
            // A __getstate__ result: tensors found in it keep their positions as names.
            if case .tensor(let t) = state { emit(path.isEmpty ? "tensor" : path, t); return }
            for (i, item) in (state.sequenceItems ?? []).enumerated() {
                if case .tensor(let t) = item { emit(Self.join(path, String(i)), t) }
            }
            return
        }
        for (k, v) in attributes.entries {
            if case .tensor(let t) = v { emit(Self.join(path, Self.keyText(k)), t) }
        }
        for (k, v) in attributes.entries {
            guard case .object(let child) = v else { continue }
            let childPath = Self.join(path, Self.keyText(k))
            try enter(child) { (me: inout PyTorchFlattener) throws(FormatError) in
                try me.visitScriptObject(child, path: childPath, depth: depth + 1)
            }
        }
    }

    /// Runs `body` with `object` on the current path; an object already on it (a cycle) is skipped.
    private mutating func enter(_ object: AnyObject, _ body: (inout PyTorchFlattener) throws(FormatError) -> Void) throws(FormatError) {
        let id = ObjectIdentifier(object)
        guard onPath.insert(id).inserted else { return }
        defer { onPath.remove(id) }
        try body(&self)
    }

    private mutating func emit(_ name: String, _ t: PickleTensor) {
        guard names.insert(name).inserted else {
            notes.append("a second tensor named '\(name)' was skipped")
            return
        }
        tensors.append((name, t))
    }

    private mutating func record(_ path: String, _ value: PickleValue) {
        let key = path.isEmpty ? "value" : path
        guard metadataBytes < limits.metadataBytes else {
            metadataDropped += 1
            if metadataDropped == 1 {
                notes.append("metadata past \(limits.metadataBytes) bytes was not kept")
            }
            return
        }
        let text = value.rendered()
        metadataBytes += key.utf8.count + text.utf8.count
        metadata.append((key, text))
    }
}

extension PickleValue {
    /// A value printed whole in metadata rather than walked into.
    var isScalarLeaf: Bool {
        switch self {
        case .none, .bool, .int, .bigInt, .float, .string, .bytes, .global, .dtype, .storageType: true
        default: false
        }
    }

    var containerIdentity: AnyObject? {
        switch self {
        case .tuple(let t): t
        case .list(let l): l
        case .dict(let d): d
        case .set(let s): s
        case .object(let o): o
        default: nil
        }
    }
}
