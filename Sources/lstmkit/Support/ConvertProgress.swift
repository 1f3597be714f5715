import Dispatch
import LSTMSchema
import Synchronization
import TensorFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar on stderr for `convert`, drawn from the size of the temporary output
/// file (so it works for every writer). Used only when stderr is a terminal, the input is large and
/// `--quiet` is not given.
final class ConvertProgressBar: ConversionProgress, Sendable {
    /// Inputs at least this large get a progress bar.
    static let threshold = 64 << 20

    private struct State {
        var path: String?
        var expected = 0
        var stopped = false
    }

    private let state = Mutex(State())

    /// A bar when `input` is large enough and `quiet` is off (the caller checks that stderr is a terminal).
    static func make(input: String, quiet: Bool) -> ConvertProgressBar? {
        guard !quiet else { return nil }
        var st = stat()
        guard stat(input, &st) == 0, Int(st.st_size) >= threshold else { return nil }
        return ConvertProgressBar()
    }

    func writing(temporaryPath: String, expectedBytes: Int) {
        state.withLock { s in
            s.path = temporaryPath
            s.expected = max(expectedBytes, 1)
            draw(written: 0, total: s.expected)
        }
        DispatchQueue.global().async { [self] in loop() }
    }

    func finished() {
        let wasRunning = state.withLock { s in
            defer { s.stopped = true }
            return s.path != nil && !s.stopped
        }
        if wasRunning { writeStandardError("\r\u{1B}[K") }
    }

    private func loop() {
        while true {
            let done = state.withLock { s -> Bool in
                if !s.stopped, let p = s.path { draw(written: fileSize(p), total: s.expected) }
                return s.stopped
            }
            if done { return }
            usleep(100_000)
        }
    }

    private func fileSize(_ p: String) -> Int {
        var st = stat()
        return stat(p, &st) == 0 ? Int(st.st_size) : 0
    }

    private func draw(written: Int, total: Int) {
        let fraction = min(1, Double(written) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        writeStandardError("\rconverting [\(bar)] \(Int(fraction * 100))% \(ByteCount.format(written)) / \(ByteCount.format(total))")
    }

    private func writeStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(2, raw.baseAddress! + done, raw.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}
