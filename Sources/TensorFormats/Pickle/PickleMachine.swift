/// A data-only pickle virtual machine (protocols 0–5). It never imports or runs anything:
/// GLOBAL resolves names through an allow-list (``PickleMachine/resolveGlobal(module:name:)``),
/// REDUCE / NEWOBJ of anything else build inert ``PickleObject`` placeholders, and BUILD records
/// state instead of calling `__setstate__`.
///
/// Persistent ids (BINPERSID / PERSID) are handed to `persistentLoad`, which returns the value
/// to push (a ``PickleStorage`` for torch). Memo size, stack depth, MARK nesting, operand
/// lengths and opcode count are capped by ``Limits``.
///
/// Lifetime: every container a machine builds is owned by it. When the machine is released it
/// empties them all, which breaks reference cycles (`a = []; a.append(a)`) and frees deep nests
/// without recursion. Keep the machine alive while using the values it returned.
public final class PickleMachine {
    public typealias PersistentLoad = (PickleValue) throws(FormatError) -> PickleValue

    public let limits: Limits
    var persistentLoad: PersistentLoad
    private var arena: [PickleContainer] = []

    /// A call the pickle asks for that would run code or reach the system under a real unpickler
    /// (`os.system`, `eval`, `subprocess.Popen`, ...). Recorded as a placeholder, never made.
    public struct CodeExecutionAttempt: Sendable {
        public let callable: PickleGlobal
        public let entry: String?
        /// Offset of the calling opcode (REDUCE, NEWOBJ, INST, OBJ) in the file.
        public let offset: Int
    }

    /// Every code-execution call seen so far, in pickle order (see ``PickleRun/runsCode(_:)``).
    public private(set) var codeExecutionAttempts: [CodeExecutionAttempt] = []

    func noteCodeExecution(_ callable: PickleGlobal, entry: String?, offset: Int) {
        codeExecutionAttempts.append(CodeExecutionAttempt(callable: callable, entry: entry, offset: offset))
    }

    public init(limits: Limits = .default, persistentLoad: @escaping PersistentLoad = PickleMachine.refusePersistentIds) {
        self.limits = limits
        self.persistentLoad = persistentLoad
    }

    /// The default loader: a pickle with persistent ids needs a format that defines them.
    public static func refusePersistentIds(_ pid: PickleValue) throws(FormatError) -> PickleValue {
        throw FormatError(.unsupported, "the pickle refers to external data (a persistent id) that this format does not define")
    }

    /// Replaces the persistent loader (e.g. for the main pickle of a legacy stream).
    public func setPersistentLoad(_ load: @escaping PersistentLoad) {
        persistentLoad = load
    }

    /// Runs the pickle that starts at `start` in `bytes` up to its STOP.
    ///
    /// - Parameters:
    ///   - entry: record name for errors (`data.pkl`).
    ///   - baseOffset: where `bytes` starts in the file, so errors carry file offsets.
    /// - Returns: the value and the index just past STOP.
    public func load(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, entry: String? = nil,
                     baseOffset: Int = 0) throws(FormatError) -> (value: PickleValue, end: Int) {
        var run = PickleRun(machine: self, bytes: bytes, position: start, entry: entry, baseOffset: baseOffset)
        return try run.execute()
    }

    func adopt<C: PickleContainer>(_ container: C) -> C {
        arena.append(container)
        return container
    }

    deinit {
        for container in arena { container.dropContents() }
    }
}

/// The state of one `load`: input cursor, stack, metastack (one saved stack per open MARK), memo.
struct PickleRun {
    let machine: PickleMachine
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let entry: String?
    let baseOffset: Int
    /// Offset (in `bytes`) of the opcode being executed, for errors.
    var opStart = 0
    var protocolVersion = 0
    var stack: [PickleValue] = []
    var metastack: [[PickleValue]] = []
    /// Values on `stack` and `metastack` plus open MARKs.
    var depth = 0
    var memo: [Int: PickleValue] = [:]
    var limits: Limits { machine.limits }

    init(machine: PickleMachine, bytes: UnsafeRawBufferPointer, position: Int, entry: String?, baseOffset: Int) {
        self.machine = machine
        self.bytes = bytes
        self.position = position
        self.entry = entry
        self.baseOffset = baseOffset
    }

    // MARK: Errors

    func error(_ reason: FormatError.Reason, _ message: String) -> FormatError {
        FormatError(reason, message, entry: entry, offset: baseOffset + opStart)
    }

    // MARK: Reading operands

