import Foundation
import Testing
@testable import TensorFormats

/// Hostile and malformed pickles: nothing runs, caps hold, errors carry the record and offset.
@Suite struct PickleSafetyTests {
    private func marker() -> String {
        "/tmp/lstmkit-pwned-\(UInt64.random(in: 1...UInt64.max))"
    }

    @Test func osSystemReduceIsAnInertPlaceholder() throws {
        let path = marker()
        // pickle.dumps of a class whose __reduce__ returns (os.system, ('touch <path>',))
        let bytes = P.proto(2) + P.global("posix", "system") + P.unicode("touch \(path)") + P.tuple1 + P.reduce
            + P.global("os", "system") + P.unicode("touch \(path)") + P.tuple1 + P.reduce + P.tuple2 + P.stop
        let r = try Unpickled(bytes)
        let items = try #require(r.value.tupleItems)
        let call = try #require(items[1].objectValue)
        #expect(call.typeName == "os.system")
        #expect(call.args.first?.stringValue == "touch \(path)")
        #expect(items[0].objectValue?.typeName == "posix.system")
        // Both calls are noted (for readers to refuse the file), at their REDUCE opcodes.
        let attempts = r.machine.codeExecutionAttempts
        #expect(attempts.map(\.callable.description) == ["posix.system", "os.system"])
        let reduceOffset = (P.proto(2) + P.global("posix", "system") + P.unicode("touch \(path)") + P.tuple1).count
        #expect(attempts.first?.offset == reduceOffset && attempts.first?.entry == "test.pkl")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func harmlessCallsAreNotNotedAsCodeExecution() throws {
        let bytes = P.proto(2) + P.global("argparse", "Namespace") + P.emptyTuple + P.newObj
            + P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce + P.global("os", "system") + P.tuple3 + P.stop
        let r = try Unpickled(bytes)
        #expect(r.machine.codeExecutionAttempts.isEmpty)   // referencing os.system without calling it runs nothing
    }

    @Test func otherExecutionGadgetsStayInert() throws {
        let path = marker()
        // subprocess.Popen via NEWOBJ, builtins.eval / exec via REDUCE (protocol 0 INST too),
        // getattr(builtins, 'exec') chained into a REDUCE, copyreg._reconstructor of a user class.
        let cmd = P.mark + P.unicode("touch") + P.unicode(path) + [0x6C]
        let bytes = P.proto(2) + P.mark
            + P.global("subprocess", "Popen") + cmd + P.tuple1 + P.newObj
            + P.global("builtins", "eval") + P.unicode("__import__('os').system('touch \(path)')") + P.tuple1 + P.reduce
            + P.mark + P.unicode("import os; os.system('touch \(path)')") + [0x69] + Array("__builtin__\nexec\n".utf8)
            + P.global("builtins", "getattr") + P.global("builtins", "__import__") + P.unicode("os") + P.tuple1 + P.reduce
            + P.unicode("system") + P.tuple2 + P.reduce + P.unicode("touch \(path)") + P.tuple1 + P.reduce
            + P.global("copy_reg", "_reconstructor") + P.global("__main__", "Evil") + P.global("__builtin__", "object")
            + P.none + P.tuple3 + P.reduce
            + P.tuple + P.stop
        let r = try Unpickled(bytes)
        let items = try #require(r.value.tupleItems)
        #expect(items[0].objectValue?.typeName == "subprocess.Popen")
        #expect(items[1].objectValue?.typeName == "builtins.eval")
        #expect(items[2].objectValue?.typeName == "builtins.exec")
        #expect(items[3].objectValue?.type == nil)   // calling the result of a call: still nothing
        #expect(items[4].objectValue?.typeName == "__main__.Evil")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func errorsNameTheRecordAndOffset() {
        func failure(_ bytes: [UInt8]) -> FormatError? {
            do {
                _ = try Unpickled(bytes, entry: "archive/data.pkl")
                return nil
            } catch {
                return error
            }
        }
        let unknown = failure(P.proto(2) + P.int1(1) + [0xFF] + P.stop)
        #expect(unknown?.reason == .corrupt && unknown?.offset == 4 && unknown?.entry == "archive/data.pkl")
        #expect(unknown?.description.contains("'archive/data.pkl' at byte 4") == true)

        let noStop = failure(P.proto(2) + P.int1(1))
        #expect(noStop?.reason == .truncated && noStop?.offset == 4)

        let shortOperand = failure(P.proto(2) + [0x58, 10, 0, 0, 0, 0x41])
        #expect(shortOperand?.reason == .truncated && shortOperand?.offset == 2)

        let underflow = failure(P.proto(2) + P.tuple2 + P.stop)
        #expect(underflow?.reason == .corrupt && underflow?.offset == 2)

        let badMemo = failure(P.proto(2) + P.get(5) + P.stop)
        #expect(badMemo?.reason == .corrupt && badMemo?.message.contains("memo") == true)

        let noMark = failure(P.proto(2) + P.tuple + P.stop)
        #expect(noMark?.reason == .corrupt)

        let newer = failure(P.proto(6) + P.none + P.stop)
        #expect(newer?.reason == .unsupported)

        let frame = failure(P.proto(4) + [0x95] + P.le(1000, 8) + P.none + P.stop)
        #expect(frame?.reason == .truncated)

        let buffer = failure(P.proto(5) + [0x97] + P.stop)
        #expect(buffer?.reason == .unsupported)

        let pid = failure(P.proto(2) + P.unicode("x") + P.binPersId + P.stop)
        #expect(pid?.reason == .unsupported && pid?.offset == 8)

        let buildOnInt = failure(P.proto(2) + P.int1(1) + P.emptyDict + P.build + P.stop)
        #expect(buildOnInt?.reason == .corrupt)

        let badTensor = failure(P.proto(2) + P.global("torch._utils", "_rebuild_tensor_v2") + P.mark + P.int1(1) + P.int1(0)
                                + P.emptyTuple + P.emptyTuple + P.newFalse + P.none + P.tuple + P.reduce + P.stop)
        #expect(badTensor?.reason == .corrupt && badTensor?.message.contains("not a storage") == true)
    }

