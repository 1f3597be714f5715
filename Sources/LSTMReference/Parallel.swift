import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs independent tasks on the machine's cores.
enum Parallel {
    /// Online processors (at least 1).
    static var processorCount: Int { Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Calls `body(0..<count)`, concurrently when `concurrent` and count > 1; returns when all are done.
    static func forEach(_ count: Int, concurrent: Bool, _ body: (Int) -> Void) {
        if count <= 1 || !concurrent {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
        }
    }
}

/// Hands a value to concurrent tasks that write disjoint memory through it.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
