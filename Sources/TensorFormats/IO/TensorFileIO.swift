/// Reading any supported tensor file, recognised by content (never by extension) through
/// ``FormatRegistry``.
public enum TensorFileIO {
    /// Reads every tensor in the file at `path`. Errors name the file.
    public static func read(path: String, limits: Limits = .default) throws(FormatError) -> TensorFile {
        let file = try MappedFile(path: path)
        do throws(FormatError) {
            return try read(file: file, limits: limits)
        } catch {
            throw error.inFile(path)
        }
    }

    /// Reads every tensor in `file` (already mapped or copied in memory). Errors do not name a file
    /// unless the reader did; `read(path:)` adds it.
    public static func read(file: MappedFile, limits: Limits = .default) throws(FormatError) -> TensorFile {
        let (descriptor, archive) = try FormatRegistry.recognise(file, limits: limits)
        return try descriptor.read(file, archive, limits)
    }

    /// The format of the file at `path`, from its content.
    public static func detect(path: String, limits: Limits = .default) throws(FormatError) -> FileFormat {
        let file = try MappedFile(path: path)
        do throws(FormatError) {
            return try FormatRegistry.recognise(file, limits: limits).descriptor.format
        } catch {
            throw error.inFile(path)
        }
    }
}
