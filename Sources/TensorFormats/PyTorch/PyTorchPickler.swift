/// Writes `data.pkl` for a state dict exactly as CPython's protocol-2 pickler does inside
/// `torch.save(OrderedDict(name → tensor))`, memo included:
///
///     80 02  c collections\nOrderedDict\n q0  ) R q1
///     ( <name> q  c torch._utils\n_rebuild_tensor_v2\n q
///         ( ( 'storage' q  c torch\nFloatStorage\n q  <key> q  'cpu' q  <numel> t q  Q
///           <offset> <size tuple> q <stride tuple> q  \x89  h0 ) R q
///         t q  R q
///       ...  u .
///
/// Only the opcodes torch's `weights_only` unpickler accepts are used. The memo follows Python's
/// identity rules: globals, `'storage'`, `'cpu'` and a storage's key string are single objects
/// (BINGET after the first time); names, tuples and tensors are new objects each time. Dict items
/// go in batches of 1000 (MARK … SETITEMS; a lone item uses SETITEM). Tuples of up to three
/// items use TUPLE1/2/3, longer ones MARK … TUPLE, the empty tuple EMPTY_TUPLE (not memoized).
/// `_rebuild_tensor_v3` (with `torch.storage.UntypedStorage` and a dtype global) is used for the
/// dtypes torch serialises that way (uint16/32/64).
struct PyTorchPickler {
    struct Entry {
        let name: String
        let storageClass: PickleGlobal
        let storageKey: String
        /// Elements in the whole storage (bytes for UntypedStorage).
        let storageNumel: Int
        let storageOffset: Int
        let shape: [Int]
        let strides: [Int]
        /// The dtype global for `_rebuild_tensor_v3`; nil for `_rebuild_tensor_v2`.
        let v3DType: PickleGlobal?
    }

    private(set) var bytes: [UInt8] = []
    private var memoCount = 0
    private var memo: [String: Int] = [:]

    static func statePickle(_ entries: [Entry]) -> [UInt8] {
        var p = PyTorchPickler()
        p.bytes = [0x80, 0x02]
        p.global(PickleGlobal(module: "collections", name: "OrderedDict"))
        p.bytes.append(0x29)  // EMPTY_TUPLE
        p.bytes.append(0x52)  // REDUCE
        p.put()
        var start = 0
        while start < entries.count {
            let batch = entries[start..<min(start + 1000, entries.count)]
            if batch.count > 1 { p.bytes.append(0x28) }  // MARK
            for e in batch { p.tensorItem(e) }
            p.bytes.append(batch.count > 1 ? 0x75 : 0x73)  // SETITEMS / SETITEM
            start += batch.count
        }
        p.bytes.append(0x2E)  // STOP
        return p.bytes
    }

    private mutating func tensorItem(_ e: Entry) {
        newString(e.name)
        global(PickleGlobal(module: "torch._utils", name: e.v3DType == nil ? "_rebuild_tensor_v2" : "_rebuild_tensor_v3"))
        bytes.append(0x28)  // MARK (arguments)
        bytes.append(0x28)  // MARK (persistent id)
        sharedString("storage", tag: "s:storage")
        global(e.storageClass)
        sharedString(e.storageKey, tag: "k:" + e.storageKey)
        sharedString("cpu", tag: "s:cpu")
        int(e.storageNumel)
        bytes.append(0x74)  // TUPLE
        put()
        bytes.append(0x51)  // BINPERSID
        int(e.storageOffset)
        intTuple(e.shape)
        intTuple(e.strides)
        bytes.append(0x89)  // NEWFALSE (requires_grad)
        global(PickleGlobal(module: "collections", name: "OrderedDict"))
        bytes.append(0x29)
        bytes.append(0x52)
        put()  // backward_hooks = OrderedDict()
        if let dtype = e.v3DType { global(dtype) }
        bytes.append(0x74)  // TUPLE
        put()
        bytes.append(0x52)  // REDUCE
        put()
    }

    private mutating func put() {
        if memoCount < 256 {
            bytes += [0x71, UInt8(memoCount)]
        } else {
            bytes.append(0x72)
            le32(UInt32(truncatingIfNeeded: memoCount))
        }
        memoCount += 1
    }

    private mutating func get(_ index: Int) {
        if index < 256 {
            bytes += [0x68, UInt8(index)]
        } else {
            bytes.append(0x6A)
            le32(UInt32(truncatingIfNeeded: index))
        }
    }

    private mutating func le32(_ v: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    private mutating func global(_ g: PickleGlobal) {
        let tag = "g:" + g.description
        if let i = memo[tag] { get(i); return }
        bytes.append(0x63)
        bytes += Array(g.module.utf8) + [0x0A] + Array(g.name.utf8) + [0x0A]
        memo[tag] = memoCount
        put()
    }

    private mutating func newString(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes.append(0x58)
        le32(UInt32(utf8.count))
        bytes += utf8
        put()
    }

    /// A string that is one Python object wherever it appears (BINGET after the first time).
    private mutating func sharedString(_ s: String, tag: String) {
        if let i = memo[tag] { get(i); return }
        let index = memoCount
        newString(s)
        memo[tag] = index
    }

    /// CPython `save_long` for protocol 2.
    private mutating func int(_ v: Int) {
        if v >= 0, v <= 0xFF {
            bytes += [0x4B, UInt8(v)]
        } else if v >= 0, v <= 0xFFFF {
            bytes += [0x4D, UInt8(v & 0xFF), UInt8(v >> 8)]
        } else if v >= -0x8000_0000, v <= 0x7FFF_FFFF {
            bytes.append(0x4A)
            le32(UInt32(bitPattern: Int32(v)))
        } else {
            // encode_long: (bit_length >> 3) + 1 bytes of little-endian two's complement.
            let bitLength = UInt.bitWidth - v.magnitude.leadingZeroBitCount
            var n = (bitLength >> 3) + 1
            var encoded = (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * min($0, 7))) }
            if v < 0, n > 1, encoded[n - 1] == 0xFF, encoded[n - 2] & 0x80 != 0 {
                encoded.removeLast()
                n -= 1
            }
            bytes += [0x8A, UInt8(n)] + encoded
        }
    }

    private mutating func intTuple(_ values: [Int]) {
        switch values.count {
        case 0:
            bytes.append(0x29)
            return
        case 1...3:
            for v in values { int(v) }
            bytes.append([0x85, 0x86, 0x87][values.count - 1])
        default:
            bytes.append(0x28)
            for v in values { int(v) }
            bytes.append(0x74)
        }
        put()
    }
}
