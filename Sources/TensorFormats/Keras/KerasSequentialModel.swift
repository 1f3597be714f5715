/// A Keras 3 `Sequential` model of recurrent layers, as lstmkit writes it: an `InputLayer` of
/// shape (batch, time, `inputSize`) followed by `LSTM` or `Bidirectional(LSTM)` layers, each with
/// `return_sequences=True` (so layer k's outputs feed layer k + 1, as in a stacked nn.LSTM).
///
/// Tensors are in Keras's layout: `kernel` (I, 4U), `recurrentKernel` (U, 4U), `bias` (4U), gate
/// blocks i, f, c, o. ``config()`` is the `config.json` Keras 3.15 writes for such a model;
/// ``weights()`` the `model.weights.h5` tree (`layers/<snake_case class>[_n]/…/cell/vars/0..2`,
/// each `vars` group with its `name` attribute).
public struct KerasSequentialModel {
    public struct Cell {
        public var kernel: Tensor
        public var recurrentKernel: Tensor
        /// nil = `use_bias=False`.
        public var bias: Tensor?

        public init(kernel: Tensor, recurrentKernel: Tensor, bias: Tensor?) {
            self.kernel = kernel
            self.recurrentKernel = recurrentKernel
            self.bias = bias
        }
    }

    public struct Layer {
        public var units: Int
        /// Keras names: `tanh`, `sigmoid`, `hard_sigmoid`, ….
        public var activation = "tanh"
        public var recurrentActivation = "sigmoid"
        /// Reads the sequence from its last step and returns outputs in that order (one cell only).
        public var goBackwards = false
        /// One cell: `LSTM`; two (forward, backward): `Bidirectional(LSTM, merge_mode="concat")`.
        public var cells: [Cell]

        public init(units: Int, activation: String = "tanh", recurrentActivation: String = "sigmoid", cells: [Cell]) {
            self.units = units
            self.activation = activation
            self.recurrentActivation = recurrentActivation
            self.cells = cells
        }

        public var isBidirectional: Bool { cells.count == 2 }
    }

    public var inputSize: Int
    /// The dtype policy (`float16`, `float32`, `float64`).
    public var dtype: DType
    public var layers: [Layer]

    public init(inputSize: Int, dtype: DType, layers: [Layer]) {
        self.inputSize = inputSize
        self.dtype = dtype
        self.layers = layers
    }

    /// The Keras layer names, which are also the weights-group names: `lstm`, `lstm_1`, … or
    /// `bidirectional`, `bidirectional_1`, ….
    public var layerNames: [String] {
        var counts: [String: Int] = [:]
        return layers.map { layer in
            let base = layer.isBidirectional ? "bidirectional" : "lstm"
            let n = counts[base, default: 0]
            counts[base] = n + 1
            return n == 0 ? base : "\(base)_\(n)"
        }
    }

    /// `metadata.json`: the Keras version whose layout this is, and a fixed date (the same model
    /// always gives the same bytes).
    public static let metadata = #"{"keras_version": "3.15.1", "date_saved": "1980-01-01@00:00:00", "producer": "lstmkit"}"#

