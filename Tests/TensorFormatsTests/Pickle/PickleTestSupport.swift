@testable import TensorFormats

/// Hand assembly of pickle opcodes for tests: `P.proto(2) + P.int1(5) + P.stop`.
enum P {
    static func proto(_ v: UInt8) -> [UInt8] { [0x80, v] }
    static let stop: [UInt8] = [0x2E]
    static let mark: [UInt8] = [0x28]
    static let none: [UInt8] = [0x4E]
    static let newTrue: [UInt8] = [0x88]
    static let newFalse: [UInt8] = [0x89]
    static let emptyTuple: [UInt8] = [0x29]
    static let emptyList: [UInt8] = [0x5D]
    static let emptyDict: [UInt8] = [0x7D]
    static let tuple: [UInt8] = [0x74]
    static let tuple1: [UInt8] = [0x85]
    static let tuple2: [UInt8] = [0x86]
    static let tuple3: [UInt8] = [0x87]
    static let append: [UInt8] = [0x61]
    static let appends: [UInt8] = [0x65]
    static let setItem: [UInt8] = [0x73]
    static let setItems: [UInt8] = [0x75]
    static let reduce: [UInt8] = [0x52]
    static let build: [UInt8] = [0x62]
    static let newObj: [UInt8] = [0x81]
    static let binPersId: [UInt8] = [0x51]
    static let memoize: [UInt8] = [0x94]
    static let pop: [UInt8] = [0x30]
    static let dup: [UInt8] = [0x32]

    static func int1(_ v: UInt8) -> [UInt8] { [0x4B, v] }
    static func int2(_ v: UInt16) -> [UInt8] { [0x4D] + le(UInt64(v), 2) }
    static func int4(_ v: Int32) -> [UInt8] { [0x4A] + le(UInt64(UInt32(bitPattern: v)), 4) }
    static func long1(_ bytes: [UInt8]) -> [UInt8] { [0x8A, UInt8(bytes.count)] + bytes }
    static func binFloat(_ d: Double) -> [UInt8] { [0x47] + le(d.bitPattern, 8).reversed() }
    static func unicode(_ s: String) -> [UInt8] { [0x58] + le(UInt64(s.utf8.count), 4) + Array(s.utf8) }
    static func shortUnicode(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func put(_ i: UInt8) -> [UInt8] { [0x71, i] }
    static func get(_ i: UInt8) -> [UInt8] { [0x68, i] }
    static func longPut(_ i: UInt32) -> [UInt8] { [0x72] + le(UInt64(i), 4) }
    static func text(_ op: Character, _ line: String) -> [UInt8] { [UInt8(ascii: op.unicodeScalars.first!)] + Array("\(line)\n".utf8) }

    static func le(_ v: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
    }

    /// `('storage', torch.<cls>, key, 'cpu', numel)` + BINPERSID.
    static func storagePid(_ cls: String, key: String, numel: UInt8) -> [UInt8] {
        mark + unicode("storage") + global("torch", cls) + unicode(key) + unicode("cpu") + int1(numel) + tuple + binPersId
    }
}

/// Runs `bytes` through a fresh machine; keeps the machine alive with the result.
struct Unpickled {
    let machine: PickleMachine
    let value: PickleValue
    let end: Int

    init(_ bytes: [UInt8], limits: Limits = .default, entry: String? = "test.pkl",
         persistentLoad: @escaping PickleMachine.PersistentLoad = PickleMachine.refusePersistentIds) throws(FormatError) {
        machine = PickleMachine(limits: limits, persistentLoad: persistentLoad)
        let m = machine
        let r = bytes.withUnsafeBytes { raw in
            Result { () throws(FormatError) in try m.load(raw, entry: entry) }
        }
        (value, end) = try r.get()
    }
}

/// A persistent loader for torch's 5-tuple storage ids.
func torchStorageLoader(_ pid: PickleValue) throws(FormatError) -> PickleValue {
    guard case .tuple(let t) = pid, t.items.count == 5, case .storageType(let type) = t.items[1],
          case .string(let key) = t.items[2], case .int(let numel) = t.items[4] else {
        throw FormatError(.corrupt, "bad pid")
    }
    return .storage(PickleStorage(key: key, type: type, numel: numel, location: "cpu"))
}

extension PickleValue {
    var intValue: Int? { if case .int(let i) = self { i } else { nil } }
    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    var dictValue: PickleDict? { if case .dict(let d) = self { d } else { nil } }
    var listValue: PickleList? { if case .list(let l) = self { l } else { nil } }
    var tupleItems: [PickleValue]? { if case .tuple(let t) = self { t.items } else { nil } }
    var objectValue: PickleObject? { if case .object(let o) = self { o } else { nil } }
    var tensorValue: PickleTensor? { if case .tensor(let t) = self { t } else { nil } }
}
