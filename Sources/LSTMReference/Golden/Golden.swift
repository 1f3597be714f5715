import LSTMSchema
import TensorFormats

/// A golden case (DESIGN §4): inputs and the outputs a trusted implementation computed from them.
///
/// Arrays (any float dtype; goldens are float32 by convention):
///
/// | key | PyTorch family (`output` rank 3) | ONNX node family (`output` rank 4) |
/// |---|---|---|
/// | `input` | (S, N, I); (N, S, I) when `batch_first` | X: (S, N, I); layout 1: (N, S, I) |
/// | `h0`, `c0` (optional) | (L·D, N, R), (L·D, N, H) | initial_h / c: (D, N, H); layout 1: (N, D, H) |
/// | `sequence_lens` (optional, integer) | N lengths (packed sequence) | N lengths (node input 4) |
/// | `output` | (S, N, D·R); (N, S, D·R) when `batch_first` | Y: (S, D, N, H); layout 1: (N, S, D, H) |
/// | `h_n`, `c_n` | (L·D, N, R), (L·D, N, H) | Y_h / Y_c: (D, N, H); layout 1: (N, D, H) |
/// | `batch_first` (0-d bool, absent = false) | nn.LSTM's batch_first | ONNX `layout` = 1 |
///
/// PyTorch goldens may also be unbatched (`input` (S, I), `output` (S, D·R), `h_n` (L·D, R)).
/// Other keys (weights stored beside the golden) are ignored. ONNX node goldens describe one node:
/// the module must have one layer and no projection.
public struct Golden: Sendable {
    public enum Family: String, Sendable {
        /// nn.LSTM's layouts.
        case pytorch
        /// A single ONNX LSTM node's layouts (Y has a direction axis).
        case onnxNode = "onnx-node"
    }

    public var input: Tensor
    public var h0: Tensor?
    public var c0: Tensor?
    public var sequenceLengths: [Int]?
    public var output: Tensor
    public var hN: Tensor
    public var cN: Tensor
    public var batchFirst: Bool

    /// Told apart by the rank of `output`: 4 = ONNX node, otherwise PyTorch.
    public var family: Family { output.rank == 4 ? .onnxNode : .pytorch }

    /// Reads a golden from the arrays of a golden file, making the bytes of compressed members
    /// (under the memory budget). Throws naming the missing or malformed key.
    public init(tensors: [NamedTensor]) throws(FormatError) {
        func find(_ key: String) throws(FormatError) -> Tensor? {
            try tensors.first { $0.name == key }.map { t throws(FormatError) in try t.tensor.loaded() }
        }
        func require(_ key: String) throws(FormatError) -> Tensor {
            guard let t = try find(key) else {
                throw FormatError(.unsupported, "golden has no '\(key)' array (a golden holds input, output, h_n, c_n, and optionally h0, c0, sequence_lens, batch_first)", entry: key)
            }
            guard t.dtype.isFloatingPoint else {
                throw FormatError(.unsupported, "golden array '\(key)' has dtype \(t.dtype.name); expected a float dtype", entry: key)
            }
            return t
        }
        let inputs = try ForwardInputs(arrays: tensors)
        input = inputs.input
        h0 = inputs.h0
        c0 = inputs.c0
        sequenceLengths = inputs.sequenceLengths
        batchFirst = inputs.batchFirst
        output = try require("output")
        hN = try require("h_n")
        cN = try require("c_n")
        guard [2, 3, 4].contains(output.rank) else {
            throw FormatError(.unsupported, "golden 'output' has rank \(output.rank); expected 3 (PyTorch layout) or 4 (ONNX node layout)", entry: "output")
        }
    }

    /// The default tolerance for this golden and a module of `dtype` (the looser of the two dtypes' defaults).
    public func defaultTolerance(moduleDType dtype: DType) -> Tolerance {
        Tolerance.default(for: dtype, output.dtype)
    }

    /// Which forward pass computes a golden's outputs.
    public enum Pass: Sendable {
        /// ``LSTMForward`` (packed, threaded, SIMD).
        case fast
        /// ``LSTMOracle`` (the equations, float64).
        case oracle
    }

