/// The allow-list: the only globals whose meaning the VM knows. Everything else stays an inert
/// ``PickleGlobal``; calling it (REDUCE, NEWOBJ, INST, OBJ) builds a ``PickleObject`` that
/// records the call. Nothing is ever imported or run.
///
/// | global | REDUCE / NEWOBJ gives |
/// |---|---|
/// | `collections.OrderedDict`, `collections.Counter`, `builtins.dict` | ``PickleDict`` (items from an iterable of pairs or a dict) |
/// | `torch._utils._rebuild_tensor`, `_v2`, `_v3` | ``PickleTensor`` |
/// | `torch._utils._rebuild_parameter`, `_rebuild_parameter_with_state`, `torch.nn.parameter.Parameter` | the tensor, marked as a parameter |
/// | `torch._utils._rebuild_qtensor` | ``PickleTensor`` with its ``PickleTensor/Quantization`` (dequantized when read) |
/// | `torch._tensor._rebuild_from_type_v2(func, type, args, state)` | `func(*args)` when `func` is allow-listed |
/// | `torch.Size` | tuple |
/// | `_codecs.encode(str, 'latin1' / 'utf-8')` | bytes |
/// | `builtins.set`, `frozenset`, `bytearray`, `bytes` | set / bytes |
/// | `copyreg._reconstructor(cls, base, state)`, `copyreg.__newobj__(cls, ...)` | placeholder of `cls` |
/// | `numpy.core.multiarray.scalar(dtype, bytes)` (also `numpy._core`) | int / float / bool for plain numeric dtypes |
/// | `torch.jit._pickle.restore_type_tag(v, type)`, `build_tensorlist(v)` and the other `build_*list` | `v` (TorchScript type tags) |
/// | any name containing `Storage` that torch knows (`torch.FloatStorage`, `torch.storage.UntypedStorage`) | `.storageType` (GLOBAL) |
/// | `torch.<dtype>` (`torch.float16`, ...) | `.dtype` (GLOBAL) |
extension PickleRun {
    /// Python-2 module and name spellings (`_compat_pickle` / `torch._utils.IMPORT_MAPPING`).
    static let moduleMapping: [String: String] = [
        "__builtin__": "builtins", "copy_reg": "copyreg", "Queue": "queue", "repr": "reprlib",
        "_abcoll": "collections.abc", "UserDict": "collections", "UserList": "collections",
        "UserString": "collections", "whichdb": "dbm", "StringIO": "io", "cStringIO": "io",
        "cPickle": "pickle", "exceptions": "builtins",
    ]
    static let nameMapping: [PickleGlobal: PickleGlobal] = [
        PickleGlobal(module: "__builtin__", name: "xrange"): PickleGlobal(module: "builtins", name: "range"),
        PickleGlobal(module: "__builtin__", name: "unicode"): PickleGlobal(module: "builtins", name: "str"),
        PickleGlobal(module: "__builtin__", name: "long"): PickleGlobal(module: "builtins", name: "int"),
        PickleGlobal(module: "__builtin__", name: "unichr"): PickleGlobal(module: "builtins", name: "chr"),
        PickleGlobal(module: "__builtin__", name: "reduce"): PickleGlobal(module: "functools", name: "reduce"),
        PickleGlobal(module: "UserDict", name: "IterableUserDict"): PickleGlobal(module: "collections", name: "UserDict"),
    ]

    /// GLOBAL / STACK_GLOBAL / INST: what `module.name` means here.
    func resolveGlobal(module rawModule: String, name rawName: String) -> PickleValue {
        let raw = PickleGlobal(module: rawModule, name: rawName)
        let g = PickleRun.nameMapping[raw]
            ?? PickleGlobal(module: PickleRun.moduleMapping[rawModule] ?? rawModule, name: rawName)
        if g.name.contains("Storage") {
            let t = TorchScalarType.storageClass(g.name)
            if t.itemSize > 0 { return .storageType(t) }
        }
        if g.module == "torch", let t = TorchScalarType.dtypeGlobal(g.name) {
            return .dtype(t)
        }
        return .global(g)
    }

