#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorFormats

/// The tensors a conversion writes, decided before anything is written.
struct ConversionPlan {
    /// The tensors for a tensor-map target, each cast lazily when the writer reaches it.
    var entries: [TensorEntry] = []
    var metadata: [(key: String, value: String)] = []
    var notes: [String] = []
    /// The module extracted, if one was.
    var moduleName: String?
    /// The module for a module-graph target (already cast).
    var graphModule: LSTMModule?

    var expectedBytes: Int {
        entries.reduce(0) { total, e in total &+ (e.byteCount ?? 0) }
    }

    static func make(model: LoadedModel, request: ConversionRequest, target: FileFormatDescriptor) throws(ConversionError) -> ConversionPlan {
        let file = model.file
        var plan = ConversionPlan()
        plan.metadata = file.metadata
        let source = file.path
        let graphTarget: Bool
        if case .moduleGraph? = target.output { graphTarget = true } else { graphTarget = false }

        if graphTarget || request.module != nil || request.kind != nil {
            let candidate: DiscoveredModule
            do {
                candidate = try model.candidate(named: request.module, several: graphTarget
                    ? "\(article(target.displayName)) \(target.displayName) file holds one: pick it with --module" : "pick one with --module")
            } catch {
                if error.kind == .noModule, graphTarget {
                    throw ConversionError(.unusable, "\(source): holds no LSTM, so there is nothing to write as \(article(target.displayName)) \(target.displayName) graph")
                }
                throw ConversionError(error)
            }
            guard let module = candidate.module else { throw ConversionError(ModuleSelectionError.invalid(candidate, file: source)) }
            plan.moduleName = candidate.name
            if graphTarget {
                // Refused before any weight is loaded; judged at the dtype the output will have.
                let writer = ModuleGraphWriters.writer(for: target.format)
                var requested = module
                requested.config.dtype = request.dtype ?? module.config.dtype
                if let why = writer?.refusal(for: requested) {
                    throw ConversionError(.unusable, "\(source): LSTM \(display(candidate.name)) uses \(why), so it cannot be written to \(article(target.displayName)) \(target.displayName) file")
                }
                let inMemory: LSTMModule
                do { inMemory = try module.loaded() } catch {
                    let e = error.inFile(source)
                    throw ConversionError(.unusable, e.description, formatError: e)
                }
                let cast: LSTMModule
                do { cast = try request.dtype.map { (d: DType) throws(FormatError) -> LSTMModule in try inMemory.converted(to: d) } ?? inMemory } catch {
                    let e = error.inFile(source)
                    throw ConversionError(.unusable, e.description, formatError: e)
                }
                plan.graphModule = cast
                let written: [NamedTensor]?
                do { written = try writer?.writtenTensors(for: cast) } catch {
                    let e = error.inFile(source)
                    throw ConversionError(.unusable, e.description, formatError: e)
                }
                plan.entries = (written ?? cast.canonicalTensors()).map(TensorEntry.init)
                let others = file.tensors.count - candidate.sourceTensors.count
                if request.module == nil, others > 0 {
                    plan.notes.append("\(others) tensor\(others == 1 ? "" : "s") outside LSTM \(display(candidate.name)) not written: \(article(target.displayName)) \(target.displayName) LSTM graph holds one module")
                }
                if !file.metadata.isEmpty {
                    plan.notes.append("\(file.metadata.count) metadata entr\(file.metadata.count == 1 ? "y" : "ies") not written to the \(target.displayName) graph")
                }
                return plan
            }
            try refuseVariantFeatures(module, file: source, target: target)
            var written = module
            if let kind = request.kind, kind != module.kind {
                if let why = kind.refusal(for: module.config) {
                    throw ConversionError(.unusable, "\(source): LSTM \(display(candidate.name)) cannot be written --as cell: \(why)")
                }
                written.kind = kind
            }
            plan.entries = written.canonicalTensors().map { entry($0, dtype: request.dtype) }
            return plan
        }

        if model.discovered.contains(where: \.mapped) {
            // Mapped modules become canonical tensors; every other tensor keeps its name.
            if let broken = model.discovered.first(where: { $0.mapped && $0.module == nil }) {
                throw ConversionError(ModuleSelectionError.invalid(broken, file: source))
            }
            let mapped = model.discovered.filter(\.mapped)
            var consumed: Set<String> = []
            var out: [NamedTensor] = []
            for c in mapped {
                guard let module = c.module else { continue }
                try refuseVariantFeatures(module, file: source, target: target)
                consumed.formUnion(c.sourceTensors)
                out += module.canonicalTensors(prefix: mapped.count == 1 && !c.keepsPrefix ? "" : c.name + ".")
            }
            out += file.tensors.filter { !consumed.contains($0.name) }
            try refuseDuplicateNames(out, file: source)
            plan.entries = out.map { entry($0, dtype: request.dtype) }
            return plan
        }

        plan.entries = file.tensors.map { entry($0, dtype: request.dtype) }
        return plan
    }

    /// A tensor-map target holds nn.LSTM tensors only: a module using a variant feature is refused, naming it.
    static func refuseVariantFeatures(_ module: LSTMModule, file: String, target: FileFormatDescriptor) throws(ConversionError) {
        guard let features = module.variant?.nonPyTorchFeatures, !features.isEmpty else { return }
        let ext = target.extensions.first ?? ".\(target.displayName)"
        throw ConversionError(.unusable, "\(file): LSTM \(display(module.name)) uses \(features.joined(separator: " and ")), "
                                + "which nn.LSTM cannot express, so it cannot be written as nn.LSTM tensors to a \(ext) file "
                                + "(an \(ModuleGraphWriters.extensionList(holding: module)) output can hold it)")
    }

    static func refuseDuplicateNames(_ tensors: [NamedTensor], file: String) throws(ConversionError) {
        var seen: Set<String> = []
        for t in tensors where !seen.insert(t.name).inserted {
            throw ConversionError(.unusable, "\(file): '\(t.name)': an LSTM's canonical name collides with another initializer of the same name")
        }
    }

    /// A writer entry that casts floating tensors to `dtype` when loaded.
    static func entry(_ named: NamedTensor, dtype: DType?) -> TensorEntry {
        let t = named.tensor
        guard let dtype, t.dtype.isFloatingPoint, dtype != t.dtype else { return TensorEntry(named) }
        return TensorEntry(name: named.name, dtype: dtype, shape: t.shape, source: t) { () throws(FormatError) in
            try t.converted(to: dtype)  // makes deferred bytes first, in the budget
        }
    }

    static func display(_ module: String) -> String { SchemaProblem.displayName(module) }

    /// "an" before a format name read letter by letter or starting with a vowel (an ONNX, an npz), else "a" (a Keras).
    static func article(_ name: String) -> String {
        guard let c = name.first else { return "a" }
        return "AEIOUaeioun".contains(c) ? "an" : "a"
    }
}

extension ConversionError {
    /// A module selection that failed: usage errors → exit 64, no module → 2, schema → 1.
    init(_ error: ModuleSelectionError) {
        switch error.kind {
        case .noSuchModule, .ambiguous: self.init(.usage, error.description)
        case .noModule: self.init(.unusable, error.description)
        case .invalid: self.init(.schema, error.description, problems: error.problems.map(\.description))
        }
    }
}

extension LSTMModule {
    /// This module with every floating tensor cast to `dtype` (round to nearest even).
    public func converted(to dtype: DType) throws(FormatError) -> LSTMModule {
        var copy = try mappingTensors { t, _ throws(FormatError) in t.dtype.isFloatingPoint ? try t.converted(to: dtype) : t }
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
