import Foundation
import Testing
import LSTMSchema
import TensorFormats
@testable import lstmkit

/// Exit codes, stdout / stderr discipline and report contents of inspect and validate (in-process).
@Suite struct CommandTests {
    static let bi = LSTMConfig(inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true)
    static let valid = TensorFile(path: "lstm.npz", format: .npz, tensors: StateDict.lstm(bi))
    static let broken = TensorFile(path: "broken.npz", format: .npz, tensors: StateDict.lstm(bi)
        .replacing("weight_hh_l1_reverse", with: StateDict.zeros([64, 15])).removing("bias_ih_l0"))

    static func json(_ r: RunResult) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(r.out.utf8))
        return try #require(object as? [String: Any], "stdout is not one JSON object: \(r)")
    }

    @Test func validateAcceptsAValidFile() {
        let r = lstmkit(["validate", "lstm.npz"], files: ["lstm.npz": Self.valid])
        #expect(r.exit == 0, "\(r)")
        #expect(r.err.isEmpty)
        #expect(r.out.hasPrefix("lstm.npz: npz, 1 LSTM, valid\n"))
    }

    @Test func validateReportsEveryProblemAndExitsOne() {
        let r = lstmkit(["validate", "broken.npz"], files: ["broken.npz": Self.broken])
        #expect(r.exit == 1, "\(r)")
        #expect(r.out.contains("bias_ih_l0"))
        #expect(r.out.contains("weight_hh_l1_reverse"))
        #expect(r.out.contains("expected (4*hidden_size, hidden_size) = (64, 16), found (64, 15)"))
        // exactly one sentence on stderr, naming the file and the first offending tensor
        #expect(r.err == "broken.npz: 2 problems; first: LSTM (root): bias_ih_l0: missing tensor (bias = true: other bias tensors exist)\n")
    }

    @Test func validateJSONFollowsTheDesignObject() throws {
        let r = lstmkit(["validate", "broken.npz", "--json"], files: ["broken.npz": Self.broken])
        #expect(r.exit == 1)
        // key order is DESIGN §3's
        let keys = ["\"file\"", "\"format\"", "\"tensors\"", "\"lstms\"", "\"problems\""].map { r.out.range(of: $0)?.lowerBound }
        #expect(keys.allSatisfy { $0 != nil })
        #expect(keys.compactMap { $0 } == keys.compactMap { $0 }.sorted())
        let o = try Self.json(r)
        #expect(o["file"] as? String == "broken.npz")
        #expect(o["format"] as? String == "npz")
        let tensors = try #require(o["tensors"] as? [[String: Any]])
        #expect(tensors.count == 15)
        #expect(tensors.first?["name"] as? String == "weight_ih_l0")
        #expect(tensors.first?["shape"] as? [Int] == [64, 8])
        let lstms = try #require(o["lstms"] as? [[String: Any]])
        #expect(lstms.count == 1)
        #expect(lstms.first?["hidden_size"] as? Int == 16)
        #expect(lstms.first?["bidirectional"] as? Bool == true)
        #expect(lstms.first?["dtype"] as? String == "float32")
        let problems = try #require(o["problems"] as? [[String: Any]])
        #expect(problems.map { $0["tensor"] as? String } == ["bias_ih_l0", "weight_hh_l1_reverse"])
        #expect(problems[0]["found"] is NSNull)
        #expect(problems[1]["expected"] as? String == "(4*hidden_size, hidden_size) = (64, 16)")
        #expect(problems[1]["found"] as? String == "(64, 15)")
        #expect(problems.allSatisfy { Array($0.keys).sorted() == ["expected", "found", "message", "module", "tensor"] })
    }

    @Test func expectationsAddProblems() throws {
        let ok = lstmkit(["validate", "lstm.npz", "--expect", "hidden_size=16", "--expect", "bidirectional=true",
                          "--expect", "num_layers=2", "--expect", "dtype=float32", "--expect", "bias=true",
                          "--expect", "proj_size=0", "--expect", "input_size=8"], files: ["lstm.npz": Self.valid])
        #expect(ok.exit == 0, "\(ok)")
        let bad = lstmkit(["validate", "lstm.npz", "--expect", "hidden_size=256", "--expect", "bidirectional=false", "--json"],
                          files: ["lstm.npz": Self.valid])
        #expect(bad.exit == 1)
        let problems = try #require(try Self.json(bad)["problems"] as? [[String: Any]])
        #expect(problems.map { $0["message"] as? String } == ["hidden_size is 16, expected 256 (--expect hidden_size=256)",
                                                             "bidirectional is true, expected false (--expect bidirectional=false)"])
        #expect(problems.allSatisfy { $0["tensor"] is NSNull })
    }

    @Test(arguments: [["--expect", "hidden=3"], ["--expect", "hidden_size=x"], ["--expect", "hidden_size"],
                      ["--json", "--format", "github"], ["--format", "xml"], ["--bogus"]])
    func badArgumentsAreUsageErrors(extra: [String]) {
        let r = lstmkit(["validate", "lstm.npz"] + extra, files: ["lstm.npz": Self.valid])
        #expect(r.exit == 64, "\(r)")
        #expect(r.out.isEmpty)
        #expect(r.err.split(separator: "\n").count == 1, "one line on stderr: \(r)")
        #expect(r.err.hasPrefix("lstmkit validate: "))
    }

    @Test func unreadableInputExitsTwoWithTheReadersSentence() {
        for command in ["inspect", "validate"] {
            let r = lstmkit([command, "missing.npz"], files: ["other": Self.valid])
            #expect(r.exit == 2)
            #expect(r.out.isEmpty)
            #expect(r.err == "missing.npz: cannot open: No such file or directory\n")
        }
    }

    @Test func moduleSelectsOneLSTM() throws {
        let file = crnnFile(breakIt: true)
        let one = lstmkit(["validate", "crnn.pt", "--module", "rnn.0.rnn", "--json"], files: ["crnn.pt": file])
        #expect(one.exit == 1)
        let o = try Self.json(one)
        #expect((o["lstms"] as? [[String: Any]])?.map { $0["module"] as? String } == ["rnn.0.rnn"])
        #expect((o["problems"] as? [[String: Any]])?.map { $0["tensor"] as? String } == ["rnn.0.rnn.bias_hh_l0"])
        let missing = lstmkit(["validate", "crnn.pt", "--module", "rnn.2.rnn"], files: ["crnn.pt": file])
        #expect(missing.exit == 1)
        #expect(missing.err == "crnn.pt: LSTM 'rnn.2.rnn': no LSTM with this name in the file (it holds 'rnn.0.rnn', 'rnn.1.rnn')\n")
    }

    @Test func aFileWithoutLSTMFailsValidationButInspects() {
        let file = TensorFile(path: "fc.npz", format: .npz, tensors: [NamedTensor(name: "fc.weight", tensor: StateDict.zeros([2, 3]))])
        let v = lstmkit(["validate", "fc.npz"], files: ["fc.npz": file])
        #expect(v.exit == 1)
        #expect(v.err.contains("fc.npz: LSTM (root): no LSTM found"))
        let i = lstmkit(["inspect", "fc.npz"], files: ["fc.npz": file])
        #expect(i.exit == 0)
        #expect(i.out.hasPrefix("fc.npz: npz, 1 tensor (24 B), no LSTM\n"))
    }

    @Test func githubFormatPrintsOneAnnotationPerProblem() {
        let r = lstmkit(["validate", "crnn.pt", "--format", "github"], files: ["crnn.pt": crnnFile(breakIt: true)])
        #expect(r.exit == 1)
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.hasPrefix("::error file=crnn.pt,title=lstmkit validate::LSTM 'rnn.") })
        #expect(lines[1] == "::error file=crnn.pt,title=lstmkit validate::LSTM 'rnn.1.rnn': rnn.1.rnn.weight_hh_l0_reverse: wrong shape: expected (4*hidden_size, hidden_size) = (64, 16), found (64, 15)")
    }

    @Test func inspectJSONListsEveryTensorAndLSTM() throws {
        let r = lstmkit(["inspect", "crnn.pt", "--json"], files: ["crnn.pt": crnnFile()])
        #expect(r.exit == 0)
        let o = try Self.json(r)
        #expect((o["tensors"] as? [Any])?.count == crnnFile().tensors.count)
        #expect((o["lstms"] as? [[String: Any]])?.map { $0["module"] as? String } == ["rnn.0.rnn", "rnn.1.rnn"])
        #expect((o["problems"] as? [Any])?.isEmpty == true)
        #expect(o["results"] == nil)
    }

    @Test func inspectOfABrokenSchemaStillExitsZero() {
        let r = lstmkit(["inspect", "crnn.pt"], files: ["crnn.pt": crnnFile(breakIt: true)])
        #expect(r.exit == 0)
        #expect(r.err.isEmpty)
        #expect(r.out.contains("1 problem"))
    }
}

