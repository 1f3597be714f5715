/// What a Keras model config says about its recurrent layers, keyed by the path of the layer's
/// weights group: a `.keras` file's `config.json` (`layers/lstm`, `layers/bidirectional`, … in
/// `model.weights.h5`) or a legacy `.h5` model's `model_config` attribute (`model_weights/<layer name>`).
///
/// Keras 3 names a layer's weights group after its class in snake case, numbered in layer order
/// when the class repeats (`lstm`, `lstm_1`, …), not after the user's layer name; the legacy
/// format (Keras 2, and Keras 3's `model.save("….h5")`) names it after the layer. A Bidirectional
/// layer's settings are its wrapped layer's (`config.layer`).
public struct KerasModelConfig: Sendable {
    public struct Layer: Sendable, Equatable {
        /// `LSTM`, `Bidirectional`, `GRU`, ….
        public var className: String
        /// The user's layer name.
        public var name: String
        public var activation = "tanh"
        public var recurrentActivation = "sigmoid"
        public var goBackwards = false
        public var returnSequences = false
        public var returnState = false
        /// The weights-group path of the layer whose output this layer takes (the previous layer of
        /// a Sequential model, the first inbound tensor's layer of a Functional one); nil when unknown.
        public var input: String?
    }

    public var layers: [String: Layer] = [:]
    /// The `keras_version` the file names (legacy `.h5` files); nil when it names none.
    public var kerasVersion: String?

    /// Whether the file comes from Keras 2 (its `hard_sigmoid` is 0.2·x + 0.5 clipped, not Keras 3's relu6(x + 3) / 6).
    public var isKeras2: Bool { kerasVersion.map { $0.hasPrefix("2.") || $0.hasPrefix("1.") } ?? false }

    /// Parses a model config (`text` at `offset` in the file, for errors): `config.json`, or with
    /// `legacy` a legacy `.h5` file's `model_config`. Only the layer list of a Functional or
    /// Sequential model (`config.layers`, or Keras 2.0's bare list) is read; anything else is left alone.
    public init(json text: UnsafeRawBufferPointer, offset: Int, legacy: Bool = false, kerasVersion: String? = nil) throws(FormatError) {
        self.kerasVersion = kerasVersion
        let root = try JSONReader.parse(text, baseOffset: offset)
        guard let list = root["config"]?["layers"]?.elements ?? root["config"]?.elements else { return }
        var counts: [String: Int] = [:]
        var pathOfName: [String: String] = [:]
        var previous: String?
        var inboundName: [String: String] = [:]
        let sequential = root["class_name"]?.string == "Sequential"
        for node in list {
            guard let className = node["class_name"]?.string else { continue }
            let snake = KerasModelConfig.snakeCase(className)
            let n = counts[snake, default: 0]
            counts[snake] = n + 1
            let path: String
            if legacy {
                guard let name = node["config"]?["name"]?.string ?? node["name"]?.string else { continue }
                path = "model_weights/" + name
            } else {
                path = "layers/" + (n == 0 ? snake : "\(snake)_\(n)")
            }
            var settings = node["config"]
            if className == "Bidirectional" { settings = settings?["layer"]?["config"] }
            var layer = Layer(className: className, name: node["config"]?["name"]?.string ?? path)
            if let s = settings {
                if let a = s["activation"]?.string { layer.activation = a }
                if let a = s["recurrent_activation"]?.string { layer.recurrentActivation = a }
                if case .bool(let b)? = s["go_backwards"]?.value { layer.goBackwards = b }
                if case .bool(let b)? = s["return_sequences"]?.value { layer.returnSequences = b }
                if case .bool(let b)? = s["return_state"]?.value { layer.returnState = b }
            }
            if let name = node["config"]?["name"]?.string ?? node["name"]?.string {
                pathOfName[name] = path
                if let from = KerasModelConfig.inboundLayer(node) { inboundName[path] = from }
            }
            if sequential { layer.input = previous }
            layers[path] = layer
            previous = path
        }
        for (path, name) in inboundName where !sequential { layers[path]?.input = pathOfName[name] }
    }

    /// The name of the layer behind a Functional layer's first inbound tensor: Keras 3's
    /// `inbound_nodes[0].args[0].config.keras_history[0]`, Keras 2's `inbound_nodes[0][0][0]`.
    static func inboundLayer(_ node: JSONNode) -> String? {
        guard let first = node["inbound_nodes"]?.elements?.first else { return nil }
        if let args = first["args"]?.elements?.first {
            let tensor = args.elements?.first ?? args
            return tensor["config"]?["keras_history"]?.elements?.first?.string
        }
        return first.elements?.first?.elements?.first?.string
    }

    /// Keras's `to_snake_case` (an underscore before a capital that follows a lower-case letter or
    /// starts a capitalised word): `LSTM` → `lstm`, `InputLayer` → `input_layer`, `ConvLSTM2D` → `conv_lstm2d`.
    static func snakeCase(_ name: String) -> String {
        let chars = Array(name)
        var out = ""
        for (i, c) in chars.enumerated() {
            if c.isUppercase, i > 0, chars[i - 1].isLowercase || (i + 1 < chars.count && chars[i + 1].isLowercase) {
                out.append("_")
            }
            out.append(contentsOf: c.lowercased())
        }
        return out
    }
}

extension JSONNode {
    /// The member `key` of an object.
    subscript(key: String) -> JSONNode? { members?.first { $0.key == key }?.value }
}

extension TensorFile {
    /// The layer settings of a `.keras` file or a legacy Keras `.h5` model (nil otherwise).
    public var kerasConfig: KerasModelConfig? { content as? KerasModelConfig }
}
