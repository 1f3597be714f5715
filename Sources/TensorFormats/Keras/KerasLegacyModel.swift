/// Keras's legacy HDF5 model file (`model.save("….h5")` in Keras 2 / tf.keras, and Keras 3's legacy
/// writer): the root group's attributes `model_config` (the model's JSON config), `keras_version`
/// and `backend`, the weights under `model_weights/<layer>/…` (``KerasLSTMSource`` maps them).
enum KerasLegacyModel {
    /// When `file` (read by ``HDF5Reader``) is a legacy Keras model, sets its content to the
    /// ``KerasModelConfig`` of `model_config` and lists `keras_version` / `backend` as metadata.
    /// Errors in `model_config`'s JSON name the attribute.
    static func annotate(_ file: inout TensorFile) throws(FormatError) {
        guard let attributes = file.hdf5RootAttributes, let text = attributes["model_config"] else { return }
        let version = attributes["keras_version"]
        let config: KerasModelConfig
        do {
            config = try Array(text.utf8).withUnsafeBytes { raw in
                Result { () throws(FormatError) in try KerasModelConfig(json: raw, offset: 0, legacy: true, kerasVersion: version) }
            }.get()
        } catch {
            throw FormatError(error.reason, "attribute model_config: \(error.message) (offset \(error.offset ?? 0) in its text)", file: file.path, entry: "/")
        }
        for key in ["keras_version", "backend"] {
            if let v = attributes[key] { file.metadata.append((key, v)) }
        }
        file.content = config
    }
}
