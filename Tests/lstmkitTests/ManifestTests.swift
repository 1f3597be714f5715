import Foundation
import Testing
@testable import lstmkit

/// Every fixture listed in `Fixtures/manifest.json` (or the manifest named by `LSTMKIT_MANIFEST`;
/// fixture paths are relative to the manifest's folder) is run through `lstmkit validate --json` and
/// `lstmkit inspect` / `inspect --json` in-process, with the real readers, and must give exactly
/// what the manifest states:
///
/// - `expect.exit` is validate's exit code; inspect exits 0, or 2 when validate does;
/// - exit 2: stdout empty, stderr one line naming the file and containing `expect.error_contains`;
/// - exit 0 / 1: `format`, and the `lstms` configs (all keys, by module; for exit 1 only when the
///   manifest lists them); `expect.problems` equals the set of (module, tensor) the report names
///   (a manifest tensor may be given with or without the module prefix; omitted = module-level).
@Suite struct ManifestTests {
    @Test func manifestIsPresentAndListsFixtures() throws {
        let manifest = try Manifest.load()
        #expect(!manifest.fixtures.isEmpty, "\(Manifest.location().path) lists no fixtures")
    }

    @Test(arguments: (try? Manifest.load().fixtures) ?? [])
    func fixtureGivesTheStatedOutcome(_ fixture: Manifest.Fixture) throws {
        let path = Manifest.location().deletingLastPathComponent().appendingPathComponent(fixture.file).path
        let label = "\(fixture.file) [\(fixture.kind)] \(fixture.description ?? "")"
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("\(label): listed in the manifest but missing at \(path)")
            return
        }
        if let convertExit = fixture.expect.convertExit {
            let out = FileManager.default.temporaryDirectory
                .appendingPathComponent("lstmkit-manifest-\(UInt32.random(in: 0...UInt32.max)).npz").path
            defer { try? FileManager.default.removeItem(atPath: out) }
            let convert = lstmkit(["convert", path, out])
            #expect(convert.exit == convertExit, "\(label): convert exited \(convert.exit), manifest says \(convertExit)\n\(convert)")
            if let fragment = fixture.expect.convertErrorContains {
                #expect(convert.err.contains(fragment), "\(label): convert's error lacks \"\(fragment)\": \(convert.err)")
            }
            #expect(convertExit == 0 || !FileManager.default.fileExists(atPath: out), "\(label): a failed convert left \(out) behind")
        }
        let validate = lstmkit(["validate", path, "--json"])
        #expect(validate.exit == fixture.expect.exit,
                "\(label): validate exited \(validate.exit), manifest says \(fixture.expect.exit)\n\(validate)")
        let inspect = lstmkit(["inspect", path])
        let inspectJSON = lstmkit(["inspect", path, "--json"])
        let inspectExit: Int32 = fixture.expect.exit == 2 ? 2 : 0
        #expect(inspect.exit == inspectExit, "\(label): inspect exited \(inspect.exit), expected \(inspectExit)\n\(inspect)")
        #expect(inspectJSON.exit == inspectExit, "\(label): inspect --json exited \(inspectJSON.exit), expected \(inspectExit)\n\(inspectJSON)")

        if fixture.expect.exit == 2 {
            for (name, run) in [("validate", validate), ("inspect", inspect)] {
                #expect(run.out.isEmpty, "\(label): \(name) printed on stdout although the file is unusable:\n\(run.out)")
                let lines = run.err.split(separator: "\n")
                #expect(lines.count == 1, "\(label): \(name) must print exactly one line on stderr, printed:\n\(run.err)")
                #expect(run.err.contains(fixture.file.split(separator: "/").last.map(String.init) ?? fixture.file),
                        "\(label): \(name)'s error does not name the file: \(run.err)")
                if let fragment = fixture.expect.errorContains {
                    #expect(run.err.contains(fragment), "\(label): \(name)'s error lacks \"\(fragment)\": \(run.err)")
                }
            }
            return
        }

        let report = try #require(try JSONSerialization.jsonObject(with: Data(validate.out.utf8)) as? [String: Any],
                                  "\(label): validate --json did not print one JSON object:\n\(validate.out)")
        #expect(report["format"] as? String == fixture.format,
                "\(label): format is \(report["format"] ?? "nil"), manifest says \(fixture.format)")
        let lstms = (report["lstms"] as? [[String: Any]] ?? []).map(Manifest.LSTM.init(json:))
        if fixture.expect.exit == 0 || !(fixture.lstms ?? []).isEmpty {
            let expected = (fixture.lstms ?? []).sorted { $0.module < $1.module }
            let actual = lstms.sorted { $0.module < $1.module }
            let stated = expected.map(\.description).joined(separator: "\n            ")
            let found = actual.map(\.description).joined(separator: "\n            ")
            #expect(actual == expected, """
                \(label): LSTM configs differ
                  manifest: \(stated)
                  found:    \(found)
                """)
        }
        let problems = (report["problems"] as? [[String: Any]] ?? []).map {
            (module: $0["module"] as? String ?? "?", tensor: $0["tensor"] as? String, message: $0["message"] as? String ?? "")
        }
        let expected = fixture.expect.problems ?? []
        var unmatched = problems.map { $0 }
        var missing: [Manifest.Problem] = []
        for e in expected {
            let hit = unmatched.firstIndex { p in
                p.module == e.module && (p.tensor == e.tensor
                    || (e.tensor != nil && !e.module.isEmpty && p.tensor == e.module + "." + (e.tensor ?? "")))
            }
            if let hit { unmatched.remove(at: hit) } else { missing.append(e) }
        }
        #expect(missing.isEmpty && unmatched.isEmpty, """
            \(label): problems differ from the manifest
              stated but not reported: \(missing.map { "(\($0.module.isEmpty ? "root" : $0.module), \($0.tensor ?? "-"))" })
              reported but not stated: \(unmatched.map { "(\($0.module.isEmpty ? "root" : $0.module), \($0.tensor ?? "-")): \($0.message)" })
            """)
    }
}

/// `Fixtures/manifest.json` (format in the fixtures brief; unknown keys are ignored).
struct Manifest: Decodable {
    var fixtures: [Fixture]

    struct Fixture: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var format: String
        var producer: String?
        var kind: String
        var description: String?
        var lstms: [LSTM]?
        var golden: String?
        var expect: Expect
        var testDescription: String { file }
    }

    struct Expect: Decodable, Sendable {
        var exit: Int32
        var errorContains: String?
        var problems: [Problem]?
        /// Outcome of `convert FILE out.npz` when it differs from validate's (data-level damage that
        /// metadata-only commands cannot see).
        var convertExit: Int32?
        var convertErrorContains: String?
        enum CodingKeys: String, CodingKey {
            case exit, problems
            case errorContains = "error_contains"
            case convertExit = "convert_exit"
            case convertErrorContains = "convert_error_contains"
        }
    }

    struct Problem: Decodable, Sendable {
        var module: String
        var tensor: String?
    }

    struct LSTM: Decodable, Sendable, Equatable, CustomStringConvertible {
        var module: String
        /// "LSTM" (the default when the manifest omits it) or "LSTMCell".
        var kind: String
        var inputSize: Int
        var hiddenSize: Int
        var numLayers: Int
        var bidirectional: Bool
        var projSize: Int
        var bias: Bool
        var dtype: String
        enum CodingKeys: String, CodingKey {
            case module, kind, bidirectional, bias, dtype
            case inputSize = "input_size", hiddenSize = "hidden_size", numLayers = "num_layers", projSize = "proj_size"
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            module = try c.decode(String.self, forKey: .module)
            kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? "LSTM"
            inputSize = try c.decode(Int.self, forKey: .inputSize)
            hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
            numLayers = try c.decode(Int.self, forKey: .numLayers)
            bidirectional = try c.decode(Bool.self, forKey: .bidirectional)
            projSize = try c.decode(Int.self, forKey: .projSize)
            bias = try c.decode(Bool.self, forKey: .bias)
            dtype = try c.decode(String.self, forKey: .dtype)
        }

        init(json o: [String: Any]) {
            module = o["module"] as? String ?? "?"
            kind = o["kind"] as? String ?? "?"
            inputSize = o["input_size"] as? Int ?? -1
            hiddenSize = o["hidden_size"] as? Int ?? -1
            numLayers = o["num_layers"] as? Int ?? -1
            bidirectional = o["bidirectional"] as? Bool ?? false
            projSize = o["proj_size"] as? Int ?? -1
            bias = o["bias"] as? Bool ?? false
            dtype = o["dtype"] as? String ?? "?"
        }

        var description: String {
            "\(module.isEmpty ? "(root)" : module) \(kind): input_size=\(inputSize) hidden_size=\(hiddenSize) num_layers=\(numLayers) bidirectional=\(bidirectional) proj_size=\(projSize) bias=\(bias) dtype=\(dtype)"
        }
    }

    /// `$LSTMKIT_MANIFEST`, else `Fixtures/manifest.json` at the package root.
    static func location() -> URL {
        if let override = ProcessInfo.processInfo.environment["LSTMKIT_MANIFEST"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("Fixtures/manifest.json")
    }

    static func load() throws -> Manifest {
        let url = location()
        let data = try Data(contentsOf: url)
        do {
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw ManifestError("\(url.path) does not parse as the fixture manifest: \(error)")
        }
    }
}

struct ManifestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
