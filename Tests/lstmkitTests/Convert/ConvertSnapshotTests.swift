import Foundation
import LSTMSchema
import Testing
@testable import TensorFormats
@testable import lstmkit

/// What `lstmkit convert` prints, compared with `Snapshots/` (re-record: `RECORD_SNAPSHOTS=1`).
/// Scratch paths are shown as `$TMP`.
@Suite struct ConvertSnapshotTests {
    @Test func convertHelp() {
        let r = lstmkit(["convert", "--help"])
        #expect(r.exit == 0)
        assertSnapshot(r.out)
    }

    @Test func convertSession() throws {
        let s = ConvertScratch()
        let out = try OutputFile(path: s.path("crnn.safetensors"), overwrite: false)
        let crnn = crnnFile()
        try SafetensorsWriter.write(crnn.tensors, metadata: crnn.metadata, to: out)
        try out.commit()
        s.write("bad.safetensors", truncatedSafetensors)
        s.write("taken.npz", Array("previous".utf8))

        var text = ""
        for args in [
            ["convert", "$TMP/crnn.safetensors", "$TMP/all.npz"],
            ["convert", "$TMP/crnn.safetensors", "$TMP/rnn1.safetensors", "--module", "rnn.1.rnn", "--dtype", "bfloat16"],
            ["convert", "$TMP/crnn.safetensors", "$TMP/quiet.safetensors", "--quiet"],
            ["convert", "$TMP/crnn.safetensors", "$TMP/taken.npz"],
            ["convert", "$TMP/crnn.safetensors", "$TMP/x.npz", "--module", "rnn.2.rnn"],
            ["convert", "$TMP/crnn.safetensors", "$TMP/x.onnx"],
            ["convert", "$TMP/crnn.safetensors", "$TMP/x.bin"],
            ["convert", "$TMP/crnn.safetensors", "$TMP/x.npz", "--dtype", "int8"],
            ["convert", "$TMP/bad.safetensors", "$TMP/x.npz"],
            ["convert", "$TMP/missing.pt", "$TMP/x.npz"],
        ] {
            let r = lstmkit(args.map { $0.replacingOccurrences(of: "$TMP", with: s.dir) })
            text += "$ lstmkit \(args.joined(separator: " "))\n\(r.out)\(r.err)exit \(r.exit)\n\n"
        }
        assertSnapshot(text.replacingOccurrences(of: s.dir, with: "$TMP"))
        #expect(s.listing == ["all.npz", "bad.safetensors", "crnn.safetensors", "quiet.safetensors", "rnn1.safetensors", "taken.npz"])
    }
}
