/// A Python value built by ``PickleMachine``. Nothing in it was imported or run.
///
/// Containers (tuple, list, dict, set, placeholder object) are reference types, so Python object
/// identity survives the memo: two `BINGET`s of one dict give the same ``PickleDict``. They stay
/// valid while the ``PickleMachine`` that built them is alive (see ``PickleMachine``).
public enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside `Int`'s range (LONG1 / LONG4 / text LONG).
    case bigInt(PickleBigInt)
    case float(Double)
    case string(String)
    /// `bytes` (BINBYTES, `_codecs.encode(s, 'latin1')`) and `bytearray`.
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    case set(PickleSet)
    /// A class or function named by GLOBAL / STACK_GLOBAL that is not interpreted. Never imported.
    case global(PickleGlobal)
    /// An instance of a class that is not interpreted: an inert record of its class, arguments and state.
    case object(PickleObject)
    /// A `torch.*Storage` class (the second item of a storage persistent id).
    case storageType(TorchScalarType)
    /// A torch dtype global such as `torch.float16`.
    case dtype(TorchScalarType)
    /// A storage returned by the persistent loader.
    case storage(PickleStorage)
    /// A tensor rebuilt by one of torch's `_rebuild_tensor*` functions: a descriptor, not data.
    case tensor(PickleTensor)
}

/// A global name (`module.name`) after Python-2 compatibility mapping.
public struct PickleGlobal: Hashable, Sendable, CustomStringConvertible {
    public let module: String
    public let name: String
    public init(module: String, name: String) {
        self.module = module
        self.name = name
    }
    public var description: String { "\(module).\(name)" }
}

/// An integer that does not fit in `Int`: minimal little-endian two's complement bytes.
public struct PickleBigInt: Hashable, Sendable {
    public let bytes: [UInt8]
    public var isNegative: Bool { (bytes.last ?? 0) & 0x80 != 0 }
}

/// Something every container shares: it can drop its contents (see ``PickleMachine``'s arena).
protocol PickleContainer: AnyObject {
    func dropContents()
}

public final class PickleTuple: PickleContainer {
    public private(set) var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
    func dropContents() { items = [] }
}

public final class PickleList: PickleContainer {
    public internal(set) var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
    func dropContents() { items = [] }
}

/// A Python dict or OrderedDict: insertion-ordered, any hashable key.
///
/// BUILD on a dict (e.g. the `_metadata` of a `state_dict()`) sets ``attributes``, not items,
/// as Python does for OrderedDict.
public final class PickleDict: PickleContainer {
    public private(set) var keys: [PickleValue] = []
    public private(set) var values: [PickleValue] = []
    private var index: [PickleKey: Int] = [:]
    /// Whether it was built as `collections.OrderedDict` (or another dict subclass).
    public internal(set) var isOrdered: Bool
    /// State applied by BUILD (Python: instance attributes), recorded only.
    public internal(set) var attributes: PickleValue?

    init(ordered: Bool = false) { isOrdered = ordered }

    public var count: Int { keys.count }

    /// Key/value pairs in insertion order.
    public var entries: Zip2Sequence<[PickleValue], [PickleValue]> { zip(keys, values) }

    /// The value under the string key `key`, if any.
    public subscript(key: String) -> PickleValue? {
        index[.string(key)].map { values[$0] }
    }

