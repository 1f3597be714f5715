import LSTMSchema
import TensorFormats

/// One LSTM module whose weights are converted to the pass's precision and packed for the GEMM
/// kernels once (``LSTMForward/prepare(module:precision:threads:kernels:)``), then run on any number of
/// inputs. Immutable; concurrent `run` calls are safe (each allocates its own working memory).
public final class PreparedLSTM: Sendable {
    enum Pass: Sendable {
        case float(ForwardPass<Float>)
        case double(ForwardPass<Double>)
    }

    public let module: LSTMModule
    let pass: Pass

    init(module: LSTMModule, pass: Pass) {
        self.module = module
        self.pass = pass
    }

    public var precision: Precision {
        switch pass {
        case .float: .float32
        case .double: .float64
        }
    }

    /// The kernel path float32 runs compute with (float64 runs use the portable scalar loops).
    public var kernels: KernelPath {
        switch pass {
        case .float(let p): p.kernels.path
        case .double: .portable
        }
    }

    /// The forward pass of ``LSTMForward/run(module:input:h0:c0:batchFirst:precision:sequenceLengths:threads:kernels:limits:)``
    /// (same parameters, layouts and errors) without converting or packing the weights again.
    public func run(input: Tensor, h0: Tensor? = nil, c0: Tensor? = nil, batchFirst: Bool = false,
                    sequenceLengths: [Int]? = nil, limits: Limits = .default) throws(ForwardError) -> LSTMOutputs {
        switch pass {
        case .float(let p):
            return try LSTMForward.evaluate(p, module: module, input: input, h0: h0, c0: c0, batchFirst: batchFirst,
                                            sequenceLengths: sequenceLengths, limits: limits)
        case .double(let p):
            return try LSTMForward.evaluate(p, module: module, input: input, h0: h0, c0: c0, batchFirst: batchFirst,
                                            sequenceLengths: sequenceLengths, limits: limits)
        }
    }
}
