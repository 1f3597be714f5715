import Foundation
import Testing
@testable import TensorFormats

/// DEFLATED npz members: only the npy header is inflated on open; the array is deferred storage,
/// made under the memory budget (``Tensor/loaded()``) or streamed into a writer, with its declared
/// size and CRC checked each time.
@Suite struct DeflatedNpzTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    static func open(_ relative: String, limits: Limits = .default) throws(FormatError) -> TensorFile {
        try NpzReader.read(file: MappedFile(path: fixtures + "/" + relative), limits: limits)
    }

    @Test func openingInflatesHeadersOnlyAndHoldsNothing() throws {
        let budget = MemoryBudget(limit: 0)
        var limits = Limits.default
        limits.memory = budget
        let file = try Self.open("compressed/lstm_2gib_zeros.npz", limits: limits)
        let w = try #require(file["weight_ih_l0"])
        #expect(w.shape == [16384, 32768] && w.dtype == .float32 && w.isDeferred)
        #expect(w.storage.count == 2 << 30)
        #expect(budget.heldBytes == 0)
        let e = try #require(formatError { _ = try w.loaded() })
        #expect(e.reason == .limitExceeded && e.entry == "weight_ih_l0.npy" && e.file.hasSuffix("lstm_2gib_zeros.npz"))
        #expect(e.message.contains("needs 2.0 GiB, over the memory budget of 0 bytes"), "\(e.message)")
    }

    @Test func loadedBytesEqualTheStoredFilesAndLiveWithTheResult() throws {
        let stored = try NpzReader.read(file: MappedFile(path: Self.fixtures + "/npz/lstm_l2_bi.npz"))
        let budget = MemoryBudget(limit: 1 << 20)
        var limits = Limits.default
        limits.memory = budget
        let deflated = try Self.open("npz/lstm_l2_bi_compressed.npz", limits: limits)
        #expect(deflated.tensors.map(\.name) == stored.tensors.map(\.name))
        try MemoryBudget.$current.withValue(budget) {
            for (a, b) in zip(deflated.tensors, stored.tensors) {
                #expect(a.tensor.isDeferred)
                var made: Tensor? = try a.tensor.loaded()
                #expect(!made!.isDeferred && budget.heldBytes == a.tensor.byteCount)
                #expect(made!.doubles() == b.tensor.doubles(), "\(a.name)")
                made = nil
                #expect(budget.heldBytes == 0)
            }
        }
    }

    @Test func streamingInPiecesGivesTheSameBytesAndChecksTheCRC() throws {
        let file = try Self.open("npz/lstm_l2_bi_compressed.npz")
        let t = try #require(file["weight_ih_l1"])
        var streamed: [UInt8] = []
        try t.storage.stream(8..<100) { streamed += $0 }
        let whole = try t.loaded()
        #expect(streamed == Array(whole.storage.bytes[8..<100]))
        let bad = try Self.open("malformed/npz_deflated_checksum_off.npz", limits: Limits.default.metadataOnly)
        let w = try #require(bad["weight_hh_l0"])
        let e = try #require(formatError { try w.storage.stream(0..<w.storage.count) { _ in } })
        #expect(e.reason == .corrupt && e.message.contains("CRC-32 mismatch") && e.entry == "weight_hh_l0.npy")
    }

    @Test(arguments: [("compressed/lstm_size_lie_larger.npz", "ends after"), ("compressed/lstm_size_lie_smaller.npz", "more than the")])
    func declaredSizesThatLieAreFoundWhenTheDataIsMade(_ fixture: String, _ fragment: String) throws {
        let file = try Self.open(fixture)
        let w = try #require(file["weight_hh_l0"])
        #expect(w.shape == [256, 64])
        let e = try #require(formatError { _ = try w.loaded() })
        #expect(e.message.contains(fragment) && e.entry == "weight_hh_l0.npy", "\(e)")
        let f = try #require(formatError { try w.storage.stream(0..<w.storage.count) { _ in } })
        #expect(f.message.contains(fragment), "\(f)")
    }

    @Test func aWriterCopiesDeferredArraysWithoutMakingThem() throws {
        let budget = MemoryBudget(limit: 0)
        var limits = Limits.default
        limits.memory = budget
        let file = try Self.open("npz/lstm_l2_bi_compressed.npz", limits: limits)
        let path = Scratch.file("copy.npz")
        for compress in [false, true] {
            let out = try OutputFile(path: path, overwrite: true)
            try MemoryBudget.$current.withValue(budget) {
                try NpzWriter.write(file.tensors, to: out, compress: compress)
            }
            try out.commit()
            let back = try NpzReader.read(file: MappedFile(path: path))
            let stored = try NpzReader.read(file: MappedFile(path: Self.fixtures + "/npz/lstm_l2_bi.npz"))
            for (a, b) in zip(back.tensors, stored.tensors) {
                #expect(try a.tensor.loaded().doubles() == b.tensor.doubles(), "\(a.name) compress \(compress)")
            }
        }
    }
}

