/// GitHub Actions workflow commands (`--format github`): one `::error file=…::message` line per
/// problem, which GitHub shows as an annotation on the run and, for files in the repository, on the diff.
///
/// ```swift
/// for p in problems { console.print(GitHubAnnotations.error(file: path, title: "lstmkit validate", message: p.description)) }
/// ```
///
/// Control characters other than CR and LF are first shown escaped (``printable(_:)``), then the
/// runner's rules apply: in the message `%`, CR and LF become `%25`, `%0D`, `%0A`; in property values
/// also `:` and `,` (`%3A`, `%2C`). A name read from a file cannot start a workflow command of its own.
enum GitHubAnnotations {
    enum Level: String { case error, warning, notice }

    static func error(file: String, title: String? = nil, message: String) -> String {
        line(.error, file: file, title: title, message: message)
    }

    static func warning(file: String, title: String? = nil, message: String) -> String {
        line(.warning, file: file, title: title, message: message)
    }

    static func line(_ level: Level, file: String, title: String?, message: String) -> String {
        var properties = ["file=" + escapeProperty(file)]
        if let title { properties.append("title=" + escapeProperty(title)) }
        return "::\(level.rawValue) \(properties.joined(separator: ","))::\(escapeData(message))"
    }

    static func escapeData(_ s: String) -> String {
        let visible = String(String.UnicodeScalarView(s.unicodeScalars.flatMap { c -> [Unicode.Scalar] in
            c == "\n" || c == "\r" ? [c] : Array(printable(String(c)).unicodeScalars)
        }))
        return visible.replacing("%", with: "%25").replacing("\r", with: "%0D").replacing("\n", with: "%0A")
    }

    static func escapeProperty(_ s: String) -> String {
        escapeData(s).replacing(":", with: "%3A").replacing(",", with: "%2C")
    }
}
