/// torch's `.data/serialization_id` record (`PyTorchStreamWriter::writeSerializationId`), so that a
/// written archive can equal `torch.save`'s byte for byte:
///
///     %020llu(combined name hash) %020llu(combined CRC)
///
/// - combined name hash: `hash_combine` over the record names (without the archive folder) in the
///   iteration order of the `std::unordered_set<std::string>` they were inserted into, each hashed
///   with libstdc++'s `std::hash<std::string>` (`_Hash_bytes`, seed 0xc70f6907);
/// - combined CRC: `hash_combine` over every 32-bit value that follows a `PK\7\8` signature at the
///   start of a write: each data descriptor's CRC-32 (records of size > 0) and, as miniz hands a
///   record's data to the writer in one call, a record whose data itself starts with `PK\7\8`.
///
/// `hash_combine(seed, v) = seed ^ (v + 0x9e3779b9 + (seed << 6) + (seed >> 2))` (c10/util/hash.h).
/// Checked against torch 2.15 archives of 0 to 300 storages.
struct PyTorchSerializationID {
    private var names = LibstdcxxStringSet()
    private var combinedCRC: UInt64 = 0

    /// Notes a record of `size` bytes whose data starts with `head` (its first 8 bytes, or all of
    /// them when shorter) and whose CRC-32 is `crc`.
    mutating func add(record name: String, data head: UnsafeRawBufferPointer, crc: UInt32, size: Int) {
        names.insert(name)
        if size >= 8, head.count >= 8, head.loadUnaligned(as: UInt32.self).littleEndian == 0x0807_4B50 {
            combinedCRC = Self.combine(combinedCRC, UInt64(head.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian))
        }
        if size > 0 { combinedCRC = Self.combine(combinedCRC, UInt64(crc)) }
    }

    /// The 40 ASCII digits of the record.
    var value: String {
        var nameHash: UInt64 = 0
        for name in names.iterationOrder { nameHash = Self.combine(nameHash, Self.hashBytes(Array(name.utf8))) }
        return Self.padded(nameHash) + Self.padded(combinedCRC)
    }

    private static func padded(_ v: UInt64) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, 20 - s.count)) + s
    }

    static func combine(_ seed: UInt64, _ v: UInt64) -> UInt64 {
        seed ^ (v &+ 0x9E37_79B9 &+ (seed << 6) &+ (seed >> 2))
    }

    /// libstdc++'s `std::_Hash_bytes` for 64-bit `size_t` (a MurmurHash2 variant).
    static func hashBytes(_ b: [UInt8], seed: UInt64 = 0xC70F_6907) -> UInt64 {
        let mul: UInt64 = (0xC6A4_A793 << 32) &+ 0x5BD1_E995
        func shiftMix(_ v: UInt64) -> UInt64 { v ^ (v >> 47) }
        func load(_ from: Int, _ count: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in stride(from: count - 1, through: 0, by: -1) { v = v << 8 | UInt64(b[from + i]) }
            return v
        }
        let aligned = b.count & ~7
        var hash = seed ^ (UInt64(b.count) &* mul)
        var p = 0
        while p < aligned {
            let data = shiftMix(load(p, 8) &* mul) &* mul
            hash ^= data
            hash = hash &* mul
            p += 8
        }
        if b.count & 7 != 0 {
            hash ^= load(aligned, b.count & 7)
            hash = hash &* mul
        }
        hash = shiftMix(hash) &* mul
        return shiftMix(hash)
    }
}

/// The iteration order of a libstdc++ `std::unordered_set<std::string>` built by inserting unique
/// names one by one: a singly linked list where a node goes first in its bucket, or first in the
/// list when its bucket is empty; rehashing (`_Prime_rehash_policy`, max load 1.0, 11 buckets
/// hinted on first insert, growth ×2 to the next listed prime) relinks nodes in list order.
struct LibstdcxxStringSet {
    private struct Node {
        let name: String
        let code: UInt64
        var next: Int?
    }

    /// A bucket holds the node *before* its first node; `beforeBegin` is the list head.
    private enum Before: Equatable {
        case beforeBegin
        case node(Int)
    }

    private var nodes: [Node] = []
    private var head: Int?
    private var buckets: [Before?] = [nil]
    private var nextResize = 0

    mutating func insert(_ name: String) {
        let code = PyTorchSerializationID.hashBytes(Array(name.utf8))
        if let count = rehashTarget() { rehash(count) }
        let bucket = Int(code % UInt64(buckets.count))
        let index = nodes.count
        nodes.append(Node(name: name, code: code, next: nil))
        if let before = buckets[bucket] {
            nodes[index].next = next(of: before)
            setNext(of: before, to: index)
        } else {
            nodes[index].next = head
            head = index
            if let following = nodes[index].next {
                buckets[Int(nodes[following].code % UInt64(buckets.count))] = .node(index)
            }
            buckets[bucket] = .beforeBegin
        }
    }

    var iterationOrder: [String] {
        var out: [String] = []
        var p = head
        while let i = p {
            out.append(nodes[i].name)
            p = nodes[i].next
        }
        return out
    }

    private func next(of before: Before) -> Int? {
        switch before {
        case .beforeBegin: head
        case .node(let i): nodes[i].next
        }
    }

    private mutating func setNext(of before: Before, to index: Int?) {
        switch before {
        case .beforeBegin: head = index
        case .node(let i): nodes[i].next = index
        }
    }

