import Testing
import TensorFormats
@testable import LSTMSchema

@Suite struct ExpectationTests {
    @Test func parsesEveryKey() throws {
        #expect(try Expectation(parsing: "input_size=8") == Expectation(key: .inputSize, value: .int(8)))
        #expect(try Expectation(parsing: "hidden_size = 256") == Expectation(key: .hiddenSize, value: .int(256)))
        #expect(try Expectation(parsing: "num_layers=2") == Expectation(key: .numLayers, value: .int(2)))
        #expect(try Expectation(parsing: "bidirectional=true") == Expectation(key: .bidirectional, value: .bool(true)))
        #expect(try Expectation(parsing: "bias=0") == Expectation(key: .bias, value: .bool(false)))
        #expect(try Expectation(parsing: "proj_size=0") == Expectation(key: .projSize, value: .int(0)))
        #expect(try Expectation(parsing: "dtype=float16") == Expectation(key: .dtype, value: .dtype(.float16)))
    }

    @Test(arguments: [
        ("hidden=16", "unknown key 'hidden'"),
        ("hidden_size", "is not KEY=VALUE"),
        ("hidden_size=-1", "whole number"),
        ("hidden_size=abc", "whole number"),
        ("bidirectional=maybe", "true or false"),
        ("dtype=float8", "numpy dtype name"),
    ])
    func refusesBadInput(text: String, fragment: String) {
        #expect {
            try Expectation(parsing: text)
        } throws: { error in
            (error as? ExpectationError)?.message.contains(fragment) == true
        }
    }

    @Test func producesAModuleLevelProblemWhenNotMet() throws {
        let config = LSTMConfig(inputSize: 8, hiddenSize: 16, bidirectional: true)
        #expect(try Expectation(parsing: "hidden_size=16").check(config, module: "rnn") == nil)
        let p = try #require(try Expectation(parsing: "hidden_size=256").check(config, module: "rnn"))
        #expect(p == SchemaProblem(module: "rnn", tensor: nil,
                                   message: "hidden_size is 16, expected 256 (--expect hidden_size=256)",
                                   expected: "256", found: "16"))
        #expect(try Expectation(parsing: "bidirectional=false").check(config, module: "")?.found == "true")
        #expect(try Expectation(parsing: "dtype=float16").check(config, module: "")?.found == "float32")
    }
}
