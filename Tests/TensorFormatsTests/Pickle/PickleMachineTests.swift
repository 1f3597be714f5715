import Testing
@testable import TensorFormats

/// Each protocol feature of the VM, on hand-assembled opcodes (byte strings cross-checked
/// against CPython's `pickle.dumps` where noted).
@Suite struct PickleMachineTests {
    @Test func protocol2Scalars() throws {
        let bytes = P.proto(2) + P.mark
            + P.int1(200) + P.int2(0xBEEF) + P.int4(-129) + P.int4(Int32.max)
            + P.long1([0x00, 0x00, 0x00, 0x80, 0x00])        // 2**31, as CPython writes it
            + P.long1([0x7F, 0xFF])                           // -129 in two bytes
            + P.long1([])                                     // 0
            + P.binFloat(-2.5) + P.binFloat(1e-8)
            + P.none + P.newTrue + P.newFalse + P.unicode("héllo")
            + P.tuple + P.stop
        let r = try Unpickled(bytes)
        let items = try #require(r.value.tupleItems)
        #expect(items[0].intValue == 200)
        #expect(items[1].intValue == 0xBEEF)
        #expect(items[2].intValue == -129)
        #expect(items[3].intValue == Int(Int32.max))
        #expect(items[4].intValue == 1 << 31)
        #expect(items[5].intValue == -129)
        #expect(items[6].intValue == 0)
        guard case .float(let f) = items[7], case .float(let g) = items[8] else { Issue.record("floats"); return }
        #expect(f == -2.5)
        #expect(g == 1e-8)
        guard case .none = items[9], case .bool(true) = items[10], case .bool(false) = items[11] else {
            Issue.record("None / True / False"); return
        }
        #expect(items[12].stringValue == "héllo")
        #expect(r.end == bytes.count)
    }

    @Test func binFloatIsBigEndian() throws {
        // 1.0 = 3F F0 00 00 00 00 00 00 in big-endian order.
        let r = try Unpickled(P.proto(2) + [0x47, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0] + P.stop)
        guard case .float(let d) = r.value else { Issue.record("not a float"); return }
        #expect(d == 1.0)
    }

    @Test func integersBeyond64BitsStayExact() throws {
        // pickle.dumps(2**70) and pickle.dumps(-2**70), protocol 2.
        let pos = try Unpickled(P.proto(2) + P.long1([0, 0, 0, 0, 0, 0, 0, 0, 0x40]) + P.stop)
        let neg = try Unpickled(P.proto(2) + P.long1([0, 0, 0, 0, 0, 0, 0, 0, 0xC0]) + P.stop)
        #expect(pos.value.rendered() == "1180591620717411303424")
        #expect(neg.value.rendered() == "-1180591620717411303424")
        // LONG4 with a redundant sign byte still gives a plain int.
        let long4 = try Unpickled(P.proto(2) + [0x8B, 3, 0, 0, 0, 0xFF, 0xFF, 0xFF] + P.stop)
        #expect(long4.value.intValue == -1)
    }

    @Test func protocol0TextOpcodes() throws {
        // pickle.dumps({'a': [1, 2.5, 'x'], 'b': (None, True)}, protocol=0)
        let bytes = Array("(dp0\nVa\np1\n(lp2\nI1\naF2.5\naVx\np3\nasVb\np4\n(NI01\ntp5\ns.".utf8)
        let r = try Unpickled(bytes)
        let d = try #require(r.value.dictValue)
        let a = try #require(d["a"]?.listValue)
        #expect(a.items.count == 3)
        #expect(a.items[0].intValue == 1)
        guard case .float(2.5) = a.items[1] else { Issue.record("2.5"); return }
        #expect(a.items[2].stringValue == "x")
        let b = try #require(d["b"]?.tupleItems)
        guard case .none = b[0], case .bool(true) = b[1] else { Issue.record("(None, True)"); return }
    }

    @Test func protocol0StringsIntsAndPersistentIds() throws {
        var loaded: [String] = []
        let bytes = P.mark
            + P.text("S", "'a\\nb\\x41\\101\\''")       // escape_decode: a\nbAA'
            + P.text("S", "\"q\"")
            + P.text("V", "caf\\u00e9 \\\\u0041")        // é, then an even backslash run: literal
            + P.text("L", "-12345678901234567890L")
            + P.text("I", "0x1F")
            + P.text("I", "00")
            + P.text("F", "-inf")
            + P.text("P", "storage-7")
            + P.text("p", "3") + P.text("g", "3")
            + P.tuple + P.stop
        let r = try Unpickled(bytes) { pid throws(FormatError) in
            loaded.append(pid.stringValue ?? "?")
            return .string("loaded")
        }
        let items = try #require(r.value.tupleItems)
        #expect(items[0].stringValue == "a\nbAA'")
        #expect(items[1].stringValue == "q")
        #expect(items[2].stringValue == "café \\\\u0041")
        #expect(items[3].rendered() == "-12345678901234567890")
        #expect(items[4].intValue == 31)
        guard case .bool(false) = items[5], case .float(let inf) = items[6] else { Issue.record("I00 / F-inf"); return }
        #expect(inf == -.infinity)
        #expect(loaded == ["storage-7"])
        #expect(items[7].stringValue == "loaded")
        #expect(items[8].stringValue == "loaded")
    }

