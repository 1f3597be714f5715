import ArgumentParser
import LSTMSchema
import TensorFormats

/// `lstmkit inspect FILE [--json]`: what a file holds — its LSTMs with their inferred configs, then
/// every tensor, metadata and reader notes. Exits 0 whenever the file can be read.
struct Inspect: ConsoleCommand, UsesMemoryBudget {
    static let configuration = CommandConfiguration(
        abstract: "Show the LSTMs and tensors in a file.",
        discussion: """
        Reads PyTorch checkpoints (.pt/.pth), ONNX models, NumPy .npy/.npz and safetensors files, \
        recognised by content. Lists each LSTM found (its config inferred from the tensor shapes), \
        then every tensor with its dtype, shape and size. Exits 0 when the file can be read, 2 when \
        it cannot; schema problems are counted here and listed by `lstmkit validate`.

        Examples:
          lstmkit inspect crnn.pt
          lstmkit inspect model.safetensors --json
        """
    )

    @Argument(help: "The file to read.")
    var file: String

    @Flag(help: "Print one JSON object on stdout (DESIGN §3) instead of tables.")
    var json = false

    @OptionGroup var limitOptions: LimitOptions

    func execute(_ console: Console) throws -> ExitStatus {
        let model = try ModelInput.load(file, limits: limitOptions.limits.metadataOnly)
        if json {
            console.print(JSONReport(model: model).value.rendered())
            return .success
        }
        console.print(ModelText.headline(model))
        if !model.discovered.isEmpty {
            console.print()
            console.print(ModelText.lstmTable(model.discovered).render())
            if !model.problems.isEmpty {
                console.print("(the problems are listed by: lstmkit validate \(file))")
            }
        }
        console.print()
        console.print(ModelText.tensorTable(model.file.tensors).render())
        if !model.file.metadata.isEmpty {
            console.print()
            var table = TextTable(["metadata", "value"])
            for (key, value) in model.file.metadata { table.append([key, value]) }
            console.print(table.render())
        }
        if !model.notes.isEmpty {
            console.print()
            console.print("notes")
            for note in model.notes { console.print("  - " + printable(note)) }
        }
        return .success
    }
}
