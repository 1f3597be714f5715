import LSTMSchema
import Testing
import TensorFormats
@testable import LSTMReference

/// The check can fail: wrong models, wrong gate order and every dropped ONNX feature are caught
/// by the default tolerance.
@Suite struct VerifyCanFailTests {
    static func load(_ name: String) throws -> (LSTMModule, Golden, [NamedTensor]) {
        let c = try #require(ReferenceUnitCase.named(name))
        let tensors = try c.tensors()
        return (try c.module(tensors), try Golden(tensors: tensors), tensors)
    }

    static func fails(_ module: LSTMModule, _ golden: Golden) throws -> Bool {
        try golden.verify(module: module).contains { !$0.passed }
    }

    /// Exchanges gate blocks a and b (0 i, 1 f, 2 g, 3 o) along the 4H axis of every tensor that has one.
    static func swapGates(_ module: LSTMModule, _ a: Int, _ b: Int) throws -> LSTMModule {
        func swap(_ t: Tensor?) throws -> Tensor? {
            guard let t else { return nil }
            let rows = t.shape[0] / 4, inner = t.elementCount / t.shape[0]
            var v = t.floats()
            for r in 0..<(rows * inner) { v.swapAt(a * rows * inner + r, b * rows * inner + r) }
            return try Tensor(float32: v, shape: t.shape)
        }
        var m = module
        for k in m.layers.indices {
            for d in m.layers[k].indices {
                var w = m.layers[k][d]
                w.weightIH = try swap(w.weightIH)!
                w.weightHH = try swap(w.weightHH)!
                w.biasIH = try swap(w.biasIH)
                w.biasHH = try swap(w.biasHH)
                m.layers[k][d] = w
            }
        }
        return m
    }

    @Test func goldenOfAnotherModelWithTheSameShapesFails() throws {
        let (a, goldenA, _) = try Self.load("l2_bi_h0c0")
        let (b, goldenB, _) = try Self.load("l2_bi_h0c0_other")
        #expect(a.config == b.config)
        #expect(try Self.fails(a, goldenB))
        #expect(try Self.fails(b, goldenA))
        #expect(try !Self.fails(a, goldenA))
    }

    @Test func inputAndForgetGatesSwappedFails() throws {
        for name in ["l2_bi_h0c0", "l1_uni", "l3_bi_proj_h0c0", "onnx_bi_peephole"] {
            let (m, golden, _) = try Self.load(name)
            #expect(try Self.fails(try Self.swapGates(m, 0, 1), golden), "\(name)")
            #expect(try Self.fails(try Self.swapGates(m, 2, 3), golden), "\(name) g↔o")
        }
    }

    @Test func directionsSwappedFails() throws {
        let (m, golden, _) = try Self.load("l2_bi_h0c0")
        var swapped = m
        for k in swapped.layers.indices { swapped.layers[k].swapAt(0, 1) }
        #expect(try Self.fails(swapped, golden))
    }

    @Test func droppedInitialStateFails() throws {
        let (m, _, tensors) = try Self.load("l2_bi_h0c0")
        var golden = try Golden(tensors: tensors)
        golden.h0 = nil
        #expect(try Self.fails(m, golden))
    }

    @Test func droppedSequenceLengthsFail() throws {
        for name in ["onnx_seqlens_bi", "l2_bi_packed", "onnx_seqlens_reverse_input_forget_clip"] {
            let (m, golden, _) = try Self.load(name)
            var g = golden
            g.sequenceLengths = nil
            #expect(try Self.fails(m, g), "\(name)")
        }
    }

    @Test func everyONNXFeatureMatters() throws {
        func mutated(_ name: String, _ change: (inout LSTMModule) -> Void) throws -> Bool {
            let (m, golden, _) = try Self.load(name)
            var copy = m
            change(&copy)
            return try Self.fails(copy, golden)
        }
        #expect(try mutated("onnx_reverse") { $0.variant?.direction = .forward })
        #expect(try mutated("onnx_clip") { $0.variant?.clip = nil })
        #expect(try mutated("onnx_clip") { $0.variant?.clip = 0.7 })
        #expect(try mutated("onnx_reverse_peephole_clip") { $0.variant?.clip = nil })
        #expect(try mutated("onnx_input_forget_peephole") { $0.variant?.inputForget = false })
        #expect(try mutated("onnx_bi_peephole") { m in
            for d in 0..<2 { m.layers[0][d].peephole = nil }
        })
        // P is stored i, o, f: reading it as i, f, o must fail.
        #expect(try mutated("onnx_bi_peephole") { m in
            for d in 0..<2 {
                let v = m.layers[0][d].peephole!.floats(), H = v.count / 3
                m.layers[0][d].peephole = try? Tensor(float32: Array(v[0..<H]) + Array(v[(2 * H)...]) + Array(v[H..<(2 * H)]), shape: [3 * H])
            }
        })
        for name in ["onnx_act_hardsigmoid_scaledtanh_relu_affine_leaky", "onnx_act_softsign_softplus_elu_thresholded",
                     "onnx_act_defaults_lowercase"] {
            #expect(try mutated(name) { $0.variant?.activations = [] }, "\(name)")
        }
        #expect(try mutated("onnx_act_hardsigmoid_scaledtanh_relu_affine_leaky") { $0.variant?.activationAlpha = [] })
        #expect(try mutated("onnx_act_hardsigmoid_scaledtanh_relu_affine_leaky") { $0.variant?.activationBeta = [] })
        #expect(try mutated("onnx_act_softsign_softplus_elu_thresholded") { $0.variant?.activationAlpha = [0.9] })
        // Reverse-direction activations differ from the forward ones: applying the first three to both fails.
        #expect(try mutated("onnx_act_defaults_lowercase") { m in
            let first = Array(m.variant!.activations.prefix(3))
            m.variant?.activations = first
        })
    }
}
