/// Approximately standard-normal float32 values (Irwin–Hall: the sum of 12 uniforms minus 6) from a
/// seeded SplitMix64. Integer and exactly rounded arithmetic only, so a seed gives the same values
/// on every machine.
public struct SeededNormal {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func values(_ n: Int) -> [Float] {
        (0..<n).map { _ in
            var sum = 0.0
            for _ in 0..<12 { sum += Double(next() >> 11) / Double(1 << 53) }
            return Float(sum - 6)
        }
    }
}
