#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorFormats

/// The tensors a conversion writes, decided before anything is written.
struct ConversionPlan {
    /// The tensors for a tensor-map target, each cast lazily when the writer reaches it.
    var entries: [SafetensorsWriter.Entry] = []
    var metadata: [(key: String, value: String)] = []
    var notes: [String] = []
    /// The module extracted, if one was.
    var moduleName: String?
    /// The module for an ONNX target (already cast).
    var onnxModule: LSTMModule?

    var expectedBytes: Int {
        entries.reduce(0) { total, e in
            total &+ (Checked.product(e.shape).flatMap { Checked.mul($0, e.dtype.itemSize) } ?? 0)
        }
    }

    /// One LSTM module candidate of the input.
    struct Candidate {
        var name: String
        /// Set when the module matches the schema.
        var module: LSTMModule?
        /// Problems, one sentence each (empty when `module` is set).
        var problems: [String]
        /// Names of the input tensors the module was built from (ONNX: its initializers).
        var sourceTensors: [String]
    }

    static func make(file: TensorFile, request: ConversionRequest, format: OutputFormat) throws(ConversionError) -> ConversionPlan {
        var plan = ConversionPlan()
        plan.metadata = file.metadata
        let candidates: [Candidate]
        do {
            candidates = try discover(file)
        } catch {
            throw ConversionError(error.inFile(file.path))
        }
        let source = file.path

        if format == .onnx || request.module != nil {
            let candidate = try pick(candidates, name: request.module, file: source, target: format)
            guard let module = candidate.module else { throw schemaError(candidate, file: source) }
            plan.moduleName = candidate.name
            if format == .onnx {
                let cast = request.dtype.map { module.converted(to: $0) } ?? module
                plan.onnxModule = cast
                plan.entries = cast.canonicalTensors().map(SafetensorsWriter.Entry.init)
                let others = file.tensors.count - candidate.sourceTensors.count
                if request.module == nil, others > 0 {
                    plan.notes.append("\(others) tensor\(others == 1 ? "" : "s") outside LSTM \(display(candidate.name)) not written: an ONNX LSTM graph holds one module")
                }
                if !file.metadata.isEmpty {
                    plan.notes.append("\(file.metadata.count) metadata entr\(file.metadata.count == 1 ? "y" : "ies") not written to the ONNX graph")
                }
                return plan
            }
            try refuseONNXOnlyFeatures(module, file: source, target: format)
            plan.entries = module.canonicalTensors().map { entry($0, dtype: request.dtype) }
            return plan
        }

        if file.format == .onnx {
            // Modules become canonical tensors; other initializers keep their names.
            let modules = candidates.compactMap(\.module)
            if let broken = candidates.first(where: { $0.module == nil }) { throw schemaError(broken, file: source) }
            var consumed: Set<String> = []
            var out: [NamedTensor] = []
            for c in candidates {
                guard let module = c.module else { continue }
                try refuseONNXOnlyFeatures(module, file: source, target: format)
                consumed.formUnion(c.sourceTensors)
                out += module.canonicalTensors(prefix: modules.count == 1 ? "" : c.name + ".")
            }
            out += file.tensors.filter { !consumed.contains($0.name) }
            try refuseDuplicateNames(out, file: source)
            plan.entries = out.map { entry($0, dtype: request.dtype) }
            return plan
        }

        plan.entries = file.tensors.map { entry($0, dtype: request.dtype) }
        return plan
    }

    /// The candidate named `name`, or the only one when `name` is nil.
    static func pick(_ candidates: [Candidate], name: String?, file: String, target: OutputFormat) throws(ConversionError) -> Candidate {
        let list = candidates.map { display($0.name) }.joined(separator: ", ")
        if let name {
            if let c = candidates.first(where: { $0.name == name || display($0.name) == name }) { return c }
            throw ConversionError(.usage, candidates.isEmpty
                ? "\(file): --module \(name): the file holds no LSTM"
                : "\(file): --module \(name): no such LSTM; the file holds \(list)")
        }
        switch candidates.count {
        case 0: throw ConversionError(.unusable, "\(file): holds no LSTM, so there is nothing to write as an ONNX graph")
        case 1: return candidates[0]
        default: throw ConversionError(.usage, "\(file): holds \(candidates.count) LSTMs (\(list)); an ONNX file holds one: pick it with --module")
        }
    }

