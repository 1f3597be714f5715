#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where commands write: stdout for results, stderr for the failure sentence and progress.
///
/// Commands print through a `Console` instead of `print` so that tests run them in-process and read
/// what they wrote: `Console.standard` writes to file descriptors 1 and 2 (unbuffered, so nothing is
/// lost when the process exits), `Console.capturing()` into ``out`` / ``err``.
final class Console: @unchecked Sendable {
    private let capture: Bool
    /// What was written to stdout (capturing consoles only).
    private(set) var out = ""
    /// What was written to stderr (capturing consoles only).
    private(set) var err = ""

    private init(capture: Bool) { self.capture = capture }

    /// The process's stdout and stderr.
    static let standard = Console(capture: false)

    /// A console that keeps everything written to it.
    static func capturing() -> Console { Console(capture: true) }

    /// Writes `text` and a newline to stdout.
    func print(_ text: String = "") {
        write(text + "\n", error: false)
    }

    /// Writes `text` and a newline to stderr.
    func printError(_ text: String) {
        write(text + "\n", error: true)
    }

    /// Writes `text` as it is (no newline added).
    func write(_ text: String, error: Bool) {
        if capture {
            if error { err += text } else { out += text }
            return
        }
        var bytes = Array(text.utf8)  // a copy: `write` needs a stable pointer
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let n = systemWrite(error ? 2 : 1, base + done, raw.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// True when stderr is a terminal (draw progress bars only then).
    var stderrIsTerminal: Bool { !capture && isatty(2) != 0 }
}

private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, bytes, count)
    #else
    Darwin.write(fd, bytes, count)
    #endif
}