    /// `_Prime_rehash_policy::_M_need_rehash` for one insertion.
    private mutating func rehashTarget() -> Int? {
        let elements = nodes.count
        guard elements + 1 > nextResize else { return nil }
        let minBuckets = max(elements + 1, nextResize == 0 ? 11 : 0)
        if minBuckets >= buckets.count {
            return nextBucketCount(max(minBuckets + 1, buckets.count * 2))
        }
        nextResize = buckets.count
        return nil
    }

    /// `_Prime_rehash_policy::_M_next_bkt`.
    private mutating func nextBucketCount(_ n: Int) -> Int {
        let fast = [2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13]
        if n < fast.count {
            if n == 0 { return 1 }
            nextResize = fast[n]
            return fast[n]
        }
        var lo = 6, hi = Self.primes.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if Self.primes[mid] < UInt64(n) { lo = mid + 1 } else { hi = mid }
        }
        let prime = Self.primes[lo]
        nextResize = lo == Self.primes.count - 1 ? Int.max : Int(clamping: prime)
        return Int(clamping: prime)
    }

    /// `_M_rehash_aux` for unique keys.
    private mutating func rehash(_ count: Int) {
        var newBuckets = [Before?](repeating: nil, count: count)
        var p = head
        head = nil
        var beginBucket = 0
        while let i = p {
            let following = nodes[i].next
            let bucket = Int(nodes[i].code % UInt64(count))
            if let before = newBuckets[bucket] {
                switch before {
                case .beforeBegin:
                    nodes[i].next = head
                    head = i
                case .node(let b):
                    nodes[i].next = nodes[b].next
                    nodes[b].next = i
                }
            } else {
                nodes[i].next = head
                head = i
                newBuckets[bucket] = .beforeBegin
                if nodes[i].next != nil { newBuckets[beginBucket] = .node(i) }
                beginBucket = bucket
            }
            p = following
        }
        buckets = newBuckets
    }

    /// libstdc++'s `__prime_list` (64-bit), read from libstdc++.so.6.
    private static let primes: [UInt64] = [
        2, 3, 5, 7, 11, 13, 17, 19,
        23, 29, 31, 37, 41, 43, 47, 53,
        59, 61, 67, 71, 73, 79, 83, 89,
        97, 103, 109, 113, 127, 137, 139, 149,
        157, 167, 179, 193, 199, 211, 227, 241,
        257, 277, 293, 313, 337, 359, 383, 409,
        439, 467, 503, 541, 577, 619, 661, 709,
        761, 823, 887, 953, 1031, 1109, 1193, 1289,
        1381, 1493, 1613, 1741, 1879, 2029, 2179, 2357,
        2549, 2753, 2971, 3209, 3469, 3739, 4027, 4349,
        4703, 5087, 5503, 5953, 6427, 6949, 7517, 8123,
        8783, 9497, 10273, 11113, 12011, 12983, 14033, 15173,
        16411, 17749, 19183, 20753, 22447, 24281, 26267, 28411,
        30727, 33223, 35933, 38873, 42043, 45481, 49201, 53201,
        57557, 62233, 67307, 72817, 78779, 85229, 92203, 99733,
        107897, 116731, 126271, 136607, 147793, 159871, 172933, 187091,
        202409, 218971, 236897, 256279, 277261, 299951, 324503, 351061,
        379787, 410857, 444487, 480881, 520241, 562841, 608903, 658753,
        712697, 771049, 834181, 902483, 976369, 1056323, 1142821, 1236397,
        1337629, 1447153, 1565659, 1693859, 1832561, 1982627, 2144977, 2320627,
        2510653, 2716249, 2938679, 3179303, 3439651, 3721303, 4026031, 4355707,
        4712381, 5098259, 5515729, 5967347, 6456007, 6984629, 7556579, 8175383,
        8844859, 9569143, 10352717, 11200489, 12117689, 13109983, 14183539, 15345007,
        16601593, 17961079, 19431899, 21023161, 22744717, 24607243, 26622317, 28802401,
        31160981, 33712729, 36473443, 39460231, 42691603, 46187573, 49969847, 54061849,
        58488943, 63278561, 68460391, 74066549, 80131819, 86693767, 93793069, 101473717,
        109783337, 118773397, 128499677, 139022417, 150406843, 162723577, 176048909, 190465427,
        206062531, 222936881, 241193053, 260944219, 282312799, 305431229, 330442829, 357502601,
        386778277, 418451333, 452718089, 489790921, 529899637, 573292817, 620239453, 671030513,
        725980837, 785430967, 849749479, 919334987, 994618837, 1076067617, 1164186217, 1259520799,
        1362662261, 1474249943, 1594975441, 1725587117, 1866894511, 2019773507, 2185171673, 2364114217,
        2557710269, 2767159799, 2993761039, 3238918481, 3504151727, 3791104843, 4101556399, 4294967291,
        6442450933, 8589934583, 12884901857, 17179869143, 25769803693, 34359738337, 51539607367, 68719476731,
        103079215087, 137438953447, 206158430123, 274877906899, 412316860387, 549755813881, 824633720731, 1099511627689,
        1649267441579, 2199023255531, 3298534883309, 4398046511093, 6597069766607, 8796093022151, 13194139533241, 17592186044399,
        26388279066581, 35184372088777, 52776558133177, 70368744177643, 105553116266399, 140737488355213, 211106232532861, 281474976710597,
        562949953421231, 1125899906842597, 2251799813685119, 4503599627370449, 9007199254740881, 18014398509481951, 36028797018963913, 72057594037927931,
        144115188075855859, 288230376151711717, 576460752303423433, 1152921504606846883, 2305843009213693951, 4611686018427387847, 9223372036854775783, 18446744073709551557,
    ]
}
