import Foundation
import Testing
@testable import lstmkit

/// Every manifest entry with a `golden` (or `mismatched_goldens`) goes through `lstmkit verify`
/// in-process with the real readers, and must exit as `expect.verify_exit` states; every mismatched
/// golden must exit 1. Nothing is skipped: a listed file that is missing, or an entry without
/// `verify_exit`, is a failure.
@Suite struct GoldenManifestTests {
    struct Entry: Decodable, Sendable, CustomTestStringConvertible {
        struct Expect: Decodable, Sendable {
            var verifyExit: Int32?
            enum CodingKeys: String, CodingKey { case verifyExit = "verify_exit" }
        }
        var file: String
        var golden: String?
        var goldenModule: String?
        var mismatchedGoldens: [String]?
        var expect: Expect
        var testDescription: String { file }
        enum CodingKeys: String, CodingKey {
            case file, golden, expect
            case goldenModule = "golden_module"
            case mismatchedGoldens = "mismatched_goldens"
        }
    }

    static func entries() throws -> [Entry] {
        struct File: Decodable { var fixtures: [Entry] }
        let data = try Data(contentsOf: Manifest.location())
        return try JSONDecoder().decode(File.self, from: data).fixtures.filter { $0.golden != nil || $0.mismatchedGoldens != nil }
    }

    static func path(_ relative: String) -> String {
        Manifest.location().deletingLastPathComponent().appendingPathComponent(relative).path
    }

    @Test func manifestHasGoldens() throws {
        let all = try Self.entries()
        #expect(all.count >= 20, "expected the fixture set's goldens; found \(all.count) entries with one")
        #expect(all.contains { $0.expect.verifyExit == 1 }, "the manifest should hold a model that must fail verify")
        #expect(all.contains { !($0.mismatchedGoldens ?? []).isEmpty }, "the manifest should hold mismatched goldens")
    }

    @Test(arguments: (try? GoldenManifestTests.entries()) ?? [])
    func verifyExitsAsTheManifestStates(_ entry: Entry) throws {
        let model = Self.path(entry.file)
        guard FileManager.default.fileExists(atPath: model) else {
            Issue.record("\(entry.file): listed in the manifest but missing")
            return
        }
        let moduleArgs = entry.goldenModule.map { ["--module", $0] } ?? []
        if let golden = entry.golden {
            let expected = try #require(entry.expect.verifyExit, "\(entry.file) has a golden but no expect.verify_exit")
            guard FileManager.default.fileExists(atPath: Self.path(golden)) else {
                Issue.record("\(entry.file): golden \(golden) is missing")
                return
            }
            let run = lstmkit(["verify", model, "--golden", Self.path(golden)] + moduleArgs)
            #expect(run.exit == expected, "\(entry.file) against \(golden): exit \(run.exit), manifest says \(expected)\n\(run)")
            if expected == 1 {
                #expect(run.err.split(separator: "\n").count == 1 && run.err.contains(entry.file.split(separator: "/").last ?? ""),
                        "\(entry.file): a failed verify prints one sentence naming the model\n\(run)")
            }
            let json = lstmkit(["verify", model, "--golden", Self.path(golden), "--json"] + moduleArgs)
            #expect(json.exit == expected, "\(entry.file) --json: exit \(json.exit)\n\(json)")
            if let report = try? JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any] {
                let results = report["results"] as? [[String: Any]] ?? []
                #expect(results.compactMap { $0["name"] as? String } == ["output", "h_n", "c_n"], "\(entry.file): \(json.out)")
                #expect(results.allSatisfy { ($0["passed"] as? Bool) == true } == (expected == 0), "\(entry.file): \(json.out)")
            } else {
                Issue.record("\(entry.file): verify --json printed no JSON object\n\(json)")
            }
        }
        for other in entry.mismatchedGoldens ?? [] {
            let run = lstmkit(["verify", model, "--golden", Self.path(other)] + moduleArgs)
            #expect(run.exit == 1, "\(entry.file) against the mismatched \(other): exit \(run.exit), must be 1\n\(run)")
        }
    }

    /// Every golden of a one-layer module also verifies after `convert … --module M out.keras`
    /// (Keras's layout, one summed bias), or the conversion is refused naming what Keras lacks.
    /// (A multi-layer module becomes one Keras layer per nn.LSTM layer, read back as one module
    /// each; the interop tests run those in Keras.)
    @Test func everyGoldenVerifiesThroughAKerasFile() throws {
        let scratch = ConvertScratch()
        var written = 0
        var refused: [String] = []
        for entry in try Self.entries() where entry.expect.verifyExit == 0 {
            guard let golden = entry.golden else { continue }
            let moduleArgs = entry.goldenModule.map { ["--module", $0] } ?? []
            let out = scratch.path("m\(written + refused.count).keras")
            let inspect = lstmkit(["inspect", Self.path(entry.file), "--json"])
            let modules = (try? JSONSerialization.jsonObject(with: Data(inspect.out.utf8)) as? [String: Any])?["lstms"] as? [[String: Any]] ?? []
            let module = modules.first { ($0["module"] as? String) == (entry.goldenModule ?? "") } ?? modules.first
            guard (module?["num_layers"] as? Int) == 1 else { continue }
            let convert = lstmkit(["convert", Self.path(entry.file), out] + moduleArgs)
            if convert.exit == 2, convert.err.contains("cannot be written to a Keras file") || convert.err.contains("which a Keras LSTM cannot hold") {
                refused.append(entry.file)
                continue
            }
            #expect(convert.exit == 0, "\(entry.file) → .keras: \(convert)")
            guard convert.exit == 0 else { continue }
            written += 1
            // A float16 / bfloat16 source's two biases become one, rounded again (convert's note says so).
            let loose = convert.err.contains("rounded to float16 once") ? ["--rtol", "1e-2", "--atol", "1e-3"]
                : convert.err.contains("rounded to bfloat16 once") ? ["--rtol", "5e-2", "--atol", "1e-2"] : []
            let run = lstmkit(["verify", out, "--golden", Self.path(golden)] + loose)
            #expect(run.exit == 0, "\(entry.file) → .keras against \(golden): exit \(run.exit)\n\(run)")
        }
        #expect(written >= 20, "only \(written) goldens went through a .keras file; refused: \(refused)")
    }
}
