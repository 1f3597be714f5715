import Testing
import TensorFormats
@testable import LSTMReference

@Suite struct ToleranceTests {
    @Test func predicateIsAtolPlusRtolTimesExpected() {
        let t = Tolerance(rtol: 0.125, atol: 0.0625)
        #expect(t.accepts(1.1875, expected: 1.0))       // 0.1875 ≤ 0.0625 + 0.125·1 (exact in binary)
        #expect(!t.accepts(1.1876, expected: 1.0))
        #expect(t.accepts(0.0625, expected: 0))         // atol alone at expected 0
        #expect(!t.accepts(0.0626, expected: 0))
        #expect(t.accepts(-1.1875, expected: -1.0))
        #expect(t.accepts(0.8125, expected: 1.0))
    }

    @Test func predicateIsAsymmetric() {
        let t = Tolerance(rtol: 0.5, atol: 0)
        #expect(t.accepts(1, expected: 2))              // |1−2| = 1 ≤ 0.5·2
        #expect(!t.accepts(2, expected: 1))             // |2−1| = 1 > 0.5·1
    }

    @Test func predicateIsNotTransitive() {
        let t = Tolerance(rtol: 0, atol: 1)
        #expect(t.accepts(1, expected: 0) && t.accepts(2, expected: 1))
        #expect(!t.accepts(2, expected: 0))
    }

    @Test func nanMatchesOnlyNaN() {
        let t = Tolerance.float32
        #expect(t.accepts(.nan, expected: .nan))
        #expect(!t.accepts(.nan, expected: 0))
        #expect(!t.accepts(0, expected: .nan))
        #expect(!Tolerance(rtol: 1e9, atol: 1e9).accepts(1, expected: .nan))
    }

    @Test func infinityMustMatchExactly() {
        let loose = Tolerance(rtol: 1e9, atol: 1e30)
        #expect(loose.accepts(.infinity, expected: .infinity))
        #expect(loose.accepts(-.infinity, expected: -.infinity))
        #expect(!loose.accepts(.infinity, expected: -.infinity))
        #expect(!loose.accepts(1e38, expected: .infinity))
        #expect(!loose.accepts(.infinity, expected: 1e38))
    }

    @Test func defaultsPerDType() {
        #expect(Tolerance.default(for: .float32) == Tolerance(rtol: 1.3e-6, atol: 1e-5))
        #expect(Tolerance.default(for: .float16) == Tolerance(rtol: 1e-3, atol: 1e-5))
        #expect(Tolerance.default(for: .bfloat16) == Tolerance(rtol: 1.6e-2, atol: 1e-5))
        #expect(Tolerance.default(for: .float64) == Tolerance(rtol: 1e-7, atol: 1e-7))
        #expect(Tolerance.default(for: .float32, .bfloat16) == .bfloat16)
        #expect(Tolerance.default(for: .float64, .float32) == Tolerance(rtol: 1.3e-6, atol: 1e-5))
    }

    @Test func comparisonReportsErrorsWorstIndexAndCount() {
        let expected: [Double] = [0, 1, 2, 3, 4, 5]
        let actual: [Double] = [0, 1.5, 2, 3, 4, 5.001]
        let r = ToleranceComparison(name: "x", actual: actual, actualShape: [2, 3], expected: expected,
                                    expectedShape: [2, 3], tolerance: Tolerance(rtol: 0, atol: 0.01))
        #expect(!r.passed)
        #expect(r.count == 6)
        #expect(r.mismatches == 1)
        #expect(r.maxAbsError == 0.5)
        #expect(r.maxRelError == 0.5)
        #expect(r.worstIndex == [0, 1])
        #expect(r.worstExpected == 1 && r.worstActual == 1.5)
    }

    @Test func passingComparisonNamesElementClosestToFailing() {
        let r = ToleranceComparison(name: "x", actual: [1.0, 2.0015, 3.001], actualShape: [3],
                                    expected: [1.0, 2.0, 3.0], expectedShape: [3], tolerance: Tolerance(rtol: 0.001, atol: 0))
        #expect(r.passed)
        #expect(r.worstIndex == [1])        // 0.0015 of 0.002 allowed; index 2 uses 0.001 of 0.003
    }

    @Test func relativeErrorAgainstZero() {
        let r = ToleranceComparison(name: "x", actual: [0.0, 1e-9], actualShape: [2], expected: [0.0, 0.0],
                                    expectedShape: [2], tolerance: .float32)
        #expect(r.passed)
        #expect(r.maxRelError == .infinity)
        #expect(r.maxAbsError == 1e-9)
    }

    @Test func nanAndInfinityInComparisons() {
        let same = ToleranceComparison(name: "x", actual: [.nan, .infinity, 1], actualShape: [3],
                                       expected: [.nan, .infinity, 1], expectedShape: [3], tolerance: .float32)
        #expect(same.passed)
        #expect(same.maxAbsError == 0)
        let nanOneSide = ToleranceComparison(name: "x", actual: [1.0, .nan], actualShape: [2],
                                             expected: [1.0, 2.0], expectedShape: [2], tolerance: .float32)
        #expect(!nanOneSide.passed)
        #expect(nanOneSide.mismatches == 1)
        #expect(nanOneSide.maxAbsError == .infinity)
        #expect(nanOneSide.worstIndex == [1])
    }

    @Test func shapeMismatchFails() {
        let r = ToleranceComparison(name: "x", actual: [1.0, 2, 3, 4, 5, 6], actualShape: [3, 2],
                                    expected: [1.0, 2, 3, 4, 5, 6], expectedShape: [2, 3], tolerance: .float32)
        #expect(!r.passed)
        #expect(!r.shapesMatch)
        #expect(r.count == 0)
        #expect(r.mismatches == 6)
        let r2 = ToleranceComparison(name: "x", actual: [Double](), actualShape: [0], expected: [1.0], expectedShape: [1],
                                     tolerance: .float32)
        #expect(!r2.passed)
    }

    /// Tensors larger than one comparison slice: indices stay global, nothing is lost at slice edges.
    @Test func largeTensorsAreComparedInSlices() throws {
        let n = 3 * 37
        var expected = (0..<n).map { Float($0) * 0.25 }
        expected[n - 2] = 2
        var actual = expected
        actual[n - 2] = 2.5
        actual[17] += 1e-6
        for slice in [1, 7, 36, 37, 1000] {
            let r = ToleranceComparison(name: "big", actual: try Tensor(float32: actual, shape: [3, 37]),
                                        expected: try Tensor(float32: expected, shape: [3, 37]), tolerance: .float32,
                                        sliceElements: slice)
            #expect(r.count == n)
            #expect(r.mismatches == 1)
            #expect(r.worstIndex == [2, 35])
            #expect(r.worstActual == 2.5 && r.worstExpected == 2)
            #expect(r.maxAbsError == 0.5)
        }
    }

    @Test func tensorComparisonReadsAnyFloatDType() throws {
        let expected = try Tensor(float32: [1, 2, 3], shape: [3])
        let actual = try Tensor(float64: [1, 2, 3.0000001], shape: [3])
        #expect(ToleranceComparison(name: "t", actual: actual, expected: expected, tolerance: .float32).passed)
        #expect(!ToleranceComparison(name: "t", actual: actual, expected: expected, tolerance: .exact).passed)
        let half = try expected.converted(to: .float16)
        #expect(ToleranceComparison(name: "t", actual: half, expected: expected, tolerance: .exact).passed)
    }
}