@Suite struct RenderingTests {
    @Test func tableAlignsColumns() {
        var t = TextTable(["name", .init("n", .right), "x"])
        t.append(["a", "1", "yes"])
        t.append(["long name", "1234"])
        #expect(t.render() == "name          n  x\na             1  yes\nlong name  1234")
        #expect(t.render(indent: "  ", header: false) == "  a             1  yes\n  long name  1234")
    }

    @Test func byteCounts() {
        #expect(ByteCount.format(0) == "0 B")
        #expect(ByteCount.format(1023) == "1023 B")
        #expect(ByteCount.format(1024) == "1.0 KiB")
        #expect(ByteCount.format(1536) == "1.5 KiB")
        #expect(ByteCount.format(5 << 20) == "5.0 MiB")
        #expect(ByteCount.format(3 << 30 + 1 << 29) == "3.5 GiB")
    }

    @Test func jsonEscapesAndKeepsOrder() throws {
        let v: JSONValue = .object([("z", .string("a\"b\\c\nd\u{1}é")), ("a", .array([.int(1), .double(0.5), .null, .bool(false)])),
                                    ("n", .double(.nan)), ("nested", .array([.object([("k", .int(1))])]))])
        let text = v.rendered()
        #expect(text == """
            {
              "z": "a\\"b\\\\c\\nd\\u0001é",
              "a": [1, 0.5, null, false],
              "n": null,
              "nested": [
                {"k": 1}
              ]
            }
            """)
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(parsed?["z"] as? String == "a\"b\\c\nd\u{1}é")
    }

    @Test func tablesShowControlCharactersEscaped() {
        var t = TextTable(["name"])
        t.append(["a\nb\u{1b}[2J"])
        #expect(t.render(header: false) == "a\\nb\\u{1b}[2J")
        let file = TensorFile(path: "evil.npz", format: .npz,
                              tensors: [NamedTensor(name: "x\n::error::pwned", tensor: StateDict.zeros([1]))]
                                  + StateDict.lstm(LSTMConfig(inputSize: 2, hiddenSize: 1), prefix: "l.")
                                  + [NamedTensor(name: "l.weight_ih_l0\u{1b}x_l1", tensor: StateDict.zeros([1]))])
        let i = lstmkit(["inspect", "evil.npz"], files: ["evil.npz": file])
        #expect(i.out.contains("x\\n::error::pwned"))
        #expect(!i.out.contains("\u{1b}"))
        let v = lstmkit(["validate", "evil.npz", "--format", "github"], files: ["evil.npz": file])
        #expect(v.exit == 1)
        #expect(!v.err.contains("\u{1b}"))
        #expect(!v.out.contains("\u{1b}"))
        #expect(v.out.split(separator: "\n").allSatisfy { $0.hasPrefix("::error file=evil.npz,") })
    }

    @Test func githubAnnotationsEscapeTheirParts() {
        #expect(GitHubAnnotations.error(file: "a,b:c.pt", title: "t", message: "50% off\nnext") ==
                "::error file=a%2Cb%3Ac.pt,title=t::50%25 off%0Anext")
    }
}