    /// REDUCE, INST and OBJ: `callable(*args)`, interpreted only for allow-listed callables.
    func call(_ callable: PickleValue, _ args: [PickleValue]) throws(FormatError) -> PickleValue {
        guard case .global(let g) = callable else {
            return .object(newObject(type: nil, args: args))
        }
        switch (g.module, g.name) {
        case ("collections", "OrderedDict"), ("collections", "Counter"), ("builtins", "dict"):
            let d = newDict(ordered: g.name != "dict")
            if let source = args.first {
                guard try fillDict(d, from: source) else { return .object(newObject(type: g, args: args)) }
            }
            return .dict(d)
        case ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_tensor_v2"),
             ("torch._utils", "_rebuild_tensor_v3"):
            return try rebuildTensor(g.name, args)
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"),
             ("torch.nn.parameter", "Parameter"):
            return rebuildParameter(g, args)
        case ("torch._utils", "_rebuild_qtensor"):
            return try rebuildQTensor(args)
        case ("torch._tensor", "_rebuild_from_type_v2"):
            guard args.count >= 3, case .tuple(let inner) = args[2] else {
                return .object(newObject(type: g, args: args))
            }
            let result = try call(args[0], inner.items)
            if case .tensor(let t) = result, args.count >= 4, !args[3].isEmptyContainer {
                t.state = args[3]
            }
            return result
        case ("torch", "Size"):
            guard args.count == 1, let items = args[0].sequenceItems else { return .object(newObject(type: g, args: args)) }
            return tuple(items)
        case ("_codecs", "encode"):
            return codecsEncode(g, args)
        case ("builtins", "set"), ("builtins", "frozenset"):
            let s = newSet(frozen: g.name == "frozenset")
            if let source = args.first {
                guard let items = source.sequenceItems else { return .object(newObject(type: g, args: args)) }
                for item in items { try addToSet(s, item) }
            }
            return .set(s)
        case ("builtins", "bytearray"), ("builtins", "bytes"):
            if args.isEmpty { return .bytes([]) }
            if case .bytes(let b) = args[0] { return .bytes(b) }
            return .object(newObject(type: g, args: args))
        case ("copyreg", "_reconstructor"):
            guard args.count == 3, case .global = args[0] else { return .object(newObject(type: g, args: args)) }
            if case .global(let base) = args[1], base.module == "builtins", base.name == "object" {
                return try newObject(args[0], [], kwargs: nil)
            }
            return try newObject(args[0], [args[2]], kwargs: nil)
        case ("copyreg", "__newobj__"):
            guard let cls = args.first else { return .object(newObject(type: g, args: args)) }
            return try newObject(cls, Array(args.dropFirst()), kwargs: nil)
        case ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"):
            return numpyScalar(g, args)
        case ("torch.jit._pickle", "restore_type_tag"), ("torch.jit._pickle", "build_tensorlist"),
             ("torch.jit._pickle", "build_intlist"), ("torch.jit._pickle", "build_doublelist"),
             ("torch.jit._pickle", "build_boollist"):
            guard let value = args.first else { return .object(newObject(type: g, args: args)) }
            return value
        default:
            return placeholderCall(g, args, kwargs: nil)
        }
    }

    /// An inert record of a call to a non-allow-listed global; code-execution calls are also noted.
    private func placeholderCall(_ g: PickleGlobal, _ args: [PickleValue], kwargs: PickleValue?) -> PickleValue {
        if PickleRun.runsCode(g) {
            machine.noteCodeExecution(g, entry: entry, offset: baseOffset + opStart)
        }
        return .object(newObject(type: g, args: args, kwargs: kwargs))
    }

    /// Modules whose callables run commands, load code or reach the system.
    static let codeExecutionModules: Set<String> = [
        "os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "importlib", "runpy", "shutil", "socket",
        "code", "codeop", "pty", "commands", "ctypes", "multiprocessing", "marshal", "pickle", "_pickle",
        "cPickle", "dill", "webbrowser", "pdb", "timeit", "asyncio", "signal", "platform", "popen2",
    ]
    /// Single callables that do the same from otherwise harmless modules.
    static let codeExecutionNames: Set<PickleGlobal> = [
        "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr", "open", "input",
        "breakpoint", "globals", "locals", "vars", "execfile", "file", "reload",
    ].reduce(into: Set<PickleGlobal>()) { $0.insert(PickleGlobal(module: "builtins", name: $1)) }
        .union([PickleGlobal(module: "operator", name: "attrgetter"), PickleGlobal(module: "operator", name: "methodcaller"),
                PickleGlobal(module: "types", name: "FunctionType"), PickleGlobal(module: "types", name: "CodeType"),
                PickleGlobal(module: "functools", name: "reduce")])

    /// Whether calling `g` would run code or reach the system under a real unpickler.
    static func runsCode(_ g: PickleGlobal) -> Bool {
        let root = g.module.split(separator: ".").first.map(String.init) ?? g.module
        return codeExecutionModules.contains(root) || codeExecutionNames.contains(g)
    }

