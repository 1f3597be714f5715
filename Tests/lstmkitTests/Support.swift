import Foundation
import Testing
import LSTMSchema
import TensorFormats
@testable import lstmkit

/// What one in-process run of lstmkit printed and returned.
struct RunResult: CustomStringConvertible {
    var exit: Int32
    var out: String
    var err: String

    var description: String { "exit \(exit)\n--- stdout ---\n\(out)--- stderr ---\n\(err)" }
}

/// Runs lstmkit in-process with `arguments`. Paths listed in `files` are served from those tensor
/// maps instead of the disk; with `files` empty the real readers run. Help is rendered 80 columns wide.
func lstmkit(_ arguments: [String], files: [String: TensorFile] = [:]) -> RunResult {
    let console = Console.capturing()
    let code: Int32
    if files.isEmpty {
        code = CommandRunner.run(arguments, console: console, columns: 80)
    } else {
        code = ModelInput.$reader.withValue({ path in
            guard let file = files[path] else { throw FormatError(.unreadable, "cannot open: No such file or directory", file: path) }
            return file
        }) {
            CommandRunner.run(arguments, console: console, columns: 80)
        }
    }
    return RunResult(exit: code, out: console.out, err: console.err)
}

/// nn.LSTM state dicts built in code, as `torch.nn.LSTM(...).state_dict()` names and shapes them.
enum StateDict {
    static func lstm(_ c: LSTMConfig, prefix: String = "") -> [NamedTensor] {
        var out: [NamedTensor] = []
        var n: Float = 0
        func tensor(_ shape: [Int]) -> Tensor {
            let values = (0..<shape.reduce(1, *)).map { n + Float($0) * 0.001 }
            n += 1
            let t = try! Tensor(float32: values, shape: shape)
            return c.dtype == .float32 ? t : try! t.converted(to: c.dtype)
        }
        for k in 0..<c.numLayers {
            for s in c.bidirectional ? ["", "_reverse"] : [""] {
                out.append(.init(name: "\(prefix)weight_ih_l\(k)\(s)", tensor: tensor([4 * c.hiddenSize, c.layerInputSize(k)])))
                out.append(.init(name: "\(prefix)weight_hh_l\(k)\(s)", tensor: tensor([4 * c.hiddenSize, c.outputSize])))
                if c.bias {
                    out.append(.init(name: "\(prefix)bias_ih_l\(k)\(s)", tensor: tensor([4 * c.hiddenSize])))
                    out.append(.init(name: "\(prefix)bias_hh_l\(k)\(s)", tensor: tensor([4 * c.hiddenSize])))
                }
                if c.projSize > 0 {
                    out.append(.init(name: "\(prefix)weight_hr_l\(k)\(s)", tensor: tensor([c.projSize, c.hiddenSize])))
                }
            }
        }
        return out
    }

    static func zeros(_ shape: [Int]) -> Tensor {
        try! Tensor(float32: [Float](repeating: 0, count: shape.reduce(1, *)), shape: shape)
    }
}

extension Array where Element == NamedTensor {
    func replacing(_ name: String, with tensor: Tensor) -> [NamedTensor] {
        map { $0.name == name ? NamedTensor(name: name, tensor: tensor) : $0 }
    }

    func removing(_ names: String...) -> [NamedTensor] { filter { !names.contains($0.name) } }
}

/// A CRNN-like checkpoint: a conv stack and two bidirectional LSTMs with linear heads.
func crnnFile(path: String = "crnn.pt", breakIt: Bool = false) -> TensorFile {
    var tensors = [NamedTensor(name: "cnn.conv0.weight", tensor: StateDict.zeros([16, 1, 3, 3])),
                   NamedTensor(name: "cnn.conv0.bias", tensor: StateDict.zeros([16]))]
        + StateDict.lstm(LSTMConfig(inputSize: 64, hiddenSize: 32, bidirectional: true), prefix: "rnn.0.rnn.")
        + [NamedTensor(name: "rnn.0.embedding.weight", tensor: StateDict.zeros([32, 64]))]
        + StateDict.lstm(LSTMConfig(inputSize: 32, hiddenSize: 16, bidirectional: true), prefix: "rnn.1.rnn.")
        + [NamedTensor(name: "rnn.1.embedding.weight", tensor: StateDict.zeros([37, 32]))]
    if breakIt {
        tensors = tensors.replacing("rnn.1.rnn.weight_hh_l0_reverse", with: StateDict.zeros([64, 15]))
            .removing("rnn.0.rnn.bias_hh_l0")
    }
    return TensorFile(path: path, format: .pytorch, tensors: tensors,
                      metadata: [(key: "epoch", value: "12")], notes: [])
}

// MARK: - Snapshots

/// Compares `text` with `Snapshots/<test name>.txt` beside this file. A missing snapshot, or any
/// snapshot while `RECORD_SNAPSHOTS=1`, is (re)written and the test fails once, so a new baseline is
/// never accepted silently.
func assertSnapshot(_ text: String, named name: String = #function, sourceLocation: SourceLocation = #_sourceLocation) {
    let base = name.hasSuffix("()") ? String(name.dropLast(2)) : name
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
    let file = folder.appendingPathComponent(base + ".txt")
    let record = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"].map { $0 == "1" || $0 == "true" } ?? false
    let existing = try? String(contentsOf: file, encoding: .utf8)
    if record || existing == nil {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
            Issue.record("recorded snapshot Snapshots/\(base).txt; check it and run the tests again without RECORD_SNAPSHOTS",
                         sourceLocation: sourceLocation)
        } catch {
            Issue.record("cannot write snapshot \(file.path): \(error)", sourceLocation: sourceLocation)
        }
        return
    }
    if existing != text {
        Issue.record("""
            output differs from Snapshots/\(base).txt (re-record with RECORD_SNAPSHOTS=1 if the change is intended)
            \(lineDiff(expected: existing ?? "", actual: text))
            """, sourceLocation: sourceLocation)
    }
}

/// The first differing lines of two texts, each marked `-` (snapshot) / `+` (now).
func lineDiff(expected: String, actual: String) -> String {
    let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let b = actual.split(separator: "\n", omittingEmptySubsequences: false)
    var out: [String] = []
    for i in 0..<max(a.count, b.count) {
        let x = i < a.count ? String(a[i]) : "<end>"
        let y = i < b.count ? String(b[i]) : "<end>"
        if x != y { out.append("line \(i + 1):\n- \(x)\n+ \(y)") }
        if out.count == 5 { break }
    }
    return out.joined(separator: "\n")
}
