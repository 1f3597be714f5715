import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import LSTMReference
import LSTMSchema
import TensorFormats

/// `lstmkit run MODEL --input X.npy|X.npz [--h0 F --c0 F] [--batch-first] [--module NAME] --output OUT.npz`:
/// the reference forward pass on given inputs, written as a golden-format .npz.
struct Run: ConsoleCommand, UsesMemoryBudget, RunsForwardPass {
    static let configuration = CommandConfiguration(
        abstract: "Run an LSTM's reference forward pass on an input and write the outputs.",
        discussion: """
        Computes nn.LSTM's forward pass (eval mode) for one LSTM of MODEL, plus the ONNX features an \
        ONNX node may carry (reverse direction, peepholes, clip, input_forget, other activations). \
        The input is (seq, batch, input_size), (batch, seq, input_size) with --batch-first, or \
        unbatched (seq, input_size). h0 is (num_layers·directions, batch, proj_size or hidden_size), \
        c0 (num_layers·directions, batch, hidden_size); zeros when not given.

        --input takes an .npy, or an .npz whose array 'input' is used (or its only array); an .npz \
        may also hold 'h0', 'c0', 'sequence_lens' (packed-sequence lengths) and a 0-d 'batch_first', \
        so a golden file works as it is. --h0 / --c0 read the array 'h0' / 'c0' (or the only one).

        OUT.npz holds 'output', 'h_n', 'c_n' in nn.LSTM's layouts (float32, or float64 with \
        --precision float64), plus 'input', the given 'h0' / 'c0' / 'sequence_lens' and 'batch_first': \
        it is a golden that `lstmkit verify` accepts. It is written atomically; an existing OUT.npz \
        is kept unless --force is given.

        Exit status: 0 written, 2 an input cannot be used (unreadable, or shapes that do not fit the \
        LSTM), 64 bad arguments.

        Examples:
          lstmkit run model.pt --input x.npy --output out.npz
          lstmkit run crnn.pt --module rnn.1.rnn --input x.npz --batch-first --output out.npz
        """
    )

    @Argument(help: "The model file (PyTorch, ONNX, npz, safetensors).")
    var model: String

    @Option(help: ArgumentHelp("The input array (.npy, or .npz with 'input').", valueName: "file"))
    var input: String

    @Option(help: ArgumentHelp("Initial hidden state (.npy, or .npz with 'h0').", valueName: "file"))
    var h0: String?

    @Option(help: ArgumentHelp("Initial cell state (.npy, or .npz with 'c0').", valueName: "file"))
    var c0: String?

    @Flag(help: "The input is (batch, seq, input_size); the output is (batch, seq, ·) too.")
    var batchFirst = false

    @Option(help: "Run only this LSTM (as `lstmkit inspect` names it); needed when MODEL holds several.")
    var module: String?

    @Option(help: ArgumentHelp("The .npz to write.", valueName: "file"))
    var output: String

    @Option(help: "Arithmetic: float32 (as PyTorch and onnxruntime compute on CPU) or float64.")
    var precision: PrecisionOption = .float32

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @Option(help: ArgumentHelp("Cores the forward pass may use (default: all online processors).", valueName: "n"))
    var threads: Int?

    @OptionGroup var limitOptions: LimitOptions

    @Option(help: ArgumentHelp("After one untimed forward pass, run it N more times and print their wall times on stderr (scripts/bench).",
                               valueName: "n", visibility: .hidden))
    var timeRuns: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1; got \(threads)") }
    }

    func execute(_ console: Console) throws -> ExitStatus {
        let limits = limitOptions.limits
        let loaded = try ModelInput.load(model, limits: limits)
        let lstm = try ModelInput.module(named: module, in: loaded)
        var given: ForwardInputs
        do {
            given = try ForwardInputs(arrays: try ArrayFileInput.arrays(input, limits: limits), allowSingle: true)
        } catch let error as FormatError {
            throw CommandFailure.unusable(error.inFile(input))
        }
        if let h0 { given.h0 = try ArrayFileInput.array("h0", in: h0, limits: limits) }
        if let c0 { given.c0 = try ArrayFileInput.array("c0", in: c0, limits: limits) }
        let x = given.input, h = given.h0, c = given.c0
        let first = batchFirst || given.batchFirst
        let lengthValues = given.sequenceLengths

        let file: OutputFile
        do { file = try OutputFile(path: output, overwrite: force) } catch { throw CommandFailure.unusable(error) }
        var outputs: LSTMOutputs
        do {
            let prepared = try LSTMForward.prepare(module: lstm, precision: precision.precision, threads: threads)
            func forward() throws(ForwardError) -> LSTMOutputs {
                try prepared.run(input: x, h0: h, c0: c, batchFirst: first, sequenceLengths: lengthValues,
                                 limits: limits)
            }
            if let runs = timeRuns, runs > 0 {
                var times: [String] = []
                outputs = try forward()
                for _ in 0..<runs {
                    let start = DispatchTime.now().uptimeNanoseconds
                    outputs = try forward()
                    let ns = DispatchTime.now().uptimeNanoseconds - start
                    times.append(cFormat("%.3f", Double(ns) / 1e6))
                }
                console.printError("kernels: \(prepared.kernels.rawValue) (this CPU runs \(KernelPath.supported.map(\.rawValue).joined(separator: ", ")))")
                console.printError("forward pass ms (weights packed once; after one untimed run): " + times.joined(separator: " "))
            } else {
                outputs = try forward()
            }
        } catch {
            throw CommandFailure.unusable(error.formatError(file: fileOf(error.argument)))
        }

        var arrays = outputs.namedTensors
        arrays.append(NamedTensor(name: "input", tensor: x))
        if let h { arrays.append(NamedTensor(name: "h0", tensor: h)) }
        if let c { arrays.append(NamedTensor(name: "c0", tensor: c)) }
        if let lengths = given.sequenceLengthsArray { arrays.append(NamedTensor(name: "sequence_lens", tensor: lengths)) }
        arrays.append(NamedTensor(name: "batch_first", tensor: Tensor(bool: outputs.batchFirst)))
        do {
            try NpzWriter.write(arrays, to: file, compress: false)
            try file.commit()
        } catch {
            throw CommandFailure.unusable(error.inFile(output))
        }
        console.print("wrote \(output): output \(formatShape(outputs.output.shape)), h_n \(formatShape(outputs.hN.shape)), "
                      + "c_n \(formatShape(outputs.cN.shape)) (\(outputs.output.dtype.name)) from \(ReferenceReport.describe(lstm))")
        return .success
    }

    /// The file a forward-pass error is about: the model for its weights, else the array's file.
    private func fileOf(_ argument: ForwardError.Argument) -> String {
        switch argument {
        case .h0: h0 ?? input
        case .c0: c0 ?? input
        case .input, .sequenceLengths: input
        case .module: model
        }
    }
}

/// `--precision float32|float64`.
enum PrecisionOption: String, ExpressibleByArgument, CaseIterable {
    case float32, float64
    var precision: Precision { self == .float64 ? .float64 : .float32 }
}