    /// NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args)`.
    func newObject(_ cls: PickleValue, _ args: [PickleValue], kwargs: PickleValue?) throws(FormatError) -> PickleValue {
        guard case .global(let g) = cls else {
            return .object(newObject(type: nil, args: args, kwargs: kwargs))
        }
        switch (g.module, g.name) {
        case ("collections", "OrderedDict"), ("collections", "Counter"), ("builtins", "dict"):
            return .dict(newDict(ordered: g.name != "dict"))
        case ("builtins", "set"), ("builtins", "frozenset"):
            return try call(cls, args)
        case ("torch.nn.parameter", "Parameter"):
            return rebuildParameter(g, args)
        default:
            return placeholderCall(g, args, kwargs: kwargs)
        }
    }

    /// BUILD: records `state` on `target`. Dicts get it as attributes (OrderedDict `_metadata`).
    func build(_ target: PickleValue, state: PickleValue) throws(FormatError) {
        switch target {
        case .object(let o): o.state = state
        case .dict(let d): d.attributes = state
        case .tensor(let t): t.state = state
        case .list, .tuple, .set, .global, .storage, .storageType, .dtype: break
        case .none, .bool, .int, .bigInt, .float, .string, .bytes:
            throw error(.corrupt, "BUILD on \(target.pythonTypeName), which has no state")
        }
    }

    private func fillDict(_ d: PickleDict, from source: PickleValue) throws(FormatError) -> Bool {
        if case .dict(let other) = source {
            for (k, v) in other.entries { try setItem(d, k, v) }
            return true
        }
        guard let pairs = source.sequenceItems else { return false }
        for pair in pairs {
            guard let kv = pair.sequenceItems, kv.count == 2 else { return false }
            try setItem(d, kv[0], kv[1])
        }
        return true
    }

    private func codecsEncode(_ g: PickleGlobal, _ args: [PickleValue]) -> PickleValue {
        guard case .string(let text)? = args.first else { return .object(newObject(type: g, args: args)) }
        var encoding = "utf-8"
        if args.count > 1, case .string(let e) = args[1] { encoding = e.lowercased().replacingUnderscores }
        switch encoding {
        case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1":
            var out: [UInt8] = []
            out.reserveCapacity(text.unicodeScalars.count)
            for scalar in text.unicodeScalars {
                guard scalar.value <= 0xFF else { return .object(newObject(type: g, args: args)) }
                out.append(UInt8(scalar.value))
            }
            return .bytes(out)
        case "utf-8", "utf8":
            return .bytes(Array(text.utf8))
        default:
            return .object(newObject(type: g, args: args))
        }
    }

    /// `numpy.core.multiarray.scalar(dtype, raw)` where `dtype` is a `numpy.dtype('f8', ...)`
    /// placeholder: decoded for bool, signed / unsigned integers and float16/32/64.
    private func numpyScalar(_ g: PickleGlobal, _ args: [PickleValue]) -> PickleValue {
        let fallback = PickleValue.object(newObject(type: g, args: args))
        guard args.count == 2, case .object(let dt) = args[0], dt.type == PickleGlobal(module: "numpy", name: "dtype"),
              case .string(let code)? = dt.args.first, case .bytes(let raw) = args[1] else { return fallback }
        var bigEndian = false
        if case .tuple(let st)? = dt.state, st.items.count > 1, case .string(let order) = st.items[1] {
            bigEndian = order == ">"
        }
        guard let kind = code.first, let size = Int(code.dropFirst()), size == raw.count,
              [1, 2, 4, 8].contains(size) else { return fallback }
        var bits: UInt64 = 0
        for (i, b) in raw.enumerated() {
            let shift = bigEndian ? 8 * (size - 1 - i) : 8 * i
            bits |= UInt64(b) << UInt64(shift)
        }
        switch kind {
        case "b" where size == 1: return .bool(bits != 0)
        case "u":
            return bits <= UInt64(Int.max) ? .int(Int(bits)) : fallback
        case "i":
            let shift = UInt64(64 - 8 * size)
            return .int(Int(Int64(bitPattern: bits << shift) >> Int64(shift)))
        case "f":
            switch size {
            case 2: return .float(Double(HalfPrecision.float(fromFloat16: UInt16(bits))))
            case 4: return .float(Double(Float(bitPattern: UInt32(bits))))
            case 8: return .float(Double(bitPattern: bits))
            default: return fallback
            }
        default: return fallback
        }
    }
}

private extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}

extension PickleValue {
    /// Items of a tuple or list.
    var sequenceItems: [PickleValue]? {
        switch self {
        case .tuple(let t): t.items
        case .list(let l): l.items
        default: nil
        }
    }

    /// An empty dict / tuple / list, or None.
    var isEmptyContainer: Bool {
        switch self {
        case .none: true
        case .dict(let d): d.count == 0 && d.attributes == nil
        case .tuple(let t): t.items.isEmpty
        case .list(let l): l.items.isEmpty
        default: false
        }
    }
}
