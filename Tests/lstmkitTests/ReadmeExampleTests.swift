import Foundation
import Testing
import LSTMReference
import LSTMSchema
import TensorFormats

/// The README's "Use from Swift" example, run on a bundled fixture, so the README cannot rot.
@Suite struct ReadmeExampleTests {
    @Test func useFromSwift() throws {
        let path = Manifest.location().deletingLastPathComponent().appendingPathComponent("pytorch/crnn_checkpoint.pt").path
        // --- README example (keep in sync) ---
        let model = try LSTMSchemaLoader.load(path: path)
        for problem in model.problems { print(problem.description) }
        let lstm = try model.module(named: "model_state_dict.rnn.1.rnn")  // throws naming the modules there are
        let c = lstm.config                                  // input 12, hidden 8, bidirectional
        let x = try Tensor(float32: [Float](repeating: 0.5, count: 5 * 1 * c.inputSize),
                           shape: [5, 1, c.inputSize])       // (seq, batch, input_size)
        let y = try LSTMForward.run(module: lstm, input: x)  // nn.LSTM semantics
        print(y.output.shape, y.hN.shape)                    // [5, 1, 16] [2, 1, 8]
        let prepared = try LSTMForward.prepare(module: lstm) // weights packed once
        let again = try prepared.run(input: x)               // for many inputs
        print(again.output.shape)                            // [5, 1, 16]
        // --- end of README example ---
        #expect(model.problems.isEmpty)
        #expect(lstm.name == "model_state_dict.rnn.1.rnn")
        #expect(y.output.shape == [5, 1, 16])
        #expect(y.hN.shape == [2, 1, 8])
        #expect(again.output.floats() == y.output.floats())
    }
}
