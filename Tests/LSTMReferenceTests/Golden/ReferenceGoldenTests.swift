import LSTMSchema
import Testing
import TensorFormats
@testable import LSTMReference

/// The forward pass against goldens from real torch, onnxruntime and onnx.reference
/// (`Fixtures/reference-unit`, made by `scripts/fixtures/reference_unit.py`).
@Suite struct ReferenceGoldenTests {
    @Test func everyCaseIsListed() {
        #expect(ReferenceUnitCase.all.count == 27, "cases.json must list every reference-unit case")
        let names = Set(ReferenceUnitCase.all.map(\.name))
        for required in ["l2_bi_long_220", "l3_bi_proj_h0c0", "l1_nobias_batch_first_h0c0", "onnx_seqlens_bi",
                         "onnx_layout1_bi_peephole", "onnx_clip", "onnx_input_forget_peephole"] {
            #expect(names.contains(required))
        }
    }

    /// Every case passes with the default tolerance, in float32 (on every kernel path this CPU
    /// runs) and in float64 arithmetic.
    @Test(arguments: ReferenceUnitCase.all, KernelPath.supported)
    func goldenPasses(_ c: ReferenceUnitCase, _ kernels: KernelPath) throws {
        let tensors = try c.tensors()
        let module = try c.module(tensors)
        let golden = try Golden(tensors: tensors)
        #expect(golden.family == (c.family == "onnx" ? .onnxNode : .pytorch))
        for precision in Precision.allCases {
            let results = try golden.verify(module: module, precision: precision, kernels: kernels)
            #expect(results.map(\.name) == ["output", "h_n", "c_n"])
            for r in results {
                #expect(r.passed, "\(c.name) \(precision) \(kernels) \(r.name): max abs \(r.maxAbsError), max rel \(r.maxRelError) at \(r.worstIndex), \(r.mismatches) over \(r.tolerance)")
                #expect(r.count > 0 || golden.sequenceLengths != nil)
            }
        }
    }

    /// float64 arithmetic matches torch's float64 run far below float32 rounding: the double path is really double.
    @Test func float64MatchesTorchDouble() throws {
        let c = try #require(ReferenceUnitCase.named("l2_bi_proj_float64"))
        let tensors = try c.tensors()
        let golden = try Golden(tensors: tensors)
        #expect(golden.output.dtype == .float64)
        let tight = Tolerance(rtol: 1e-12, atol: 1e-13)
        for r in try golden.verify(module: try c.module(tensors), tolerance: tight, precision: .float64) {
            #expect(r.passed, "\(r.name): max abs \(r.maxAbsError)")
        }
        let asFloat = try golden.verify(module: try c.module(tensors), tolerance: tight, precision: .float32)
        #expect(asFloat.contains { !$0.passed }, "float32 arithmetic should not reach 1e-12")
    }

    /// The long (220-step) case stays within float32 rounding of torch, not merely within tolerance.
    @Test func longSequenceErrorStaysSmall() throws {
        let c = try #require(ReferenceUnitCase.named("l2_bi_long_220"))
        let tensors = try c.tensors()
        for r in try Golden(tensors: tensors).verify(module: try c.module(tensors)) {
            #expect(r.maxAbsError < 2e-6, "\(r.name): \(r.maxAbsError)")
        }
    }
}
