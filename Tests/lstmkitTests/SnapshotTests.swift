import Testing
import LSTMSchema
import TensorFormats
@testable import lstmkit

/// User-visible output compared with the text files in `Snapshots/` (re-record: `RECORD_SNAPSHOTS=1`).
@Suite struct SnapshotTests {
    @Test func rootHelp() {
        let r = lstmkit(["--help"])
        #expect(r.exit == 0)
        assertSnapshot(r.out)
    }

    @Test func inspectHelp() {
        let r = lstmkit(["inspect", "--help"])
        #expect(r.exit == 0)
        assertSnapshot(r.out)
    }

    @Test func validateHelp() {
        let r = lstmkit(["help", "validate"])
        #expect(r.exit == 0)
        assertSnapshot(r.out)
    }

    @Test func inspectTable() {
        var file = crnnFile()
        file.notes = ["rnn.1.embedding.weight: stored big-endian, read as little-endian values"]
        let r = lstmkit(["inspect", "crnn.pt"], files: ["crnn.pt": file])
        #expect(r.exit == 0)
        assertSnapshot(r.out)
    }

    @Test func inspectJSON() {
        let file = TensorFile(path: "lstm.npz", format: .npz,
                              tensors: StateDict.lstm(LSTMConfig(inputSize: 3, hiddenSize: 2, projSize: 1)))
        let r = lstmkit(["inspect", "lstm.npz", "--json"], files: ["lstm.npz": file])
        #expect(r.exit == 0)
        assertSnapshot(r.out)
    }

    @Test func validateReport() {
        let r = lstmkit(["validate", "crnn.pt", "--expect", "hidden_size=32"], files: ["crnn.pt": crnnFile(breakIt: true)])
        #expect(r.exit == 1)
        assertSnapshot(r.out + "--- stderr ---\n" + r.err)
    }

    @Test func validateReportValid() {
        let r = lstmkit(["validate", "crnn.pt"], files: ["crnn.pt": crnnFile()])
        #expect(r.exit == 0)
        assertSnapshot(r.out)
    }

    @Test func validateGitHub() {
        let r = lstmkit(["validate", "crnn.pt", "--format", "github"], files: ["crnn.pt": crnnFile(breakIt: true)])
        #expect(r.exit == 1)
        assertSnapshot(r.out)
    }

    @Test func errorSentences() {
        var text = ""
        for args in [["inspect", "missing.pt"], ["validate", "crnn.pt", "--expect", "hidden=3"],
                     ["validate", "crnn.pt", "--json", "--format", "github"], ["inspect"], ["frobnicate"]] {
            let r = lstmkit(args, files: ["crnn.pt": crnnFile()])
            text += "$ lstmkit \(args.joined(separator: " "))\n\(r.err)exit \(r.exit)\n\n"
        }
        assertSnapshot(text)
    }
}
