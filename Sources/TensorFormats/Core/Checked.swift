/// Overflow-checked size arithmetic for sizes read from files. Each returns nil on overflow or
/// on a negative operand, so a hostile size can never trap.
public enum Checked {
    public static func add(_ a: Int, _ b: Int) -> Int? {
        guard a >= 0, b >= 0 else { return nil }
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }

    public static func mul(_ a: Int, _ b: Int) -> Int? {
        guard a >= 0, b >= 0 else { return nil }
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }

    /// Product of dimensions (1 for a 0-d shape); nil when a dimension is negative or it overflows.
    public static func product<S: Sequence>(_ dims: S) -> Int? where S.Element == Int {
        var total = 1
        for d in dims {
            guard let t = mul(total, d) else { return nil }
            total = t
        }
        return total
    }

    /// `UInt64` from a file to `Int`, nil when it does not fit.
    public static func int(_ v: UInt64) -> Int? {
        v <= UInt64(Int.max) ? Int(v) : nil
    }
}
