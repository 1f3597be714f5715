/// The float32 values of a quantized tensor, (q − zero_point) · scale, computed when first needed
/// (deferred storage: metadata-only commands never read the integers).
///
/// | scheme | value of element i |
/// |---|---|
/// | per tensor (`scale`, `zero_point`) | (q[i] − zero_point) · scale |
/// | per channel (`scales`, `zero_points` of the `axis` length) | (q[i] − zero_points[c]) · scales[c], c = i's index along `axis` |
///
/// Computed in float64, rounded to float32; row-major little-endian.
struct DequantizedBytes: DeferredBytes {
    enum Scheme: Sendable {
        case perTensor(scale: Double, zeroPoint: Int64)
        case perChannel(scales: Tensor, zeroPoints: Tensor, axis: Int)
    }

    let ints: Tensor
    let scheme: Scheme
    /// The storage record, for errors.
    let record: String

    var count: Int { ints.elementCount * 4 }
    var file: String { ints.storage.originFile ?? "" }
    var member: String? { record }
    var what: String { "dequantizing '\(record)' (shape \(ints.shape))" }

    func fill(_ destination: UnsafeMutableRawBufferPointer) throws(FormatError) {
        let q = try ints.loaded().int64s()
        let out = destination.bindMemory(to: Float.self)
        switch scheme {
        case .perTensor(let scale, let zeroPoint):
            for i in q.indices { out[i] = Float(Double(q[i] - zeroPoint) * scale) }
        case .perChannel(let scalesTensor, let zeroPointsTensor, let axis):
            let scales = try scalesTensor.loaded().doubles(), zeroPoints = try zeroPointsTensor.loaded().int64s()
            let shape = ints.shape
            let inner = shape[(axis + 1)...].reduce(1, *)
            for i in q.indices {
                let c = (i / inner) % shape[axis]
                out[i] = Float(Double(q[i] - zeroPoints[c]) * scales[c])
            }
        }
    }

    func stream(_ range: Range<Int>, into sink: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
        let buffer = try MemoryBudget.current.allocate(count, for: what)
        try fill(buffer.buffer)
        try sink(UnsafeRawBufferPointer(rebasing: buffer.buffer[range]))
    }
}
