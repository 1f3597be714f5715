import Foundation
import Testing
@testable import TensorFormats

/// The reader against small files written by real torch 2.15 (`Fixtures/pytorch-unit/`); each
/// expected tensor (name, dtype, shape, values) is what torch itself loads from the same file.
@Suite struct PyTorchReaderTests {
    @Test(arguments: ["views", "protocol4", "big_endian", "legacy", "legacy_whole_model", "checkpoint", "whole_model", "dataparallel"])
    func tensorsMatchWhatTorchLoads(_ name: String) throws {
        let file = try PyTorchUnitFixture.read(name)
        let expected = try PyTorchUnitFixture.expected(name)
        #expect(file.tensors.map(\.name) == expected.tensors.map(\.name))
        for e in expected.tensors {
            expectTensor(file[e.name], equals: e)
        }
    }

    @Test func sharedStoragesAndViewsAreZeroCopy() throws {
        let file = try PyTorchUnitFixture.read("views")
        #expect(file.format == .pytorch)
        let w = try #require(file["w"]), wt = try #require(file["wt"]), row = try #require(file["row"])
        #expect(w.storage.isMapped)
        #expect(w.storage === wt.storage && w.storage === row.storage)
        #expect(wt.strides == [1, 3] && !wt.isContiguous)
        #expect(row.byteOffset == 12)
        let everyOther = try #require(file["every_other"])
        #expect(everyOther.strides == [2])
        let tail = try #require(file["tail"])
        #expect(tail.byteOffset == 32 && tail.storage === everyOther.storage)
        #expect(try #require(file["step"]).shape == [])
        #expect(try #require(file["empty"]).shape == [0, 3])
        #expect(try #require(file["u16"]).dtype == .uint16)
    }

    @Test func bigEndianRecordsAreSwappedOnRead() throws {
        let file = try PyTorchUnitFixture.read("big_endian")
        for t in file.tensors {
            #expect(t.tensor.byteOrder == .big, "\(t.name)")
        }
        #expect(try #require(file["w"]).floats() == [1.0, -2.5, 3.25])
    }

    @Test func legacyStreamSharesOneStorage() throws {
        let file = try PyTorchUnitFixture.read("legacy")
        #expect(file.format == .pytorchLegacy)
        let w = try #require(file["w"]), wt = try #require(file["wt"])
        #expect(w.storage === wt.storage)
        #expect(wt.floats() == [1, 4, 2, 5, 3, 6])
    }

    @Test func checkpointLeavesBecomeMetadata() throws {
        let file = try PyTorchUnitFixture.read("checkpoint")
        let expected = try PyTorchUnitFixture.expected("checkpoint")
        let metadata = Dictionary(file.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        for (key, value) in expected.metadata ?? [:] {
            #expect(metadata[key] == value, "metadata '\(key)'")
        }
        #expect(file["optimizer_state_dict.state.0.exp_avg"] != nil)
        #expect(metadata["optimizer_state_dict.param_groups.0.params"] == "[0, 1, 2, 3, 4, 5]")
    }

    @Test func wholeModelPickleGivesStateDictNames() throws {
        let file = try PyTorchUnitFixture.read("whole_model")
        let names = file.tensors.map(\.name)
        #expect(names.contains("rnn.0.rnn.weight_ih_l0_reverse"))
        #expect(!names.contains("scratch"))        // non-persistent buffer
        #expect(!names.contains("head.bias"))      // Linear(bias=False): None parameter
        #expect(file.notes.contains { $0.contains("__main__.TinyNet") })
        let dp = try PyTorchUnitFixture.read("dataparallel")
        #expect(dp.tensors.first?.name == "module.weight_ih_l0")
    }

    @Test func torchScriptWeightsComeFromTheModuleTree() throws {
        let file = try PyTorchUnitFixture.read("torchscript")
        #expect(file.format == .torchscript)
        let expected = try PyTorchUnitFixture.expected("torchscript")
        for e in expected.tensors {
            expectTensor(file[e.name], equals: e)
        }
        // `_flat_weights` (a list of the same tensors) adds no names.
        #expect(file.tensors.count == expected.tensors.count)

        let frozen = try PyTorchUnitFixture.read("torchscript_frozen")
        #expect(frozen.format == .torchscript)
        for e in try PyTorchUnitFixture.expected("torchscript_frozen").tensors {
            expectTensor(frozen[e.name], equals: e)
        }
    }

    @Test func shortStorageRecordIsNamed() {
        let path = PyTorchUnitFixture.path("short_storage")
        do {
            _ = try PyTorchReader.read(file: MappedFile(path: path))
            Issue.record("no error")
        } catch {
            #expect(error.reason == .corrupt)
            #expect(error.file == path)
            #expect(error.entry == "short_storage/data/0")
            #expect(error.message.contains("20 bytes") && error.message.contains("6 elements of float32 (24 bytes)"))
        }
    }

    @Test func storageOffsetPastTheEndIsNamed() {
        do {
            _ = try PyTorchReader.read(file: MappedFile(path: PyTorchUnitFixture.path("offset_past_end")))
            Issue.record("no error")
        } catch {
            #expect(error.reason == .corrupt)
            #expect(error.entry == "offset_past_end/data/0")
            #expect(error.message.contains("tensor 'w'") && error.message.contains("offset 5"))
        }
    }

    @Test func hostileReduceIsRefusedAndNothingRuns() throws {
        let marker = "/tmp/lstmkit-pwned-pytorch-unit"
        try? FileManager.default.removeItem(atPath: marker)
        do {
            _ = try PyTorchReader.read(file: MappedFile(path: PyTorchUnitFixture.path("hostile_reduce")))
            Issue.record("no error")
        } catch {
            #expect(error.reason == .hostile)
            #expect(error.entry == "hostile_reduce/data.pkl")
            #expect(error.message.contains("posix.system"))
            #expect(error.offset != nil)
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}
