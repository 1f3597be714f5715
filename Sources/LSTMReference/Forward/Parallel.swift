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

extension Parallel {
    /// Calls `body(0..<count)` with every part on its own thread (part 0 on the caller's), so that
    /// parts may wait for each other; returns true when all are done. When a thread
    /// cannot be started nothing runs and the result is false (the caller takes another path).
    static func onOwnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> Bool {
        guard count > 1 else {
            if count == 1 { body(0) }
            return true
        }
        let start = StartGate()
        var threads: [pthread_t] = []
        for part in 1..<count {
            let context = Unmanaged.passRetained(ThreadBody(start) { body(part) }).toOpaque()
            var thread = pthread_t()
            guard pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                let work = Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue()
                work.gate.go.wait()
                if !work.gate.cancelled { work.run() }
                return nil
            }, context) == 0 else {
                Unmanaged<ThreadBody>.fromOpaque(context).release()
                start.cancelled = true
                for _ in threads { start.go.signal() }
                for thread in threads { pthread_join(thread, nil) }
                return false
            }
            threads.append(thread)
        }
        for _ in threads { start.go.signal() }
        body(0)
        for thread in threads { pthread_join(thread, nil) }
        return true
    }
}

/// Holds workers until every one has started (or tells them to give up).
private final class StartGate: @unchecked Sendable {
    let go = DispatchSemaphore(value: 0)
    /// Written before `go` is signalled.
    var cancelled = false
}

private final class ThreadBody: @unchecked Sendable {
    let gate: StartGate
    let run: @Sendable () -> Void
    init(_ gate: StartGate, _ run: @escaping @Sendable () -> Void) {
        self.gate = gate
        self.run = run
    }
}
