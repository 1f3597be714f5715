import ArgumentParser
import LSTMSchema
import TensorFormats

/// The dtypes `convert --dtype` casts floating tensors to.
enum ConvertDType: String, ExpressibleByArgument, CaseIterable {
    case float32, float16, bfloat16, float64
    var dtype: DType { DType(rawValue: rawValue) ?? .float32 }
}

/// `--as lstm|cell`: the module kind `convert` writes.
enum ConvertKind: String, ExpressibleByArgument, CaseIterable {
    case lstm, cell
    var kind: ModuleKind { self == .cell ? .lstmCell : .lstm }
}

/// `lstmkit convert INPUT OUTPUT [--module NAME] [--as lstm|cell] [--dtype D] [--force] [--compress] [--sync] [--quiet]
/// [.onnx: --batch-first --opset N --sequence-lengths --initial-state]`:
/// ``Conversion/run(_:progress:)`` with DESIGN §3's exit codes, notes on stderr and a one-line
/// summary on stdout.
struct ConvertCommand: ConsoleCommand, UsesMemoryBudget {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert weights between PyTorch, ONNX, npz, safetensors and Keras files.",
        discussion: """
        The output format comes from OUTPUT's extension: .pt / .pth (PyTorch), .onnx, .npz, \
        .safetensors, .keras, .weights.h5 (Keras); the input's format is recognised by content. Every tensor is carried under its \
        flattened name unless --module picks one LSTM, which is then written with bare nn.LSTM names \
        (nn.LSTM.load_state_dict takes it as it is; an nn.LSTMCell keeps its cell names). --as lstm \
        writes the module as nn.LSTM(num_layers=1) tensors (a cell becomes weight_ih_l0, ...), --as \
        cell as nn.LSTMCell tensors (only for one layer, one direction, no projection). An .onnx \
        output holds one LSTM module (a cell becomes a one-layer LSTM graph) with nn.LSTM's inputs and \
        outputs (x; output, h_n, c_n) that onnxruntime's CPU provider runs: float32 and float16 weights \
        are computed as they are, bfloat16 and float64 weights are stored as they are and computed in \
        float32 (Cast nodes; a note says so); --batch-first, --opset, --sequence-lengths and \
        --initial-state shape its inputs. ONNX features nn.LSTM lacks (peepholes, clip, input_forget, \
        activations, reverse-only) are kept in an .onnx output. A .keras output is one LSTM module as a \
        Keras 3 Sequential model (Input, then an LSTM or Bidirectional(LSTM) layer per nn.LSTM layer, \
        return_sequences=True) that keras.models.load_model opens; .weights.h5 holds the same weights \
        for model.load_weights. Keras has one bias (bias_ih + bias_hh is written), no projection and \
        no peepholes: proj_size and the like are refused by name. Metadata goes to safetensors' \
        __metadata__; a note names what a target cannot hold.

        The output is written atomically: nothing appears unless the whole conversion succeeds, an \
        existing OUTPUT is kept unless --force is given, and INPUT is never modified.

        Examples:
          lstmkit convert model.pt model.safetensors
          lstmkit convert checkpoint.pt encoder.onnx --module encoder.rnn
          lstmkit convert model.pt model.onnx --batch-first --sequence-lengths
          lstmkit convert model.pt model-fp16.safetensors --dtype float16
          lstmkit convert weights.npz weights.pt --module lstm
          lstmkit convert model.pt model.keras
          lstmkit convert decoder.pt cell-as-lstm.pt --module decoder.cell --as lstm
        """
    )

    @Argument(help: "The file to read (PyTorch, ONNX, npy/npz, safetensors, Keras or HDF5).")
    var input: String

    @Argument(help: "The file to write; its extension picks the format.")
    var output: String

    @Option(help: "Convert only this LSTM module (as `lstmkit inspect` names it), with bare nn.LSTM names.")
    var module: String?

    @Option(name: .customLong("as"), help: "Write the module as nn.LSTM (lstm) or nn.LSTMCell (cell) tensors, with bare names.")
    var asKind: ConvertKind?

    @Option(help: "Cast floating-point tensors to this dtype (round to nearest even); integers are kept.")
    var dtype: ConvertDType?

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @Flag(help: "Deflate the members of an .npz output.")
    var compress = false

    @Flag(help: "Wait until OUTPUT is on disk (fsync) before renaming it into place, so that it also survives a power loss.")
    var sync = false

    @Flag(help: "Print nothing but errors and notes (no summary, no progress bar).")
    var quiet = false

    @Flag(name: .customLong("batch-first"), help: ArgumentHelp("(.onnx) Graph input x and output are (batch, seq, feature), as torch.onnx.export writes a batch_first=True nn.LSTM."))
    var batchFirst = false

    @Option(help: ArgumentHelp("(.onnx) The ONNX opset to write, \(ONNXExportOptions.opsets.lowerBound)–\(ONNXExportOptions.opsets.upperBound) (default \(ONNXExportOptions.defaultOpset)).", valueName: "n"))
    var opset: Int?

    @Flag(name: .customLong("sequence-lengths"), help: ArgumentHelp("(.onnx) Add an int32 input sequence_lens (batch): each row runs its first sequence_lens[b] steps, later outputs are 0 and h_n / c_n hold its last valid state (nn.LSTM on a packed sequence)."))
    var sequenceLengths = false

    @Flag(name: .customLong("initial-state"), help: ArgumentHelp("(.onnx) Add inputs h0 (num_layers·directions, batch, proj_size or hidden_size) and c0 (…, hidden_size); without it the states start at zero."))
    var initialState = false

    @OptionGroup var limitOptions: LimitOptions

    func validate() throws {
        guard let target = FormatRegistry.output(forPath: output) else {
            throw ValidationError("cannot tell the output format from the extension of '\(output)' (use \(FormatRegistry.outputExtensionList))")
        }
        let graphOnly = [("--batch-first", batchFirst), ("--opset", opset != nil), ("--sequence-lengths", sequenceLengths),
                         ("--initial-state", initialState)].filter(\.1).map(\.0)
        if let first = graphOnly.first, target.format != .onnx {
            throw ValidationError("\(first) applies to an .onnx output only")
        }
        if let opset, !ONNXExportOptions.opsets.contains(opset) {
            throw ValidationError("--opset \(opset) is outside \(ONNXExportOptions.opsets.lowerBound)–\(ONNXExportOptions.opsets.upperBound) (the opsets lstmkit writes; \(ONNXExportOptions.opsets.upperBound) is the newest onnx release's)")
        }
    }

    func execute(_ console: Console) throws -> ExitStatus {
        var request = ConversionRequest(input: input, output: output, module: module, dtype: dtype?.dtype,
                                        overwrite: force, compress: compress)
        request.limits = limitOptions.limits
        request.kind = asKind?.kind
        request.durable = sync
        request.onnx.batchFirst = batchFirst
        request.onnx.opset = opset
        request.onnx.sequenceLengths = sequenceLengths
        request.onnx.initialState = initialState ? .required : .none
        let progress = console.stderrIsTerminal ? ConvertProgressBar.make(input: input, quiet: quiet) : nil
        let report: ConversionReport
        do {
            report = try Conversion.run(request, progress: progress)
        } catch {
            throw CommandFailure(Self.status(error.kind), error.description)
        }
        for note in report.notes { console.printError("note: \(note)") }
        if !quiet {
            let count = report.tensors.count
            var line = "wrote \(report.output) (\(report.outputFormat.rawValue), \(count) tensor\(count == 1 ? "" : "s"), \(ByteCount.format(report.bytesWritten)))"
            if let m = report.module { line += " from LSTM \(SchemaProblem.displayName(m))" }
            console.print(line)
        }
        return .success
    }

    static func status(_ kind: ConversionError.Kind) -> ExitStatus {
        switch kind {
        case .usage: .usage
        case .unusable: .unusableInput
        case .schema: .checkFailed
        }
    }
}