    /// Exit 1: the module breaks the schema (its first problem; `lstmkit validate` lists all).
    static func schemaError(_ c: Candidate, file: String) -> ConversionError {
        let n = c.problems.count
        return ConversionError(.schema, "\(file): LSTM \(display(c.name)) does not match the nn.LSTM schema (\(n) problem\(n == 1 ? "" : "s"); run lstmkit validate)"
                                  + (c.problems.first.map { ": " + $0 } ?? ""), problems: c.problems)
    }

    static func refuseONNXOnlyFeatures(_ module: LSTMModule, file: String, target: OutputFormat) throws(ConversionError) {
        guard let features = module.onnx?.nonPyTorchFeatures, !features.isEmpty else { return }
        let ext = target == .pytorch ? "pt" : target.rawValue
        throw ConversionError(.unusable, "\(file): LSTM \(display(module.name)) uses \(features.joined(separator: " and ")), "
                                + "which nn.LSTM cannot express, so it cannot be written as nn.LSTM tensors to a .\(ext) file "
                                + "(an .onnx output can hold it)")
    }

    static func refuseDuplicateNames(_ tensors: [NamedTensor], file: String) throws(ConversionError) {
        var seen: Set<String> = []
        for t in tensors where !seen.insert(t.name).inserted {
            throw ConversionError(.unusable, "\(file): '\(t.name)': an LSTM's canonical name collides with another initializer of the same name")
        }
    }

    /// A writer entry that casts floating tensors to `dtype` when loaded.
    static func entry(_ named: NamedTensor, dtype: DType?) -> SafetensorsWriter.Entry {
        let t = named.tensor
        guard let dtype, t.dtype.isFloatingPoint, dtype != t.dtype else { return SafetensorsWriter.Entry(named) }
        return SafetensorsWriter.Entry(name: named.name, dtype: dtype, shape: t.shape, source: t) { t.converted(to: dtype) }
    }

    static func display(_ module: String) -> String { SchemaProblem.displayName(module) }

    /// The LSTM modules of `file`, valid or not, in file order.
    static func discover(_ file: TensorFile) throws(FormatError) -> [Candidate] {
        if file.format == .onnx {
            let model = try ONNXModelFile.model(of: file)
            return try ONNXLSTMMapping.mapped(in: model).map {
                Candidate(name: $0.module.name, module: $0.module, problems: [], sourceTensors: $0.initializers)
            }
        }
        return LSTMDiscovery.discover(in: file).map {
            Candidate(name: $0.name, module: $0.module, problems: $0.problems.map(\.description), sourceTensors: $0.tensorNames)
        }
    }
}

extension LSTMModule {
    /// This module with every floating tensor cast to `dtype` (round to nearest even).
    public func converted(to dtype: DType) -> LSTMModule {
        func cast(_ t: Tensor?) -> Tensor? { t.map { $0.dtype.isFloatingPoint ? $0.converted(to: dtype) : $0 } }
        var copy = self
        copy.layers = layers.map { layer in
            layer.map { w in
                LSTMDirectionWeights(weightIH: cast(w.weightIH) ?? w.weightIH, weightHH: cast(w.weightHH) ?? w.weightHH,
                                     biasIH: cast(w.biasIH), biasHH: cast(w.biasHH), weightHR: cast(w.weightHR),
                                     peephole: cast(w.peephole))
            }
        }
        if config.dtype.isFloatingPoint { copy.config.dtype = dtype }
        return copy
    }
}

extension Conversion {
    /// Whether `a` and `b` name the same existing file (same device and inode).
    static func isSameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
