import TensorFormats

/// Arrays given on the command line (`run --input / --h0 / --c0`, goldens): an .npy (one array) or
/// an .npz (arrays by name), recognised by content like every other input.
enum ArrayFileInput {
    /// Every array in the file. A file that cannot be read → exit 2 naming it.
    static func arrays(_ path: String, limits: Limits = .default) throws(CommandFailure) -> [NamedTensor] {
        do {
            return try TensorFileIO.read(path: path, limits: limits).tensors
        } catch {
            throw .unusable(error.inFile(path))
        }
    }

    /// The array called `name`, or the file's only array. Missing → exit 2 naming the file and the key.
    static func array(_ name: String, in path: String, arrays: [NamedTensor]? = nil, limits: Limits = .default) throws(CommandFailure) -> Tensor {
        let all: [NamedTensor]
        if let arrays { all = arrays } else { all = try self.arrays(path, limits: limits) }
        if let hit = all.first(where: { $0.name == name }) { return hit.tensor }
        if all.count == 1, let only = all.first { return only.tensor }
        let names = all.map(\.name).joined(separator: ", ")
        throw .unusable(FormatError(.unsupported, "has no array '\(name)' (it holds \(names.isEmpty ? "none" : names))",
                                    file: path, entry: name))
    }
}
