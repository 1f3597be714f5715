import Dispatch
import Synchronization

/// CRC-32 checks of STORED ZIP members that run on a background thread while the caller already
/// uses the bytes (`convert` copies them to its output meanwhile, on the other core).
///
/// Made by a ``ZipArchive`` opened with ``Limits/tensorChecksumsInBackground``; readers hand it on
/// in ``TensorFile/checksums``. Until ``wait()`` has returned, the bytes are unchecked: whoever
/// opts in must call it before trusting them (convert calls it before committing its output).
/// Checks run in the order they were added; the mapped pages they read are released behind them.
/// When this object is released before ``wait()``, checks not yet started are skipped.
public final class BackgroundChecksums: Sendable {
    private let queue = DispatchQueue(label: "lstmkit.checksums", qos: .userInitiated)
    private let failure = Mutex<FormatError?>(nil)

    init() {}

    /// Queues `check`, which returns the problem it found (nil when the bytes are intact).
    func add(_ check: @escaping @Sendable () -> FormatError?) {
        queue.async { [weak self] in
            guard let self, self.failure.withLock({ $0 == nil }) else { return }
            if let problem = check() { self.failure.withLock { if $0 == nil { $0 = problem } } }
        }
    }

    /// Waits for every queued check; throws the first mismatch found.
    public func wait() throws(FormatError) {
        queue.sync {}
        if let problem = failure.withLock({ $0 }) { throw problem }
    }
}
