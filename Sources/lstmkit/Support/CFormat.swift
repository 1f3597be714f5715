#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `printf`-style formatting of numbers (`%.2e`, `%.3f`, ...) through the C library, so the
/// executable needs no Foundation (which costs every command several milliseconds to load).
/// Only numeric conversions: strings are interpolated by the caller.
func cFormat(_ format: String, _ arguments: CVarArg...) -> String {
    withVaList(arguments) { list in
        var buffer = [CChar](repeating: 0, count: 128)
        let needed = Int(vsnprintf(&buffer, buffer.count, format, list))
        guard needed >= buffer.count else { return String(cString: buffer) }
        return withVaList(arguments) { again in
            var bigger = [CChar](repeating: 0, count: needed + 1)
            _ = vsnprintf(&bigger, bigger.count, format, again)
            return String(cString: bigger)
        }
    }
}
