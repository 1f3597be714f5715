/// Byte counts as lstmkit prints them: `512 B`, `2.0 KiB`, `12.3 MiB`, `1.5 GiB` (binary units,
/// powers of 1024, one decimal) — the one formatter of reports and error sentences.
public enum ByteCount {
    /// `bytes` in binary units; below 1 KiB the exact count followed by `small` ("B" in tables,
    /// "bytes" in sentences).
    public static func format(_ bytes: Int, small: String = "B") -> String {
        if bytes < 1024 { return "\(bytes) \(small)" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }
}
