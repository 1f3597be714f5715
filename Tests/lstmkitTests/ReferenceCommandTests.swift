import Foundation
import Testing
import LSTMReference
import TensorFormats
@testable import lstmkit

/// `run`, `verify` and `compare` end to end, in-process, on real fixture files.
@Suite struct ReferenceCommandTests {
    static let fixtures = Manifest.location().deletingLastPathComponent()
    static func fx(_ relative: String) -> String { fixtures.appendingPathComponent(relative).path }
    /// Output with the machine's fixture folder replaced by `Fixtures` (snapshots hold no absolute paths).
    static func portable(_ text: String) -> String { text.replacingOccurrences(of: fixtures.path, with: "Fixtures") }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lstmkit-ref-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    // MARK: help

    @Test func runHelp() { assertSnapshot(lstmkit(["help", "run"]).out) }
    @Test func verifyHelp() { assertSnapshot(lstmkit(["help", "verify"]).out) }
    @Test func compareHelp() { assertSnapshot(lstmkit(["help", "compare"]).out) }

    // MARK: run

    @Test func runWritesAGoldenThatVerifies() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.npz").path
        let run = lstmkit(["run", Self.fx("npz/lstm_l2_bi.npz"), "--input", Self.fx("golden/lstm_l2_bi.npz"), "--output", out])
        #expect(run.exit == 0, "\(run)")
        #expect(run.out.contains("output (6, 2, 12), h_n (4, 2, 6), c_n (4, 2, 6) (float32)"), "\(run)")
        let written = try TensorFileIO.read(path: out)
        #expect(written.tensors.map(\.name) == ["output", "h_n", "c_n", "input", "h0", "c0", "batch_first"])
        let golden = try TensorFileIO.read(path: Self.fx("golden/lstm_l2_bi.npz"))
        for name in ["output", "h_n", "c_n"] {
            let r = ToleranceComparison(name: name, actual: try #require(written[name]), expected: try #require(golden[name]),
                                        tolerance: .float32)
            #expect(r.passed, "\(name): \(r.maxAbsError)")
        }
        // The written file is itself a golden: the same model verifies, another model does not.
        #expect(lstmkit(["verify", Self.fx("npz/lstm_l2_bi.npz"), "--golden", out]).exit == 0)
        #expect(lstmkit(["verify", Self.fx("npz/lstm_l2_bi_nobias.npz"), "--golden", out]).exit == 1)
        // An existing output is kept without --force.
        let again = lstmkit(["run", Self.fx("npz/lstm_l2_bi.npz"), "--input", Self.fx("golden/lstm_l2_bi.npz"), "--output", out])
        #expect(again.exit == 2 && again.err.contains("--force"), "\(again)")
        let forced = lstmkit(["run", Self.fx("npz/lstm_l2_bi.npz"), "--input", Self.fx("golden/lstm_l2_bi.npz"),
                              "--output", out, "--force", "--precision", "float64"])
        #expect(forced.exit == 0, "\(forced)")
        #expect(try TensorFileIO.read(path: out)["output"]?.dtype == .float64)
    }

    @Test func runTakesNpyInputsAndBatchFirst() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = Self.fx("reference-unit/l1_nobias_batch_first_h0c0.npz")
        let golden = try TensorFileIO.read(path: model)
        func save(_ name: String) throws -> String {
            let path = dir.appendingPathComponent(name + ".npy").path
            let file = try OutputFile(path: path, overwrite: false)
            try NpyWriter.write(try #require(golden[name]), to: file)
            try file.commit()
            return path
        }
        let x = try save("input"), h0 = try save("h0"), c0 = try save("c0")
        let out = dir.appendingPathComponent("out.npz").path
        let run = lstmkit(["run", model, "--input", x, "--h0", h0, "--c0", c0, "--batch-first", "--output", out])
        #expect(run.exit == 0, "\(run)")
        let written = try TensorFileIO.read(path: out)
        #expect(written["output"]?.shape == [3, 5, 9])
        #expect(written["batch_first"]?.doubles() == [1])
        for name in ["output", "h_n", "c_n"] {
            let r = ToleranceComparison(name: name, actual: try #require(written[name]), expected: try #require(golden[name]),
                                        tolerance: .float32)
            #expect(r.passed, "\(name): \(r.maxAbsError)")
        }
        // Without --batch-first the same (3, 5, 4) input is read as 3 steps of batch 5: h0 no longer fits.
        let timeMajor = lstmkit(["run", model, "--input", x, "--h0", h0, "--c0", c0, "--output", out, "--force"])
        #expect(timeMajor.exit == 2 && timeMajor.err.contains("h0.npy"), "\(timeMajor)")
    }

    @Test func runRefusesInputsThatDoNotFit() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.npz").path
        // lstm_l3_bi has input_size 4... its golden input has another width than lstm_l1_uni's.
        let wrong = lstmkit(["run", Self.fx("npz/lstm_l1_uni.npz"), "--input", Self.fx("golden/lstm_l2_bi.npz"), "--output", out])
        #expect(wrong.exit == 2, "\(wrong)")
        #expect(wrong.err.contains("golden/lstm_l2_bi.npz") && wrong.err.contains("'input'") && wrong.err.contains("input_size"), "\(wrong)")
        #expect(!FileManager.default.fileExists(atPath: out), "a failed run leaves nothing behind")
        let missing = lstmkit(["run", Self.fx("npz/lstm_l1_uni.npz"), "--input", dir.appendingPathComponent("nope.npy").path, "--output", out])
        #expect(missing.exit == 2 && missing.err.contains("nope.npy"), "\(missing)")
        let usage = lstmkit(["run", Self.fx("npz/lstm_l1_uni.npz"), "--output", out])
        #expect(usage.exit == 64, "\(usage)")
    }

    // MARK: verify

    /// The passing report, with the rounding-level errors and the index of the closest element masked:
    /// they depend on the CPU's kernels (AVX2 + FMA or portable SIMD), not on the report.
    @Test func verifyReportPasses() {
        let r = lstmkit(["verify", Self.fx("npz/lstm_l2_bi.npz"), "--golden", Self.fx("golden/lstm_l2_bi.npz")])
        #expect(r.exit == 0)
        #expect(r.err.isEmpty)
        let masked = r.out.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard line.hasSuffix("pass") else { return String(line) }
            var cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            // name, shape…, max abs, max rel, worst index…, mismatches, result
            let shapeEnd = cells.firstIndex { $0.hasSuffix(")") } ?? 1
            for i in (shapeEnd + 1)...(shapeEnd + 2) where cells[i] != "0" {
                #expect(Double(cells[i]).map { $0 < 1e-3 } == true, "\(line)")
                cells[i] = "<err>"
            }
            let indexEnd = cells[(shapeEnd + 3)...].firstIndex { $0.hasSuffix(")") } ?? (shapeEnd + 3)
            cells.replaceSubrange((shapeEnd + 3)...indexEnd, with: ["<index>"])
            return cells.joined(separator: " ")
        }.joined(separator: "\n")
        assertSnapshot(Self.portable(masked))
    }

    @Test func verifyReportFails() {
        let r = lstmkit(["verify", Self.fx("reference-unit/l2_bi_h0c0.npz"), "--golden", Self.fx("reference-unit/l2_bi_h0c0_other.npz")])
        #expect(r.exit == 1)
        // The computed value in the sentence is printed to 7 digits; its last digit may differ between
        // CPU kernels, so it is masked (the golden's value is not).
        let err = r.err.replacingOccurrences(of: #": -?[0-9.e+-]+ vs expected"#, with: ": <value> vs expected",
                                             options: .regularExpression)
        assertSnapshot(Self.portable(r.out + "--- stderr ---\n" + err))
    }

    @Test func verifyJSONCarriesResults() throws {
        let r = lstmkit(["verify", Self.fx("npz/lstm_l1_uni_proj.npz"), "--golden", Self.fx("golden/lstm_l1_uni_proj.npz"), "--json"])
        #expect(r.exit == 0, "\(r)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(Array(report.keys).sorted() == ["file", "format", "lstms", "problems", "results", "tensors"])
        let results = try #require(report["results"] as? [[String: Any]])
        #expect(results.count == 3)
        for result in results {
            #expect(Set(result.keys) == ["name", "max_abs_error", "max_rel_error", "worst_index", "mismatches", "passed"])
            #expect(result["passed"] as? Bool == true)
            #expect((result["max_abs_error"] as? Double ?? 1) < 1e-5)
            #expect((result["worst_index"] as? [Int])?.count == 3)
        }
    }

    @Test func verifyToleranceOptions() {
        let model = Self.fx("npz/lstm_l1_bi.npz"), golden = Self.fx("golden/lstm_l1_bi_bfloat16.npz")
        // The bfloat16 golden was computed from bfloat16-rounded weights: float32 weights miss it at
        // float32 tolerance, and a bfloat16 tolerance accepts it.
        #expect(lstmkit(["verify", model, "--golden", golden]).exit == 1)
        #expect(lstmkit(["verify", model, "--golden", golden, "--rtol", "1.6e-2", "--atol", "1e-2"]).exit == 0)
        // The bfloat16 model itself passes with its dtype's default tolerance.
        #expect(lstmkit(["verify", Self.fx("npz/lstm_l1_bi_bfloat16.npz"), "--golden", golden]).exit == 0)
        let bad = lstmkit(["verify", model, "--golden", golden, "--rtol", "-1"])
        #expect(bad.exit == 64 && bad.err.contains("--rtol"), "\(bad)")
        let nan = lstmkit(["verify", model, "--golden", golden, "--atol", "nan"])
        #expect(nan.exit == 64, "\(nan)")
    }

    @Test func verifyRefusesABadGolden() {
        // A model file is not a golden: it has no 'input'.
        let r = lstmkit(["verify", Self.fx("npz/lstm_l1_uni.npz"), "--golden", Self.fx("npz/lstm_l1_uni.npz")])
        #expect(r.exit == 2, "\(r)")
        #expect(r.err.contains("npz/lstm_l1_uni.npz") && r.err.contains("'input'"), "\(r)")
        #expect(r.out.isEmpty)
        // A golden of another shape is a numeric failure, not an unusable file.
        let shape = lstmkit(["verify", Self.fx("npz/lstm_l2_uni.npz"), "--golden", Self.fx("golden/lstm_l2_bi.npz")])
        #expect(shape.exit == 2, "input width 4 does not fit the model: \(shape)")
    }

    @Test func verifyOnnxNodeGoldenAndSwappedGates() {
        // Weights + ONNX golden in one npz need the ONNX features, which an npz cannot carry: the
        // PyTorch-layout cases verify through the CLI, and a swapped-gate model fails.
        #expect(lstmkit(["verify", Self.fx("reference-unit/l3_bi_proj_h0c0.npz"), "--golden", Self.fx("reference-unit/l3_bi_proj_h0c0.npz")]).exit == 0)
        #expect(lstmkit(["verify", Self.fx("reference-unit/l2_bi_packed.npz"), "--golden", Self.fx("reference-unit/l2_bi_packed.npz")]).exit == 0)
        #expect(lstmkit(["verify", Self.fx("reference-unit/onnx_forward.npz"), "--golden", Self.fx("reference-unit/onnx_forward.npz")]).exit == 0)
    }

    // MARK: compare

    @Test func compareEqualFiles() {
        let r = lstmkit(["compare", Self.fx("npz/lstm_l2_bi.npz"), Self.fx("npz/lstm_l2_bi_fortran.npz")])
        #expect(r.exit == 0, "\(r)")
        #expect(r.out.contains("same: A and B agree"))
        let numeric = lstmkit(["compare", Self.fx("npz/lstm_l2_bi.npz"), Self.fx("npz/lstm_l2_bi_bigendian.npz"), "--numeric"])
        #expect(numeric.exit == 0, "\(numeric)")
    }

    @Test func compareReportDifferent() {
        let r = lstmkit(["compare", Self.fx("reference-unit/l2_bi_h0c0.npz"), Self.fx("reference-unit/l2_bi_h0c0_other.npz")])
        #expect(r.exit == 1)
        assertSnapshot(Self.portable(r.out + "--- stderr ---\n" + r.err))
        let numeric = lstmkit(["compare", Self.fx("reference-unit/l2_bi_h0c0.npz"), Self.fx("reference-unit/l2_bi_h0c0_other.npz"), "--numeric"])
        #expect(numeric.exit == 1, "\(numeric)")
        #expect(numeric.err.contains("output"), "\(numeric)")
    }

    @Test func compareConfigDifference() {
        let r = lstmkit(["compare", Self.fx("npz/lstm_l2_bi.npz"), Self.fx("npz/lstm_l2_bi_nobias.npz")])
        #expect(r.exit == 1, "\(r)")
        #expect(r.err.contains("bias differs: true in A, false in B"), "\(r)")
        let json = lstmkit(["compare", Self.fx("npz/lstm_l2_bi.npz"), Self.fx("npz/lstm_l1_uni.npz"), "--json"])
        #expect(json.exit == 1, "\(json)")
        #expect(json.out.contains("\"file_b\"") && json.out.contains("hidden_size differs"), "\(json)")
    }

    @Test func compareAcrossDtypes() {
        let a = Self.fx("npz/lstm_l1_bi.npz"), half = Self.fx("npz/lstm_l1_bi_float16.npz")
        #expect(lstmkit(["compare", a, half]).exit == 0, "float16 rounding is within float16's default tolerance")
        let exact = lstmkit(["compare", a, half, "--rtol", "0", "--atol", "0"])
        #expect(exact.exit == 1 && exact.err.contains("weight_ih_l0"), "\(exact)")
        #expect(lstmkit(["compare", a, Self.fx("npz/lstm_l1_bi_float64.npz")]).exit == 0,
                "the float64 file holds the float32 weights widened exactly")
    }

    @Test func compareNeedsAModuleWhenThereAreSeveral() {
        let r = lstmkit(["compare", Self.fx("npz/two_lstms_prefixed.npz"), Self.fx("npz/lstm_l1_bi.npz")])
        #expect(r.exit == 64, "\(r)")
        let picked = lstmkit(["compare", Self.fx("npz/two_lstms_prefixed.npz"), Self.fx("npz/lstm_l1_bi.npz"), "--module", "encoder"])
        #expect(picked.exit == 0 || picked.exit == 1, "\(picked)")
    }
}
