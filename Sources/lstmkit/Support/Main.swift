#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LSTMKit {
    /// lstmkit's entry point: signal handlers, then ``CommandRunner`` (exit codes as DESIGN §3).
    static func main() {
        SignalHandlers.install()
        let code = CommandRunner.run(Array(CommandLine.arguments.dropFirst()), console: .standard)
        #if canImport(Glibc)
        Glibc.exit(code)
        #else
        Darwin.exit(code)
        #endif
    }
}