    @Test func memoCapIsEnforced() {
        var limits = Limits()
        limits.pickleMemo = 3
        var bytes = P.proto(2) + P.none
        for i in 0..<4 { bytes += P.put(UInt8(i)) }
        bytes += P.stop
        #expect(throws: FormatError.self) { try Unpickled(bytes, limits: limits) }
        // Rewriting an existing entry is not growth.
        let rewrite = P.proto(2) + P.none + P.put(0) + P.put(1) + P.put(0) + P.put(2) + P.stop
        #expect((try? Unpickled(rewrite, limits: limits)) != nil)
        do {
            _ = try Unpickled(P.proto(2) + P.none + P.longPut(0) + P.longPut(7) + P.longPut(9) + P.longPut(12) + P.stop, limits: limits)
            Issue.record("no error")
        } catch {
            #expect(error.reason == .limitExceeded && error.offset == 18)
        }
    }

    @Test func stackNestingOpsAndLongCaps() {
        var limits = Limits()
        limits.pickleStack = 10
        let deep = P.proto(2) + Array(repeating: P.int1(1), count: 11).flatMap { $0 } + P.stop
        #expect(throws: FormatError.self) { try Unpickled(deep, limits: limits) }

        limits = Limits()
        limits.pickleNesting = 5
        let marks = P.proto(2) + Array(repeating: P.mark, count: 6).flatMap { $0 } + P.stop
        #expect(throws: FormatError.self) { try Unpickled(marks, limits: limits) }

        limits = Limits()
        limits.pickleOps = 50
        var loop = P.proto(2) + P.none
        for _ in 0..<60 { loop += P.dup + P.pop }
        loop += P.stop
        do {
            _ = try Unpickled(loop, limits: limits)
            Issue.record("no error")
        } catch {
            #expect(error.reason == .limitExceeded)
        }

        limits = Limits()
        limits.pickleLongBytes = 16
        let long4 = P.proto(2) + [0x8B] + P.le(17, 4) + Array(repeating: 1, count: 17) + P.stop
        #expect(throws: FormatError.self) { try Unpickled(long4, limits: limits) }
        let negative = P.proto(2) + [0x8B] + P.le(0xFFFF_FFFF, 4) + P.stop
        #expect(throws: FormatError.self) { try Unpickled(negative) }
    }

    @Test func hugeDeclaredLengthsFailBeforeAllocating() {
        for op: UInt8 in [0x8D, 0x8E, 0x96] {
            let bytes = P.proto(5) + [op] + P.le(UInt64.max, 8) + P.stop
            #expect(throws: FormatError.self) { try Unpickled(bytes) }
        }
        #expect(throws: FormatError.self) { try Unpickled(P.proto(2) + [0x58] + P.le(0xFFFF_FFF0, 4) + P.stop) }
    }

    @Test func cyclesRenderAndRelease() throws {
        // a = []; a.append(a); d = {}; d['self'] = d
        let bytes = P.proto(2) + P.emptyList + P.put(0) + P.get(0) + P.append
            + P.emptyDict + P.put(1) + P.unicode("self") + P.get(1) + P.setItem + P.tuple2 + P.stop
        var r: Unpickled? = try Unpickled(bytes)
        #expect(r?.value.rendered() == "([[...]], {'self': {...}})")
        r = nil
    }

    @Test func deepChainsAreReleasedWithoutRecursion() throws {
        // 200 000 nested lists (] ] ] ... a a a): a naive release would recurse 200 000 frames deep.
        let n = 200_000
        var bytes = P.proto(2)
        bytes += Array(repeating: 0x5D, count: n)
        bytes += Array(repeating: 0x61, count: n - 1)
        bytes += P.stop
        var r: Unpickled? = try Unpickled(bytes)
        #expect(r?.value.listValue?.items.count == 1)
        #expect(r?.value.rendered(limit: 200).hasPrefix("[[[[") == true)
        r = nil
        // Deep tuples (TUPLE1 repeated) too.
        var tuples = P.proto(2) + P.none
        tuples += Array(repeating: 0x85, count: n)
        tuples += P.stop
        var t: Unpickled? = try Unpickled(tuples)
        #expect(t?.value.tupleItems?.count == 1)
        t = nil
    }
}
