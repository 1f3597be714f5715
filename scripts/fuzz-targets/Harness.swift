// libFuzzer entry point for one reader, chosen at compile time with -D FUZZ_<TARGET> (see scripts/fuzz).
// Every input must end in a value or a FormatError: a crash, trap, leak, timeout or OOM is a finding.
import CZlib
import LSTMSchema
import TensorFormats

/// Values of a tensor as a consumer reads them: made (deferred bytes: inflated, dequantized, computed)
/// under the budget first, so a refusal or a corrupt stream is an error, never a trap.
func values(_ t: Tensor) -> [Float]? { try? t.loaded().floats() }

/// The memory budget of every input (well under libFuzzer's RSS limit).
let budget = MemoryBudget(limit: 64 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func lstmkitFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    MemoryBudget.$current.withValue(budget) { fuzzOne(data, size) }
}

func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = MappedFile(copying: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz-input")
    var limits = Limits.default
    limits.memory = budget
    limits.protobufBytes = 64 << 20
    #if FUZZ_ZIP
    if let archive = try? ZipArchive(file: file, limits: limits) {
        for entry in archive.entries { _ = try? archive.data(of: entry) }
    }
    // Differential check of the CRC-32 that verifies every member (carry-less folding on x86-64)
    // against zlib's, over the whole input and a split at an input-chosen point.
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let zlibCRC = UInt32(truncatingIfNeeded: crc32(0, data, UInt32(truncatingIfNeeded: size)))
    let split = size == 0 ? 0 : Int(data[0]) % (size + 1)
    let joined = Zlib.crc32(UnsafeRawBufferPointer(rebasing: bytes[split...]),
                            initial: Zlib.crc32(UnsafeRawBufferPointer(rebasing: bytes[..<split])))
    if Zlib.crc32(bytes) != zlibCRC || joined != zlibCRC { fatalError("CRC-32 differs from zlib's") }
    #elseif FUZZ_NPY
    _ = try? NpyReader.read(file: file, limits: limits).tensors.map { values($0.tensor) }
    #elseif FUZZ_NPZ
    limits.tensorChecksumsInBackground = size % 2 == 1
    if let read = try? NpzReader.read(file: file, limits: limits) {
        // Deferred members both ways: streamed as a writer copies them, and made for their values.
        for t in read.tensors { try? t.tensor.storage.stream(0..<t.tensor.storage.count) { _ in } }
        _ = read.tensors.map { values($0.tensor) }
        _ = try? read.finishChecksums()
    }
    #elseif FUZZ_PICKLE
    let machine = PickleMachine(limits: limits)
    _ = try? machine.load(UnsafeRawBufferPointer(start: data, count: size))
    #elseif FUZZ_PYTORCH
    // Odd-sized inputs check tensor CRCs on the background queue, as `convert` does.
    limits.tensorChecksumsInBackground = size % 2 == 1
    if let read = try? PyTorchReader.read(file: file, limits: limits) {
        _ = read.tensors.map { values($0.tensor) }
        _ = try? read.finishChecksums()
    }
    #elseif FUZZ_LEGACY
    _ = try? PyTorchLegacyReader.read(file: file, limits: limits).tensors.map { values($0.tensor) }
    #elseif FUZZ_ONNX
    if let model = try? ONNXModelFile.read(file: file, limits: limits) {
        _ = try? ONNXLSTMMapping.modules(in: model)
    }
    #elseif FUZZ_GRAPH
    // The subgraph walk and the constant evaluator near their caps: every path must end in
    // candidates or a FormatError.
    limits.onnxConstantNodes = 2_000
    limits.onnxConstantElements = 1 << 16
    limits.onnxConstantDepth = 64
    limits.onnxGraphDepth = 6
    if let model = try? ONNXModelFile.read(file: file, limits: limits),
       let found = try? ONNXLSTMMapping.candidates(in: model, limits: limits) {
        for case .valid(let m) in found { _ = m.module.canonicalTensors().map { values($0.tensor) } }
    }
    #elseif FUZZ_SAFETENSORS
    _ = try? SafetensorsReader.read(file: file, limits: limits).tensors.map { values($0.tensor) }
    #elseif FUZZ_HDF5
    // The HDF5 format's read (legacy Keras model_config included), the Keras module sources, and
    // the Keras writer's mapping and HDF5 layout of whatever modules they find.
    if let tensors = try? FileFormatDescriptor.hdf5.read(file, nil, limits) {
        _ = tensors.tensors.map { values($0.tensor) }
        if let model = try? LSTMSchemaLoader.load(file: tensors, limits: limits) {
            for module in model.modules {
                _ = module.canonicalTensors(prefix: "").map { values($0.tensor) }
                if let keras = try? KerasGraphWriter.model(for: module) { _ = try? HDF5Writer.pieces(keras.weights()) }
            }
        }
    }
    #elseif FUZZ_SCHEMA
    if let tensors = try? TensorFileIO.read(file: file, limits: limits),
       let model = try? LSTMSchemaLoader.load(file: tensors, limits: limits) {
        for found in model.discovered { _ = found.problems.map(\.description) }
        for module in model.modules { _ = module.canonicalTensors(prefix: "").map { values($0.tensor) } }
    }
    #else
    #error("compile with -D FUZZ_<TARGET>")
    #endif
    return 0
}
