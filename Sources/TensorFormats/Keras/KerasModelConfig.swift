/// What a `.keras` file's `config.json` says about its recurrent layers, keyed by the path of the
/// layer's group in `model.weights.h5` (`layers/lstm`, `layers/bidirectional`, …).
///
/// Keras 3 names a layer's weights group after its class in snake case, numbered in layer order
/// when the class repeats (`lstm`, `lstm_1`, …), not after the user's layer name; ``layerPath``
/// reproduces that. A Bidirectional layer's settings are its wrapped layer's (`config.layer`).
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
    }

    public var layers: [String: Layer] = [:]

    /// Parses `config.json` (`text` at `offset` in the file, for errors). Only `config.layers` of a
    /// Functional or Sequential model is read; anything else is left alone.
    public init(json text: UnsafeRawBufferPointer, offset: Int) throws(FormatError) {
        let root = try JSONReader.parse(text, baseOffset: offset)
        guard let list = root["config"]?["layers"]?.elements else { return }
        var counts: [String: Int] = [:]
        for node in list {
            guard let className = node["class_name"]?.string else { continue }
            let snake = KerasModelConfig.snakeCase(className)
            let n = counts[snake, default: 0]
            counts[snake] = n + 1
            let path = "layers/" + (n == 0 ? snake : "\(snake)_\(n)")
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
            layers[path] = layer
        }
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
    /// The layer settings of a `.keras` file (nil for other formats).
    public var kerasConfig: KerasModelConfig? { content as? KerasModelConfig }
}