    /// Runs `module` on this golden's inputs and returns `output`, `h_n`, `c_n` in the golden's layouts.
    /// `kernels`: the float32 kernel path of the ``Pass/fast`` pass (nil = ``KernelPath/automatic``).
    public func run(module: LSTMModule, precision: Precision = .float32, threads: Int? = nil, kernels: KernelPath? = nil,
                    limits: Limits = .default, pass: Pass = .fast) throws(ForwardError) -> LSTMOutputs {
        func forward(_ input: Tensor, _ h0: Tensor?, _ c0: Tensor?) throws(ForwardError) -> LSTMOutputs {
            switch pass {
            case .fast:
                return try LSTMForward.run(module: module, input: input, h0: h0, c0: c0, batchFirst: batchFirst,
                                           precision: precision, sequenceLengths: sequenceLengths, threads: threads, kernels: kernels,
                                           limits: limits)
            case .oracle:
                return try LSTMOracle.run(module: module, input: input, h0: h0, c0: c0, batchFirst: batchFirst,
                                          sequenceLengths: sequenceLengths)
            }
        }
        switch family {
        case .pytorch:
            return try forward(input, h0, c0)
        case .onnxNode:
            let cfg = module.config
            guard cfg.numLayers == 1, cfg.projSize == 0 else {
                throw ForwardError(.module, .unsupported, "golden is in a single ONNX node's layout (rank-4 output) but module '\(module.name)' has \(cfg.numLayers) layers\(cfg.projSize > 0 ? " and proj_size \(cfg.projSize)" : "")", tensor: module.name)
            }
            guard input.rank == 3 else {
                throw ForwardError(.input, .unsupported, "golden 'input' has shape \(input.shape); an ONNX node golden needs rank 3")
            }
            let layout = ONNXNodeLayout(batchMajor: batchFirst)
            func converted<T>(_ argument: ForwardError.Argument, _ body: () throws(FormatError) -> T) throws(ForwardError) -> T {
                do throws(FormatError) { return try body() } catch { throw ForwardError(argument, error.reason, error.message) }
            }
            let out = try forward(input, try converted(.h0) { () throws(FormatError) in try h0.map(layout.stateToPyTorch) },
                                  try converted(.c0) { () throws(FormatError) in try c0.map(layout.stateToPyTorch) })
            return try converted(.module) { () throws(FormatError) in
                LSTMOutputs(output: try layout.outputFromPyTorch(out.output, directions: cfg.numDirections),
                            hN: try layout.stateFromPyTorch(out.hN), cN: try layout.stateFromPyTorch(out.cN),
                            batchFirst: batchFirst)
            }
        }
    }

    /// Runs `module` and compares `output`, `h_n`, `c_n` with the golden (`tolerance` nil = ``defaultTolerance(moduleDType:)``).
    public func verify(module: LSTMModule, tolerance: Tolerance? = nil, precision: Precision = .float32,
                       threads: Int? = nil, kernels: KernelPath? = nil, limits: Limits = .default,
                       pass: Pass = .fast) throws(ForwardError) -> [ToleranceComparison] {
        let tol = tolerance ?? defaultTolerance(moduleDType: module.config.dtype)
        let actual = try run(module: module, precision: precision, threads: threads, kernels: kernels, limits: limits, pass: pass)
        return [ToleranceComparison(name: "output", actual: actual.output, expected: output, tolerance: tol),
                ToleranceComparison(name: "h_n", actual: actual.hN, expected: hN, tolerance: tol),
                ToleranceComparison(name: "c_n", actual: actual.cN, expected: cN, tolerance: tol)]
    }
}

/// The tensor layouts of one ONNX LSTM node (layout 0 time-major, 1 batch-major) and their
/// conversion to and from nn.LSTM's (single layer, no projection; `onnx-lstm.md` §1.2, §1.7):
///
/// | tensor | layout 0 | layout 1 | nn.LSTM |
/// |---|---|---|---|
/// | X | (S, N, I) | (N, S, I) | (S, N, I) / batch_first (N, S, I) |
/// | initial_h / c, Y_h / c | (D, N, H) | (N, D, H) | (D, N, H) |
/// | Y | (S, D, N, H) | (N, S, D, H) | (S, N, D·H) / batch_first (N, S, D·H) |
public struct ONNXNodeLayout: Sendable {
    /// ONNX `layout` = 1.
    public var batchMajor: Bool

    public init(batchMajor: Bool) { self.batchMajor = batchMajor }

    /// initial_h / initial_c → nn.LSTM's (D, N, H).
    public func stateToPyTorch(_ t: Tensor) throws(FormatError) -> Tensor {
        batchMajor ? try t.swappingAxes(0, 1) : t
    }

    /// nn.LSTM's h_n / c_n (D, N, H) → Y_h / Y_c.
    public func stateFromPyTorch(_ t: Tensor) throws(FormatError) -> Tensor {
        batchMajor ? try t.swappingAxes(0, 1) : t
    }

    /// nn.LSTM's output ((S, N, D·H), or (N, S, D·H) for layout 1, run with batch_first) → Y.
    public func outputFromPyTorch(_ t: Tensor, directions D: Int) throws(FormatError) -> Tensor {
        guard t.rank == 3, D > 0, t.shape[2] % D == 0 else {
            throw FormatError(.unsupported, "output of shape \(t.shape) does not split into \(D) directions", entry: "output")
        }
        let split = try t.reshaped([t.shape[0], t.shape[1], D, t.shape[2] / D])
        return batchMajor ? split : try split.swappingAxes(1, 2)
    }
}

extension Tensor {
    /// A contiguous copy with axes `a` and `b` exchanged.
    func swappingAxes(_ a: Int, _ b: Int) throws(FormatError) -> Tensor {
        guard a >= 0, b >= 0, a < rank, b < rank else {
            throw FormatError(.unsupported, "cannot swap axes \(a) and \(b) of a rank-\(rank) tensor")
        }
        var shape = self.shape, strides = self.strides
        shape.swapAt(a, b)
        strides.swapAt(a, b)
        return try Tensor(dtype: dtype, shape: shape, strides: strides, byteOrder: byteOrder,
                          storage: storage, byteOffset: byteOffset).contiguous()
    }
}
