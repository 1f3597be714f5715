/// The opcode loop: CPython `pickle._Unpickler` semantics, minus every import and call.
extension PickleRun {
    mutating func execute() throws(FormatError) -> (value: PickleValue, end: Int) {
        var executed = 0
        while true {
            opStart = position
            guard position < bytes.count else {
                throw error(.truncated, "the pickle ends before its STOP opcode")
            }
            executed += 1
            guard executed <= limits.pickleOps else {
                throw error(.limitExceeded, "the pickle runs more than the limit of \(limits.pickleOps) opcodes")
            }
            let byte = bytes[position]
            position += 1
            guard let op = PickleOpcode(rawValue: byte) else {
                throw error(.corrupt, "unknown pickle opcode 0x\(String(byte, radix: 16, uppercase: true))")
            }
            if op == .stop {
                return (try pop(), position)
            }
            try step(op)
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private mutating func step(_ op: PickleOpcode) throws(FormatError) {
        switch op {
        case .stop:
            break
        case .proto:
            let v = Int(try readU8())
            guard v <= 5 else { throw error(.unsupported, "pickle protocol \(v) is newer than 5") }
            protocolVersion = v
        case .frame:
            let length = try readLE(8)
            guard length <= UInt64(bytes.count - position) else {
                throw error(.truncated, "a pickle frame of \(length) bytes runs past the end of the pickle")
            }

        // Stack manipulation
        case .mark: try mark()
        case .pop:
            if stack.isEmpty { _ = try popMark() } else { _ = try pop() }
        case .popMark: _ = try popMark()
        case .dup: try push(try top())

        // Scalars
        case .none: try push(.none)
        case .newTrue: try push(.bool(true))
        case .newFalse: try push(.bool(false))
        case .int:
            let line = try readLine()
            if line.elementsEqual("00".utf8) {
                try push(.bool(false))
            } else if line.elementsEqual("01".utf8) {
                try push(.bool(true))
            } else {
                try push(try parseInteger(line))
            }
        case .long:
            var line = try readLine()
            if line.last == UInt8(ascii: "L") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
            try push(try parseInteger(line))
        case .binInt: try push(.int(Int(Int32(truncatingIfNeeded: try readLE(4)))))
        case .binInt1: try push(.int(Int(try readU8())))
        case .binInt2: try push(.int(Int(try readLE(2))))
        case .long1:
            let n = try readLength(1)
            try push(PickleText.integer(twosComplement: try readBytes(n)))
        case .long4:
            let n = try readLength(4, signed: true)
            guard n <= limits.pickleLongBytes else {
                throw error(.limitExceeded, "a LONG4 integer of \(n) bytes is over the limit of \(limits.pickleLongBytes)")
            }
            try push(PickleText.integer(twosComplement: try readBytes(n)))
        case .float:
            let text = try readLineString().trimmingSpaces
            guard let d = Double(text) else { throw error(.corrupt, "'\(text.prefix(40))' is not a float") }
            try push(.float(d))
        case .binFloat:
            let raw = try readBytes(8)
            var bits: UInt64 = 0
            for b in raw { bits = bits << 8 | UInt64(b) }
            try push(.float(Double(bitPattern: bits)))

        // Strings and bytes
        case .string:
            let line = try readLine()
            guard line.count >= 2, line.first == line.last,
                  line.first == UInt8(ascii: "'") || line.first == UInt8(ascii: "\"") else {
                throw error(.corrupt, "the STRING opcode argument must be quoted")
            }
            let inner = UnsafeRawBufferPointer(rebasing: line.dropFirst().dropLast())
            try push(.string(PickleText.python2String(PickleText.escapeDecode(inner))))
        case .binString:
            let n = try readLength(4, signed: true)
            try push(.string(PickleText.python2String(Array(try readBytes(n)))))
        case .shortBinString:
            let n = try readLength(1)
            try push(.string(PickleText.python2String(Array(try readBytes(n)))))
        case .unicode:
            try push(.string(PickleText.rawUnicodeEscapeDecode(try readLine())))
        case .binUnicode:
            let n = try readLength(4)
            try push(.string(String(decoding: try readBytes(n), as: UTF8.self)))
        case .shortBinUnicode:
            let n = try readLength(1)
            try push(.string(String(decoding: try readBytes(n), as: UTF8.self)))
        case .binUnicode8:
            let n = try readLength(8)
            try push(.string(String(decoding: try readBytes(n), as: UTF8.self)))
        case .binBytes:
            let n = try readLength(4)
            try push(.bytes(Array(try readBytes(n))))
        case .shortBinBytes:
            let n = try readLength(1)
            try push(.bytes(Array(try readBytes(n))))
        case .binBytes8, .byteArray8:
            let n = try readLength(8)
            try push(.bytes(Array(try readBytes(n))))
        case .nextBuffer:
            throw error(.unsupported, "the pickle needs an out-of-band buffer (protocol 5 NEXT_BUFFER), which a file cannot supply")
        case .readonlyBuffer:
            _ = try top()

        // Tuples
        case .emptyTuple: try push(tuple([]))
        case .tuple1: try push(tuple([try pop()]))
        case .tuple2:
            let b = try pop()
            let a = try pop()
            try push(tuple([a, b]))
        case .tuple3:
            let c = try pop()
            let b = try pop()
            let a = try pop()
            try push(tuple([a, b, c]))
        case .tuple: try push(tuple(try popMark()))

        // Lists
        case .emptyList: try push(.list(newList()))
        case .list: try push(.list(newList(try popMark())))
        case .append: try appendItems([try pop()], opcode: "APPEND")
        case .appends: try appendItems(try popMark(), opcode: "APPENDS")

        // Dicts
        case .emptyDict: try push(.dict(newDict()))
        case .dict:
            let items = try popMark()
            let d = newDict()
            try setItems(d, items)
            try push(.dict(d))
        case .setItem:
            let value = try pop()
            let key = try pop()
            try setItemsOnTop([key, value], opcode: "SETITEM")
        case .setItems: try setItemsOnTop(try popMark(), opcode: "SETITEMS")

        // Sets
        case .emptySet: try push(.set(newSet(frozen: false)))
        case .addItems:
            let items = try popMark()
            switch try top() {
            case .set(let s):
                for item in items { try addToSet(s, item) }
            case .object(let o):
                o.appended.append(contentsOf: items)
            case let other:
                throw error(.corrupt, "ADDITEMS to \(other.pythonTypeName), which is not a set")
            }
        case .frozenSet:
            let s = newSet(frozen: true)
            for item in try popMark() { try addToSet(s, item) }
            try push(.set(s))

        // Memo
        case .get: try memoGet(try parseIndex(try readLine()))
        case .binGet: try memoGet(Int(try readU8()))
        case .longBinGet: try memoGet(Int(try readLE(4)))
        case .put: try memoPut(try parseIndex(try readLine()))
        case .binPut: try memoPut(Int(try readU8()))
        case .longBinPut: try memoPut(Int(try readLE(4)))
        case .memoize: try memoPut(memo.count)

        // Globals, calls, state
        case .global:
            let module = try readLineString()
            let name = try readLineString()
            try push(resolveGlobal(module: module, name: name))
        case .stackGlobal:
            let nameValue = try pop()
            let moduleValue = try pop()
            guard case .string(let name) = nameValue, case .string(let module) = moduleValue else {
                throw error(.corrupt, "STACK_GLOBAL needs two strings")
            }
            try push(resolveGlobal(module: module, name: name))
        case .ext1, .ext2, .ext4:
            let code = op == .ext1 ? Int(try readU8()) : op == .ext2 ? Int(try readLE(2)) : Int(Int32(truncatingIfNeeded: try readLE(4)))
            try push(.global(PickleGlobal(module: "copyreg._extension_registry", name: String(code))))
        case .reduce:
            let args = try pop()
            let callable = try pop()
            guard case .tuple(let t) = args else {
                throw error(.corrupt, "REDUCE arguments are \(args.pythonTypeName), not a tuple")
            }
            try push(try call(callable, t.items))
        case .newObj:
            let args = try pop()
            let cls = try pop()
            guard case .tuple(let t) = args else {
                throw error(.corrupt, "NEWOBJ arguments are \(args.pythonTypeName), not a tuple")
            }
            try push(try newObject(cls, t.items, kwargs: nil))
        case .newObjEx:
            let kwargs = try pop()
            let args = try pop()
            let cls = try pop()
            guard case .tuple(let t) = args else {
                throw error(.corrupt, "NEWOBJ_EX arguments are \(args.pythonTypeName), not a tuple")
            }
            try push(try newObject(cls, t.items, kwargs: kwargs))
        case .inst:
            let module = try readLineString()
            let name = try readLineString()
            let args = try popMark()
            try push(try call(resolveGlobal(module: module, name: name), args))
        case .obj:
            var args = try popMark()
            guard !args.isEmpty else { throw error(.corrupt, "OBJ without a class") }
            let cls = args.removeFirst()
            try push(try call(cls, args))
        case .build:
            let state = try pop()
            try build(try top(), state: state)
        case .persId:
            let pid = try readLineString()
            try push(try persistentLoad(.string(pid)))
        case .binPersId:
            try push(try persistentLoad(try pop()))
        }
    }

    private mutating func persistentLoad(_ pid: PickleValue) throws(FormatError) -> PickleValue {
        do {
            return try machine.persistentLoad(pid)
        } catch {
            var e = error
            if e.entry == nil { e.entry = entry }
            if e.offset == nil { e.offset = baseOffset + opStart }
            throw e
        }
    }

    private mutating func appendItems(_ items: [PickleValue], opcode: String) throws(FormatError) {
        switch try top() {
        case .list(let l): l.items.append(contentsOf: items)
        case .object(let o): o.appended.append(contentsOf: items)
        case let other: throw error(.corrupt, "\(opcode) to \(other.pythonTypeName), which is not a list")
        }
    }

    private mutating func setItemsOnTop(_ items: [PickleValue], opcode: String) throws(FormatError) {
        switch try top() {
        case .dict(let d):
            try setItems(d, items)
        case .object(let o):
            let d = o.items ?? newDict()
            o.items = d
            try setItems(d, items)
        case let other:
            throw error(.corrupt, "\(opcode) on \(other.pythonTypeName), which is not a dict")
        }
    }

    private func setItems(_ d: PickleDict, _ items: [PickleValue]) throws(FormatError) {
        guard items.count % 2 == 0 else { throw error(.corrupt, "a key without a value in SETITEMS / DICT") }
        var i = 0
        while i < items.count {
            try setItem(d, items[i], items[i + 1])
            i += 2
        }
    }

    private func parseInteger(_ line: UnsafeRawBufferPointer) throws(FormatError) -> PickleValue {
        guard line.count <= limits.pickleLongBytes * 3, let v = PickleText.integer(text: line) else {
            throw error(.corrupt, "'\(String(decoding: line.prefix(40), as: UTF8.self))' is not an integer")
        }
        return v
    }

    private func parseIndex(_ line: UnsafeRawBufferPointer) throws(FormatError) -> Int {
        guard case .int(let i) = try parseInteger(line), i >= 0 else {
            throw error(.corrupt, "'\(String(decoding: line.prefix(40), as: UTF8.self))' is not a memo index")
        }
        return i
    }
}

private extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