@Suite struct MemoryBudgetTests {
    @Test func reservationsAreHeldWhileTheyLive() throws {
        let budget = MemoryBudget(limit: 1000)
        var a: MemoryReservation? = try budget.reserve(600, for: "a")
        #expect(budget.heldBytes == 600)
        let e = try #require(formatError { _ = try budget.reserve(500, for: "the second") })
        #expect(e.reason == .limitExceeded)
        #expect(e.message == "the second needs 500 bytes, over the memory budget of 1000 bytes (600 bytes already in use; --max-bytes raises it)")
        withExtendedLifetime(a) {}
        a = nil
        #expect(budget.heldBytes == 0)
        let b = try budget.allocate(1000, for: "b")
        #expect(b.buffer.count == 1000 && budget.heldBytes == 1000)
    }

    @Test func sizesThatOverflowAreRefused() throws {
        let budget = MemoryBudget(limit: Int.max)
        let held = try budget.reserve(Int.max - 10, for: "x")
        #expect(formatError { _ = try budget.reserve(Int.max, for: "y") }?.reason == .limitExceeded)
        withExtendedLifetime(held) {}
    }

    @Test func copiesAndCastsAreAdmittedByTheCurrentBudget() throws {
        let rowMajor = try Tensor(float32: [Float](repeating: 1, count: 6), shape: [6])
        let t = try Tensor(dtype: .float32, shape: [3, 2], strides: [1, 3], storage: rowMajor.storage)
        let (copy, cast) = MemoryBudget.$current.withValue(MemoryBudget(limit: 8)) {
            (formatError { _ = try t.contiguous() }, formatError { _ = try t.converted(to: .float64) })
        }
        #expect(copy?.message.contains("over the memory budget of 8 bytes") == true, "\(String(describing: copy))")
        #expect(cast?.reason == .limitExceeded)
        let half = try MemoryBudget.$current.withValue(MemoryBudget(limit: 12)) { () throws -> Tensor in try t.converted(to: .float16) }
        #expect(half.floats() == [Float](repeating: 1, count: 6))
    }

    @Test func shownSizes() {
        #expect(MemoryBudget.shown(1023) == "1023 bytes")
        #expect(MemoryBudget.shown(1536) == "1.5 KiB")
        #expect(MemoryBudget.shown(2 << 30) == "2.0 GiB")
    }
}

@Suite struct StridedValueTests {
    /// Fortran order, big-endian and transposed views read the same values as their row-major copies.
    @Test func anyLayoutDecodesInRunsWithoutACopy() throws {
        let n = 70_000  // more than one 64Ki-element run
        let values = (0..<n).map { Float($0) }
        let storage = try values.withUnsafeBytes { try TensorStorage(copying: $0) }
        let transposed = try Tensor(dtype: .float32, shape: [700, 100], strides: [1, 700], storage: storage)
        let expected = (0..<n).map { i in Double(values[(i % 100) * 700 + i / 100]) }
        #expect(transposed.doubles() == expected)
        #expect(transposed.doubles(elements: 65_530..<65_540) == Array(expected[65_530..<65_540]))
        #expect(try transposed.contiguous().doubles() == expected)
        #expect(try transposed.converted(to: .float64).doubles() == expected)
        let big = try TensorStorage(bytes: [0x3F, 0x80, 0, 0, 0x40, 0, 0, 0])
        let b = try Tensor(dtype: .float32, shape: [2], byteOrder: .big, storage: big)
        #expect(b.floats() == [1, 2] && b.doubles(elements: 1..<2) == [2])
        #expect(try b.converted(to: .bfloat16).floats() == [1, 2])
    }
}
