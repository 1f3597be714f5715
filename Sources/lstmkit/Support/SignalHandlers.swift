#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorFormats

/// SIGINT / SIGTERM / SIGHUP: remove every uncommitted temporary output file, then exit 130 / 143 /
/// 129, so an interrupted `convert` leaves neither a partial output nor a stray temporary file behind.
enum SignalHandlers {
    static func install() {
        OutputFile.prepareForSignals()
        signal(SIGINT) { _ in
            OutputFile.removeAllTemporaryFiles()
            _exit(ExitStatus.interrupted.rawValue)
        }
        signal(SIGTERM) { _ in
            OutputFile.removeAllTemporaryFiles()
            _exit(ExitStatus.terminated.rawValue)
        }
        signal(SIGHUP) { _ in
            OutputFile.removeAllTemporaryFiles()
            _exit(ExitStatus.hangUp.rawValue)
        }
    }
}