    @Test func python2StringsFallBackToLatin1() throws {
        let r = try Unpickled(P.proto(2) + [0x55, 2, 0xE9, 0x41] + [0x54, 1, 0, 0, 0, 0x42] + P.tuple2 + P.stop)
        let items = try #require(r.value.tupleItems)
        #expect(items[0].stringValue == "éA")
        #expect(items[1].stringValue == "B")
    }

    @Test func protocol4FramesSetsAndStackGlobal() throws {
        // pickle.dumps({1, 2}, protocol=4): FRAME, EMPTY_SET, MEMOIZE, MARK, ADDITEMS
        let set = try Unpickled([0x80, 0x04, 0x95, 9, 0, 0, 0, 0, 0, 0, 0, 0x8F, 0x94, 0x28, 0x4B, 1, 0x4B, 2, 0x90, 0x2E])
        guard case .set(let s) = set.value else { Issue.record("not a set"); return }
        #expect(s.items.compactMap(\.intValue) == [1, 2])
        #expect(!s.isFrozen)
        // pickle.dumps(frozenset({3}), protocol=4)
        let frozen = try Unpickled([0x80, 0x04, 0x95, 6, 0, 0, 0, 0, 0, 0, 0, 0x28, 0x4B, 3, 0x91, 0x94, 0x2E])
        guard case .set(let f) = frozen.value else { Issue.record("not a frozenset"); return }
        #expect(f.isFrozen && f.items.count == 1)
        // STACK_GLOBAL + SHORT_BINUNICODE + MEMOIZE: collections.OrderedDict() is allow-listed.
        let od = try Unpickled(P.proto(4) + P.shortUnicode("collections") + P.memoize + P.shortUnicode("OrderedDict")
                               + P.memoize + [0x93] + P.memoize + P.emptyTuple + P.reduce + P.stop)
        #expect(od.value.dictValue?.isOrdered == true)
    }

    @Test func bytesOpcodesOfProtocols3To5() throws {
        let bytes = P.proto(5) + P.mark
            + [0x42, 2, 0, 0, 0, 1, 2]                         // BINBYTES
            + [0x43, 1, 0xFF]                                  // SHORT_BINBYTES
            + [0x8E] + P.le(1, 8) + [7]                        // BINBYTES8
            + [0x96] + P.le(2, 8) + Array("ab".utf8)           // BYTEARRAY8
            + [0x98]                                           // READONLY_BUFFER (no-op)
            + [0x8D] + P.le(2, 8) + Array("hi".utf8)           // BINUNICODE8
            + P.tuple + P.stop
        let r = try Unpickled(bytes)
        let items = try #require(r.value.tupleItems)
        guard case .bytes(let a) = items[0], case .bytes(let b) = items[1], case .bytes(let c) = items[2],
              case .bytes(let d) = items[3] else { Issue.record("bytes"); return }
        #expect(a == [1, 2] && b == [0xFF] && c == [7] && d == Array("ab".utf8))
        #expect(items[4].stringValue == "hi")
    }

    @Test func codecsEncodeGivesLatin1Bytes() throws {
        // pickle.dumps(b'\xe0\x00A', protocol=2): the str is UTF-8 'à\0A', each code point one byte.
        let bytes: [UInt8] = [0x80, 0x02, 0x63] + Array("_codecs\nencode\n".utf8) + [0x71, 0x00, 0x58, 4, 0, 0, 0, 0xC3, 0xA0, 0x00, 0x41,
                              0x71, 0x01, 0x58, 6, 0, 0, 0] + Array("latin1".utf8) + [0x71, 0x02, 0x86, 0x71, 0x03, 0x52, 0x71, 0x04, 0x2E]
        let r = try Unpickled(bytes)
        guard case .bytes(let b) = r.value else { Issue.record("not bytes"); return }
        #expect(b == [0xE0, 0x00, 0x41])
    }

