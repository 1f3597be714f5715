// libFuzzer entry point for one reader, chosen at compile time with -D FUZZ_<TARGET> (see scripts/fuzz).
// Every input must end in a value or a FormatError: a crash, trap, leak, timeout or OOM is a finding.
import LSTMSchema
import TensorFormats

@_cdecl("LLVMFuzzerTestOneInput")
public func lstmkitFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = MappedFile(copying: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz-input")
    var limits = Limits.default
    limits.maxInflatedBytes = 64 << 20
    limits.protobufBytes = 64 << 20
    #if FUZZ_ZIP
    if let archive = try? ZipArchive(file: file, limits: limits) {
        for entry in archive.entries { _ = try? archive.data(of: entry) }
    }
    #elseif FUZZ_NPY
    _ = try? NpyReader.read(file: file, limits: limits).tensors.map { $0.tensor.floats() }
    #elseif FUZZ_NPZ
    _ = try? NpzReader.read(file: file, limits: limits).tensors.map { $0.tensor.floats() }
    #elseif FUZZ_PICKLE
    let machine = PickleMachine(limits: limits)
    _ = try? machine.load(UnsafeRawBufferPointer(start: data, count: size))
    #elseif FUZZ_PYTORCH
    _ = try? PyTorchReader.read(file: file, limits: limits).tensors.map { $0.tensor.floats() }
    #elseif FUZZ_LEGACY
    _ = try? PyTorchLegacyReader.read(file: file, limits: limits).tensors.map { $0.tensor.floats() }
    #elseif FUZZ_ONNX
    if let model = try? ONNXModelFile.read(file: file, limits: limits) {
        _ = try? ONNXLSTMMapping.modules(in: model)
    }
    #elseif FUZZ_SAFETENSORS
    _ = try? SafetensorsReader.read(file: file, limits: limits).tensors.map { $0.tensor.floats() }
    #elseif FUZZ_SCHEMA
    if let tensors = try? TensorFileIO.read(file: file, limits: limits),
       let model = try? LSTMSchemaLoader.load(file: tensors, limits: limits) {
        for found in model.discovered { _ = found.problems.map(\.description) }
        for module in model.modules { _ = module.canonicalTensors(prefix: "").map { $0.tensor.floats() } }
    }
    #else
    #error("compile with -D FUZZ_<TARGET>")
    #endif
    return 0
}
