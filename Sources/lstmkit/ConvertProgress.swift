import Foundation
import LSTMSchema

/// A one-line progress bar on stderr for `convert`, drawn from the size of the temporary output
/// file (so it works for every writer). Used only when stderr is a terminal, the input is large and
/// `--quiet` is not given.
final class ConvertProgressBar: ConversionProgress, @unchecked Sendable {
    /// Inputs at least this large get a progress bar.
    static let threshold = 64 << 20

    private let lock = NSLock()
    private var path: String?
    private var expected = 0
    private var stopped = false
    private var thread: Thread?

    /// A bar when `input` is large enough and `quiet` is off (the caller checks that stderr is a terminal).
    static func make(input: String, quiet: Bool) -> ConvertProgressBar? {
        guard !quiet else { return nil }
        var st = stat()
        guard stat(input, &st) == 0, Int(st.st_size) >= threshold else { return nil }
        return ConvertProgressBar()
    }

    func writing(temporaryPath: String, expectedBytes: Int) {
        lock.lock()
        path = temporaryPath
        expected = max(expectedBytes, 1)
        draw(written: 0, total: expected)
        lock.unlock()
        let t = Thread { [self] in loop() }
        thread = t
        t.start()
    }

    func finished() {
        lock.lock()
        let wasRunning = path != nil && !stopped
        stopped = true
        lock.unlock()
        if wasRunning { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func loop() {
        while true {
            lock.lock()
            let done = stopped, p = path, total = expected
            if !done, let p { draw(written: fileSize(p), total: total) }
            lock.unlock()
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
        let line = "\rconverting [\(bar)] \(Int(fraction * 100))% \(ByteCount.format(written)) / \(ByteCount.format(total))"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Human-readable byte counts: `512 B`, `1.5 KB`, `12.3 MB`, `1.02 GB` (powers of 1000, as `ls -h --si`).
enum ByteCount {
    static func format(_ bytes: Int) -> String {
        if bytes < 1000 { return "\(bytes) B" }
        let units = ["KB", "MB", "GB", "TB", "PB"]
        var v = Double(bytes) / 1000
        var i = 0
        while v >= 1000, i < units.count - 1 { v /= 1000; i += 1 }
        return String(format: v < 10 ? "%.2f %@" : v < 100 ? "%.1f %@" : "%.0f %@", v, units[i])
    }
}