    @Test func python2BuiltinNamesAreMapped() throws {
        // set([1]) as protocol 2 writes it: __builtin__ set, a list, TUPLE1, REDUCE.
        let bytes = P.proto(2) + P.global("__builtin__", "set") + P.emptyList + P.int1(1) + P.append + P.tuple1 + P.reduce
            + P.global("__builtin__", "bytearray") + P.emptyTuple + P.reduce + P.tuple2 + P.stop
        let r = try Unpickled(bytes)
        let items = try #require(r.value.tupleItems)
        guard case .set(let s) = items[0], case .bytes(let b) = items[1] else { Issue.record("set / bytearray"); return }
        #expect(s.items.compactMap(\.intValue) == [1])
        #expect(b.isEmpty)
    }

    @Test func memoPreservesIdentity() throws {
        // x = []; (x, x) then APPEND through a later BINGET: both tuple slots see it.
        let bytes = P.proto(2) + P.emptyList + P.put(0) + P.get(0) + P.tuple2 + P.put(1)
            + P.get(0) + P.int1(9) + P.append + P.pop + P.stop
        let r = try Unpickled(bytes)
        let items = try #require(r.value.tupleItems)
        let a = try #require(items[0].listValue)
        let b = try #require(items[1].listValue)
        #expect(a === b)
        #expect(a.items.compactMap(\.intValue) == [9])
    }

