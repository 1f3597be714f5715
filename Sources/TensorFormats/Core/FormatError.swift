/// An input file that cannot be used: unreadable, truncated, corrupt, hostile or unsupported.
///
/// Every error names the file and, where it applies, the entry (ZIP member, tensor, pickle record)
/// and the byte offset at which the problem was found. `description` is the one sentence the CLI prints.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong with the input.
    public enum Reason: String, Sendable, Codable {
        /// The file could not be opened or read.
        case unreadable
        /// The bytes end before a structure that the file declares.
        case truncated
        /// A structure is inconsistent (bad magic, bad CRC, offsets that do not fit).
        case corrupt
        /// A well-formed feature that lstmkit does not read or cannot write.
        case unsupported
        /// Content that tries to run code or escape the model's folder.
        case hostile
        /// A size over one of the documented limits (see ``Limits``).
        case limitExceeded
    }

    public var reason: Reason
    /// Path of the file, as the user gave it; empty until a reader attaches it.
    public var file: String
    /// The ZIP member, tensor name or record the problem is in.
    public var entry: String?
    /// Byte offset in `file` (or in `entry`, when `entry` is a compressed member) of the problem.
    public var offset: Int?
    /// What is wrong, in lower case, without the file name.
    public var message: String

    public init(_ reason: Reason, _ message: String, file: String = "", entry: String? = nil, offset: Int? = nil) {
        self.reason = reason
        self.message = message
        self.file = file
        self.entry = entry
        self.offset = offset
    }

    /// The same error attributed to `file` (kept when a file is already set).
    public func inFile(_ path: String) -> FormatError {
        var copy = self
        if copy.file.isEmpty { copy.file = path }
        return copy
    }

    /// The same error attributed to an entry (kept when an entry is already set).
    public func inEntry(_ name: String) -> FormatError {
        var copy = self
        if copy.entry == nil { copy.entry = name }
        return copy
    }

    public var description: String {
        var where_ = file.isEmpty ? "<input>" : file
        if let entry { where_ += ": '\(entry)'" }
        if let offset { where_ += " at byte \(offset)" }
        return "\(where_): \(message)"
    }
}