    /// `config.json`.
    public func config() -> String {
        let policy = #"{"module": "keras", "class_name": "DTypePolicy", "config": {"name": "\#(dtype.name)"}, "registered_name": null}"#
        let shape = "[null, null, \(inputSize)]"
        var items = [#"{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": \#(shape), "dtype": "\#(dtype.name)", "sparse": false, "ragged": false, "name": "input_layer", "optional": false}, "registered_name": null}"#]
        for (layer, name) in zip(layers, layerNames) {
            if layer.isBidirectional {
                let forward = lstmConfig(layer, name: "forward_" + name, goBackwards: false, policy: policy)
                let backward = lstmConfig(layer, name: "backward_" + name, goBackwards: true, policy: policy)
                items.append(#"{"module": "keras.layers", "class_name": "Bidirectional", "config": {"name": \#(JSONText.quoted(name)), "trainable": true, "dtype": \#(policy), "merge_mode": "concat", "layer": \#(forward), "backward_layer": \#(backward)}, "registered_name": null}"#)
            } else {
                items.append(lstmConfig(layer, name: name, goBackwards: layer.goBackwards, policy: policy))
            }
        }
        return #"{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true, "dtype": \#(policy), "layers": [\#(items.joined(separator: ", "))]}, "registered_name": null, "build_config": {"input_shape": \#(shape)}, "compile_config": {}}"#
    }

    private func lstmConfig(_ layer: Layer, name: String, goBackwards: Bool, policy: String) -> String {
        func initializer(_ cls: String, _ config: String) -> String {
            #"{"module": "keras.initializers", "class_name": "\#(cls)", "config": \#(config), "registered_name": null}"#
        }
        let fields = [
            #""name": \#(JSONText.quoted(name))"#, #""trainable": true"#, #""dtype": \#(policy)"#,
            #""return_sequences": true"#, #""return_state": false"#, #""go_backwards": \#(goBackwards)"#,
            #""stateful": false"#, #""unroll": false"#, #""zero_output_for_mask": \#(layer.isBidirectional)"#,
            #""units": \#(layer.units)"#, #""activation": \#(JSONText.quoted(layer.activation))"#,
            #""recurrent_activation": \#(JSONText.quoted(layer.recurrentActivation))"#,
            #""use_bias": \#(layer.cells[0].bias != nil)"#,
            #""kernel_initializer": \#(initializer("GlorotUniform", #"{"seed": null, "input_axes": null, "output_axes": null}"#))"#,
            // Initializers only shape the variables before the weights are loaded. torch's CPU QR has
            // no float16 or bfloat16, so Keras (torch backend) cannot build such an LSTM with Orthogonal.
            #""recurrent_initializer": \#(dtype == .float16 || dtype == .bfloat16 ? initializer("GlorotUniform", #"{"seed": null, "input_axes": null, "output_axes": null}"#) : initializer("Orthogonal", #"{"seed": null, "gain": 1.0}"#))"#,
            #""bias_initializer": \#(initializer("Zeros", "{}"))"#,
            #""unit_forget_bias": true"#, #""kernel_regularizer": null"#, #""recurrent_regularizer": null"#,
            #""bias_regularizer": null"#, #""activity_regularizer": null"#, #""kernel_constraint": null"#,
            #""recurrent_constraint": null"#, #""bias_constraint": null"#, #""dropout": 0.0"#,
            #""recurrent_dropout": 0.0"#, #""seed": null"#,
        ]
        return #"{"module": "keras.layers", "class_name": "LSTM", "config": {\#(fields.joined(separator: ", "))}, "registered_name": null}"#
    }

    /// The datasets of an HDF5 tree, named by their paths, depth-first in member order.
    public static func datasets(_ tree: HDF5Object, prefix: String = "") -> [NamedTensor] {
        switch tree.content {
        case .dataset(let t): return [NamedTensor(name: prefix, tensor: t)]
        case .group(let members):
            return members.flatMap { datasets($0.object, prefix: prefix.isEmpty ? $0.name : prefix + "/" + $0.name) }
        }
    }

    /// The `model.weights.h5` tree.
    public func weights() -> HDF5Object {
        func vars(_ name: String, _ tensors: [Tensor] = []) -> (name: String, object: HDF5Object) {
            ("vars", .group(tensors.enumerated().map { (String($0.offset), .dataset($0.element)) }, attributes: [("name", name)]))
        }
        func cell(_ c: Cell, layerName: String) -> [(name: String, object: HDF5Object)] {
            [("cell", .group([vars("lstm_cell", [c.kernel, c.recurrentKernel] + (c.bias.map { [$0] } ?? []))])), vars(layerName)]
        }
        var members: [(name: String, object: HDF5Object)] = []
        for (layer, name) in zip(layers, layerNames) {
            if layer.isBidirectional {
                members.append((name, .group([
                    ("backward_layer", .group(cell(layer.cells[1], layerName: "backward_" + name))),
                    ("forward_layer", .group(cell(layer.cells[0], layerName: "forward_" + name))),
                    vars(name),
                ])))
            } else {
                members.append((name, .group(cell(layer.cells[0], layerName: name))))
            }
        }
        return .group([("layers", .group(members)), vars("sequential")])
    }
}

extension KerasSequentialModel {
    /// Writes the model to `output` (not committing it): a `.keras` file (ZIP, members STORED in
    /// the order Keras writes them: `metadata.json`, `config.json`, `model.weights.h5`), or with
    /// `weightsOnly` the bare `model.weights.h5` (a `.weights.h5` file for `model.load_weights`).
    /// Tensor bytes are streamed from their storage. Returns the bytes written.
    @discardableResult
    public func write(to output: OutputFile, weightsOnly: Bool) throws(FormatError) -> Int {
        let pieces = try HDF5Writer.pieces(weights())
        if weightsOnly {
            for piece in pieces { try output.write(piece.storage, range: piece.range) }
            return output.position
        }
        let zip = ZipWriter(output: output)
        try zip.add(name: "metadata.json", data: Array(Self.metadata.utf8))
        try zip.add(name: "config.json", data: Array(config().utf8))
        try zip.add(name: "model.weights.h5", parts: pieces.map { ZipWriter.Part($0.storage, range: $0.range) })
        try zip.finish()
        return output.position
    }
}