    @Test func dictKeysFollowPythonEquality() throws {
        // {1: 'a', True: 'b', 1.0: 'c', (1, 2): 'd'}: the first three are one key.
        let bytes = P.proto(2) + P.emptyDict + P.mark
            + P.int1(1) + P.unicode("a") + P.newTrue + P.unicode("b") + P.binFloat(1.0) + P.unicode("c")
            + P.int1(1) + P.int1(2) + P.tuple2 + P.unicode("d") + P.setItems + P.stop
        let r = try Unpickled(bytes)
        let d = try #require(r.value.dictValue)
        #expect(d.count == 2)
        #expect(d.values[0].stringValue == "c")
        #expect(d.keys[0].intValue == 1)
        // A list is not hashable.
        #expect(throws: FormatError.self) {
            try Unpickled(P.proto(2) + P.emptyDict + P.emptyList + P.int1(1) + P.setItem + P.stop)
        }
    }

    @Test func orderedDictBuildSetsAttributesNotItems() throws {
        // state_dict(): OrderedDict with items, then {'_metadata': {...}} BUILD.
        let bytes = P.proto(2) + P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce
            + P.unicode("w") + P.int1(1) + P.setItem
            + P.emptyDict + P.unicode("_metadata") + P.emptyDict + P.setItem + P.build + P.stop
        let r = try Unpickled(bytes)
        let d = try #require(r.value.dictValue)
        #expect(d.isOrdered)
        #expect(d.count == 1)
        #expect(d["_metadata"] == nil)
        #expect(d.attributes?.dictValue?["_metadata"] != nil)
    }

    @Test func popDupAndPopMark() throws {
        let bytes = P.proto(2) + P.int1(1) + P.dup + P.tuple2 + P.mark + P.int1(7) + P.int1(8) + [0x31] + P.int1(3) + P.pop + P.stop
        let r = try Unpickled(bytes)
        let items = try #require(r.value.tupleItems)
        #expect(items.compactMap(\.intValue) == [1, 1])
    }

    @Test func instObjAndNewObjBuildPlaceholders() throws {
        let bytes = P.proto(2) + P.mark + P.int1(4)
            + [0x69] + Array("mymod\nThing\n".utf8)                          // INST: mymod.Thing(4)
            + P.mark + P.global("other", "Cls") + P.int1(5) + [0x6F]           // OBJ: other.Cls(5)
            + P.global("argparse", "Namespace") + P.emptyTuple + P.newObj
            + P.emptyDict + P.unicode("lr") + P.binFloat(0.1) + P.setItem + P.build
            + P.global("x", "Y") + P.emptyTuple + P.emptyDict + [0x92]         // NEWOBJ_EX
            + P.tuple3 + P.tuple2 + P.stop
        let r = try Unpickled(bytes)
        let outer = try #require(r.value.tupleItems)
        let inst = try #require(outer[0].objectValue)
        #expect(inst.typeName == "mymod.Thing")
        #expect(inst.args.first?.intValue == 4)
        let inner = try #require(outer[1].tupleItems)
        let obj = try #require(inner[0].objectValue)
        #expect(obj.typeName == "other.Cls" && obj.args.first?.intValue == 5)
        let ns = try #require(inner[1].objectValue)
        #expect(ns.typeName == "argparse.Namespace")
        #expect(inner[1].rendered() == "argparse.Namespace(lr=0.1)")
        #expect(inner[2].objectValue?.kwargs?.dictValue != nil)
    }

    @Test func torchTensorDescriptors() throws {
        // _rebuild_tensor_v2(storage('0', float32, 6), 3, (3,), (1,), False, OrderedDict())
        let v2 = P.global("torch._utils", "_rebuild_tensor_v2") + P.mark
            + P.storagePid("FloatStorage", key: "0", numel: 6)
            + P.int1(3) + P.int1(3) + P.tuple1 + P.int1(1) + P.tuple1 + P.newFalse
            + P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce + P.tuple + P.reduce
        // _rebuild_parameter(_rebuild_tensor_v3(untyped storage, 0, (2,), (1,), True, OrderedDict(), torch.uint16), True, OrderedDict())
        let v3 = P.global("torch._utils", "_rebuild_parameter")
            + P.global("torch._utils", "_rebuild_tensor_v3") + P.mark
            + P.storagePid("UntypedStorage", key: "1", numel: 4)
            + P.int1(0) + P.int1(2) + P.tuple1 + P.int1(1) + P.tuple1 + P.newTrue
            + P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce
            + P.global("torch", "uint16") + P.tuple + P.reduce
            + P.newTrue + P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce + P.tuple3 + P.reduce
        // metadata {'neg': True} as the 7th v2 argument
        let neg = P.global("torch._utils", "_rebuild_tensor_v2") + P.mark
            + P.storagePid("HalfStorage", key: "2", numel: 1)
            + P.int1(0) + P.emptyTuple + P.emptyTuple + P.newFalse
            + P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce
            + P.emptyDict + P.unicode("neg") + P.newTrue + P.setItem + P.tuple + P.reduce
        let r = try Unpickled(P.proto(2) + v2 + v3 + neg + P.tuple3 + P.stop, persistentLoad: torchStorageLoader)
        let items = try #require(r.value.tupleItems)
        let a = try #require(items[0].tensorValue)
        #expect(a.storage.key == "0" && a.storage.numel == 6 && a.type.dtype == .float32)
        #expect(a.storageOffset == 3 && a.shape == [3] && a.strides == [1] && !a.requiresGrad && !a.isParameter)
        let b = try #require(items[1].tensorValue)
        #expect(b.storage.type.isUntyped && b.type.dtype == .uint16 && b.isParameter && b.requiresGrad)
        let c = try #require(items[2].tensorValue)
        #expect(c.neg && !c.conj && c.shape == [] && c.type.dtype == .float16)
    }

    @Test func storageClassesAndDtypesResolveByName() throws {
        let bytes = P.proto(2) + P.mark + P.global("torch.cuda", "BFloat16Storage") + P.global("torch", "ComplexFloatStorage")
            + P.global("torch", "float64") + P.global("torch", "float8_e4m3fn") + P.global("torch", "Size") + P.tuple + P.stop
        let r = try Unpickled(bytes)
        let items = try #require(r.value.tupleItems)
        guard case .storageType(let bf) = items[0], case .storageType(let cf) = items[1],
              case .dtype(let f64) = items[2], case .dtype(let f8) = items[3], case .global(let size) = items[4] else {
            Issue.record("resolution"); return
        }
        #expect(bf.dtype == .bfloat16 && bf.itemSize == 2)
        #expect(cf.dtype == nil && cf.itemSize == 8 && cf.name == "complex64")
        #expect(f64.dtype == .float64)
        #expect(f8.dtype == nil && f8.itemSize == 1)
        #expect(size.description == "torch.Size")
    }

    @Test func numpyScalarsDecode() throws {
        // numpy.core.multiarray.scalar(numpy.dtype('f8', False, True) + BUILD state, bytes of 0.5)
        let dtype = P.global("numpy", "dtype") + P.unicode("f8") + P.newFalse + P.newTrue + P.tuple3 + P.reduce
            + P.mark + P.int1(3) + P.unicode("<") + P.none + P.none + P.none + P.int4(-1) + P.int4(-1) + P.int1(0) + P.tuple + P.build
        let raw = P.le(0.5.bitPattern, 8)
        let payload = P.global("_codecs", "encode") + P.unicode(String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) })))
            + P.unicode("latin1") + P.tuple2 + P.reduce
        let bytes = P.proto(2) + P.global("numpy._core.multiarray", "scalar") + dtype + payload + P.tuple2 + P.reduce + P.stop
        let r = try Unpickled(bytes)
        guard case .float(let d) = r.value else { Issue.record("not a float"); return }
        #expect(d == 0.5)
    }

    @Test func renderingIsPythonLike() throws {
        let bytes = P.proto(2) + P.mark + P.binFloat(0.9) + P.binFloat(0.999) + P.tuple
            + P.emptyList + P.mark + P.unicode("it's") + P.none + [0x43, 2, 0, 0x41] + P.appends
            + P.int1(1) + P.tuple1 + P.tuple3 + P.stop
        let r = try Unpickled(bytes)
        #expect(r.value.rendered() == "((0.9, 0.999), [\"it's\", None, b'\\x00A'], (1,))")
        #expect(r.value.rendered(limit: 10) == "((0.9, 0.9…")
    }
}