    /// Sets `key` to `value`; an equal key keeps its position (Python semantics). Throws for unhashable keys.
    func set(_ key: PickleValue, _ value: PickleValue, nesting: Int) throws(PickleKey.Unhashable) {
        let k = try PickleKey(key, nesting: nesting)
        if let i = index[k] {
            values[i] = value
        } else {
            index[k] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    func dropContents() {
        keys = []
        values = []
        index = [:]
        attributes = nil
    }
}

/// A Python set or frozenset.
public final class PickleSet: PickleContainer {
    public private(set) var items: [PickleValue] = []
    private var index: Set<PickleKey> = []
    public let isFrozen: Bool

    init(frozen: Bool) { isFrozen = frozen }

    func insert(_ item: PickleValue, nesting: Int) throws(PickleKey.Unhashable) {
        let k = try PickleKey(item, nesting: nesting)
        if index.insert(k).inserted { items.append(item) }
    }

    func dropContents() {
        items = []
        index = []
    }
}

/// An instance of a class outside the allow-list (a user's `nn.Module`, `argparse.Namespace`,
/// a numpy array, ...), or the result of calling such a class or function. Nothing was run:
/// the arguments, BUILD state and any items added to it are recorded as they were pickled.
public final class PickleObject: PickleContainer {
    /// What was called: usually a ``PickleGlobal``; `nil` when the callable was itself not a global.
    public let type: PickleGlobal?
    /// Positional arguments of the REDUCE / NEWOBJ / INST / OBJ that created it.
    public internal(set) var args: [PickleValue]
    /// Keyword arguments (NEWOBJ_EX).
    public internal(set) var kwargs: PickleValue?
    /// The last BUILD state (Python would pass it to `__setstate__` or update `__dict__`).
    public internal(set) var state: PickleValue?
    /// Items set on it with SETITEM(S) (dict subclasses such as `defaultdict`).
    public internal(set) var items: PickleDict?
    /// Items added with APPEND(S) / ADDITEMS (list or set subclasses).
    public internal(set) var appended: [PickleValue] = []

    init(type: PickleGlobal?, args: [PickleValue], kwargs: PickleValue? = nil) {
        self.type = type
        self.args = args
        self.kwargs = kwargs
    }

    /// `module.name` of the class, or `<object>`.
    public var typeName: String { type?.description ?? "<object>" }

    /// The BUILD state's `__dict__` when the state is a dict, or a `(dict, slots)` tuple.
    public var stateDict: PickleDict? {
        switch state {
        case .dict(let d): return d
        case .tuple(let t):
            if let first = t.items.first, case .dict(let d) = first { return d }
            return nil
        default: return nil
        }
    }

    func dropContents() {
        args = []
        kwargs = nil
        state = nil
        items = nil
        appended = []
    }
}

/// Hashable projection of a Python dict key or set item, following Python equality where it
/// matters for checkpoints (`True == 1`, `1.0 == 1`); objects hash by identity.
enum PickleKey: Hashable {
    case none
    case int(Int)
    case big([UInt8])
    case float(UInt64)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleKey])
    case global(PickleGlobal)
    case torchType(String)
    case identity(ObjectIdentifier)

    struct Unhashable: Error {
        let typeName: String
    }

    init(_ value: PickleValue, nesting: Int) throws(Unhashable) {
        switch value {
        case .none: self = .none
        case .bool(let b): self = .int(b ? 1 : 0)
        case .int(let i): self = .int(i)
        case .bigInt(let b): self = .big(b.bytes)
        case .float(let d):
            if d.rounded() == d, d >= -9.2e18, d <= 9.2e18, let i = Int(exactly: d) {
                self = .int(i)
            } else {
                self = .float(d.bitPattern)
            }
        case .string(let s): self = .string(s)
        case .bytes(let b): self = .bytes(b)
        case .tuple(let t):
            guard nesting > 0 else { throw Unhashable(typeName: "deeply nested tuple") }
            var parts: [PickleKey] = []
            parts.reserveCapacity(t.items.count)
            for item in t.items { parts.append(try PickleKey(item, nesting: nesting - 1)) }
            self = .tuple(parts)
        case .global(let g): self = .global(g)
        case .storageType(let t): self = .torchType("storage:" + t.name)
        case .dtype(let t): self = .torchType("dtype:" + t.name)
        case .set(let s):
            guard s.isFrozen else { throw Unhashable(typeName: "set") }
            self = .identity(ObjectIdentifier(s))
        case .object(let o): self = .identity(ObjectIdentifier(o))
        case .storage(let s): self = .identity(ObjectIdentifier(s))
        case .tensor(let t): self = .identity(ObjectIdentifier(t))
        case .list: throw Unhashable(typeName: "list")
        case .dict: throw Unhashable(typeName: "dict")
        }
    }
}
