import LSTMReference
import LSTMSchema
import TensorFormats

/// Text and JSON for the numeric results of `verify` and `compare`: one row per compared array.
enum ReferenceReport {
    /// `name  shape  max abs error  max rel error  worst index  mismatches  result`, one row per comparison.
    static func table(_ results: [ToleranceComparison], nameTitle: String = "output") -> TextTable {
        var table = TextTable([.init(nameTitle), "shape", .init("max abs error", .right), .init("max rel error", .right),
                               "worst index", .init("mismatches", .right), "result"])
        for r in results {
            let shape = r.shapesMatch ? formatShape(r.expectedShape)
                : "\(formatShape(r.actualShape)) vs \(formatShape(r.expectedShape))"
            table.append([r.name, shape, number(r.maxAbsError), number(r.maxRelError),
                          r.worstIndex.isEmpty ? "-" : formatShape(r.worstIndex),
                          r.shapesMatch ? "\(r.mismatches)/\(r.count)" : "shape", r.passed ? "pass" : "FAIL"])
        }
        return table
    }

    /// The predicate with its numbers, e.g. `|a − b| ≤ 1e-05 + 1.3e-06·|b|`.
    static func predicate(_ t: Tolerance) -> String {
        "|a - b| <= \(short(t.atol)) + \(short(t.rtol))*|b|"
    }

    /// `results` entries of DESIGN §3's JSON (non-finite errors print as null).
    static func json(_ results: [ToleranceComparison]) -> [JSONReport.Result] {
        results.map {
            JSONReport.Result(name: $0.name, maxAbsError: $0.maxAbsError, maxRelError: $0.maxRelError,
                              worstIndex: $0.worstIndex.isEmpty && $0.count == 0 ? nil : $0.worstIndex,
                              mismatches: $0.mismatches, passed: $0.passed)
        }
    }

    /// The stderr sentence for failed comparisons: how many of the `items` failed, then the first in
    /// detail (`reference` names where the expected value comes from: "expected", "A's").
    static func failureSentence(_ prefix: String, _ results: [ToleranceComparison], items: String,
                                reference: String = "expected") -> String {
        let failed = results.filter { !$0.passed }
        guard let first = failed.first else { return "\(prefix): all within tolerance" }
        var s = "\(prefix): \(failed.count) of \(results.count) \(items) \(failed.count == 1 ? "differs" : "differ"); "
        if !first.shapesMatch {
            s += "\(first.name) has shape \(formatShape(first.actualShape)), \(reference) \(formatShape(first.expectedShape))"
        } else {
            let outside = first.tolerance == .exact ? "differ" : "are outside \(predicate(first.tolerance))"
            s += "\(first.name): \(first.mismatches) of \(first.count) values \(outside)"
            if let a = first.worstActual, let b = first.worstExpected {
                s += ", worst at \(formatShape(first.worstIndex)): \(short(a)) vs \(reference) \(short(b))"
            }
        }
        return s
    }

    /// Errors in a table cell: `0`, `2.38e-07`, `inf`.
    static func number(_ x: Double) -> String {
        if x == 0 { return "0" }
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return cFormat("%.2e", x)
    }

    /// A value with up to 7 significant digits (`0.1303293`, `1e-05`).
    static func short(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return cFormat("%.7g", x)
    }

    /// `2 layers, bidirectional, hidden 6, proj 4` for a headline.
    static func describe(_ m: LSTMModule) -> String {
        let c = m.config
        var parts = ["input \(c.inputSize)", "hidden \(c.hiddenSize)", "\(c.numLayers) layer\(c.numLayers == 1 ? "" : "s")"]
        if c.bidirectional { parts.append("bidirectional") }
        if c.projSize > 0 { parts.append("proj \(c.projSize)") }
        if !c.bias { parts.append("no bias") }
        parts.append(c.dtype.name)
        if let onnx = m.variant, !onnx.nonPyTorchFeatures.isEmpty { parts += onnx.nonPyTorchFeatures }
        return "LSTM \(SchemaProblem.displayName(m.name)) (" + parts.joined(separator: ", ") + ")"
    }
}