    mutating func readBytes(_ count: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - position else {
            throw error(.truncated, "the pickle ends inside an operand of \(count) bytes")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        return slice
    }

    mutating func readU8() throws(FormatError) -> UInt8 {
        try readBytes(1)[0]
    }

    mutating func readLE(_ width: Int) throws(FormatError) -> UInt64 {
        let raw = try readBytes(width)
        var v: UInt64 = 0
        for i in stride(from: width - 1, through: 0, by: -1) { v = v << 8 | UInt64(raw[i]) }
        return v
    }

    /// A length operand, checked against the remaining bytes before anything is allocated.
    mutating func readLength(_ width: Int, signed: Bool = false) throws(FormatError) -> Int {
        let raw = try readLE(width)
        let value: Int
        if signed {
            value = Int(Int32(truncatingIfNeeded: raw))
            guard value >= 0 else { throw error(.corrupt, "negative length \(value)") }
        } else {
            guard let v = Checked.int(raw) else { throw error(.corrupt, "length \(raw) is out of range") }
            value = v
        }
        guard value <= bytes.count - position else {
            throw error(.truncated, "an operand of \(value) bytes runs past the end of the pickle")
        }
        return value
    }

    /// A text operand up to (not including) the next newline.
    mutating func readLine() throws(FormatError) -> UnsafeRawBufferPointer {
        var end = position
        while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        guard end < bytes.count else { throw error(.truncated, "the pickle ends inside a text operand") }
        let line = UnsafeRawBufferPointer(rebasing: bytes[position..<end])
        position = end + 1
        return line
    }

    mutating func readLineString() throws(FormatError) -> String {
        String(decoding: try readLine(), as: UTF8.self)
    }

    // MARK: Stack

    mutating func push(_ value: PickleValue) throws(FormatError) {
        guard depth < limits.pickleStack else {
            throw error(.limitExceeded, "the pickle stack grows past the limit of \(limits.pickleStack) values")
        }
        stack.append(value)
        depth += 1
    }

    mutating func pop() throws(FormatError) -> PickleValue {
        guard let v = stack.popLast() else { throw error(.corrupt, "pickle stack underflow") }
        depth -= 1
        return v
    }

    func top() throws(FormatError) -> PickleValue {
        guard let v = stack.last else { throw error(.corrupt, "pickle stack underflow") }
        return v
    }

    mutating func replaceTop(_ value: PickleValue) throws(FormatError) {
        guard !stack.isEmpty else { throw error(.corrupt, "pickle stack underflow") }
        stack[stack.count - 1] = value
    }

    mutating func mark() throws(FormatError) {
        guard metastack.count < limits.pickleNesting else {
            throw error(.limitExceeded, "MARKs nest deeper than the limit of \(limits.pickleNesting)")
        }
        guard depth < limits.pickleStack else {
            throw error(.limitExceeded, "the pickle stack grows past the limit of \(limits.pickleStack) values")
        }
        metastack.append(stack)
        stack = []
        depth += 1
    }

    /// The values pushed since the last MARK; restores the stack below it.
    mutating func popMark() throws(FormatError) -> [PickleValue] {
        guard let saved = metastack.popLast() else { throw error(.corrupt, "no MARK to pop to") }
        let items = stack
        stack = saved
        depth -= items.count + 1
        return items
    }

    // MARK: Memo

    mutating func memoPut(_ index: Int) throws(FormatError) {
        guard index >= 0 else { throw error(.corrupt, "negative memo index \(index)") }
        let value = try top()
        if memo[index] == nil, memo.count >= limits.pickleMemo {
            throw error(.limitExceeded, "the memo grows past the limit of \(limits.pickleMemo) entries")
        }
        memo[index] = value
    }

    mutating func memoGet(_ index: Int) throws(FormatError) {
        guard let value = memo[index] else { throw error(.corrupt, "memo entry \(index) is read before it is written") }
        try push(value)
    }

    // MARK: Containers

    func tuple(_ items: [PickleValue]) -> PickleValue {
        .tuple(machine.adopt(PickleTuple(items)))
    }

    func newList(_ items: [PickleValue] = []) -> PickleList {
        machine.adopt(PickleList(items))
    }

    func newDict(ordered: Bool = false) -> PickleDict {
        machine.adopt(PickleDict(ordered: ordered))
    }

    func newSet(frozen: Bool) -> PickleSet {
        machine.adopt(PickleSet(frozen: frozen))
    }

    func newObject(type: PickleGlobal?, args: [PickleValue], kwargs: PickleValue? = nil) -> PickleObject {
        machine.adopt(PickleObject(type: type, args: args, kwargs: kwargs))
    }

    func setItem(_ dict: PickleDict, _ key: PickleValue, _ value: PickleValue) throws(FormatError) {
        do {
            try dict.set(key, value, nesting: limits.pickleNesting)
        } catch {
            throw self.error(.corrupt, "a \(error.typeName) cannot be a dict key")
        }
    }

    func addToSet(_ set: PickleSet, _ item: PickleValue) throws(FormatError) {
        do {
            try set.insert(item, nesting: limits.pickleNesting)
        } catch {
            throw self.error(.corrupt, "a \(error.typeName) cannot be a set item")
        }
    }
}
