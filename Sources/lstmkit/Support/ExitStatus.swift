/// lstmkit's exit codes (DESIGN §3). Every status other than `.success` goes with exactly one
/// sentence on stderr naming the file (see ``CommandFailure``).
enum ExitStatus: Int32, Sendable {
    /// The command did what was asked and every check passed.
    case success = 0
    /// A check found a problem: a schema violation, a numeric mismatch, a difference.
    case checkFailed = 1
    /// The input cannot be used: unreadable, corrupt, hostile, unsupported, not representable in the target format.
    case unusableInput = 2
    /// The command line is wrong (ArgumentParser's validation exit, EX_USAGE).
    case usage = 64
    /// SIGHUP (128 + 1); temporary output files were removed.
    case hangUp = 129
    /// SIGINT (128 + 2); temporary output files were removed.
    case interrupted = 130
    /// SIGTERM (128 + 15); temporary output files were removed.
    case terminated = 143
}
