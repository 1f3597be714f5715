import Testing
import TensorFormats
@testable import LSTMSchema

@Suite struct DiscoveryTests {
    static let matrix: [LSTMConfig] = [
        LSTMConfig(inputSize: 8, hiddenSize: 16),
        LSTMConfig(inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true),
        LSTMConfig(inputSize: 5, hiddenSize: 12, numLayers: 3, bidirectional: false, projSize: 4),
        LSTMConfig(inputSize: 5, hiddenSize: 12, numLayers: 2, bidirectional: true, projSize: 4),
        LSTMConfig(inputSize: 3, hiddenSize: 7, numLayers: 2, bias: false),
        LSTMConfig(inputSize: 3, hiddenSize: 7, numLayers: 1, bidirectional: true, bias: false, dtype: .float16),
        LSTMConfig(inputSize: 1, hiddenSize: 1),
        LSTMConfig(inputSize: 2, hiddenSize: 1, numLayers: 3, bidirectional: true),
        LSTMConfig(inputSize: 4, hiddenSize: 6, numLayers: 2, dtype: .float64),
        LSTMConfig(inputSize: 4, hiddenSize: 6, dtype: .bfloat16),
    ]

    @Test(arguments: matrix)
    func infersTheConfigOfAValidStateDict(config: LSTMConfig) throws {
        let tensors = StateDict.lstm(config)
        let (modules, problems) = try LSTMDiscovery.modules(in: tensors.file)
        #expect(problems.isEmpty, "\(problems.map(\.description))")
        let module = try #require(modules.first)
        #expect(modules.count == 1)
        #expect(module.name == "")
        #expect(module.config == config)
        #expect(module.layers.count == config.numLayers)
        #expect(module.layers.allSatisfy { $0.count == config.numDirections })
        // The module hands back exactly the file's tensors, in state_dict order.
        let round = module.canonicalTensors()
        #expect(round.map(\.name) == tensors.map(\.name))
        #expect(zip(round, tensors).allSatisfy { $0.tensor.floats() == $1.tensor.floats() && $0.tensor.shape == $1.tensor.shape })
    }

    @Test func findsEveryModuleOfACRNNInFileOrder() throws {
        let first = LSTMConfig(inputSize: 512, hiddenSize: 16, bidirectional: true)
        let second = LSTMConfig(inputSize: 32, hiddenSize: 8, bidirectional: true)
        let tensors = [NamedTensor(name: "cnn.0.weight", tensor: StateDict.zeros([4, 1, 3, 3])),
                       NamedTensor(name: "cnn.0.bias", tensor: StateDict.zeros([4]))]
            + StateDict.lstm(first, prefix: "rnn.0.rnn.")
            + [NamedTensor(name: "rnn.0.embedding.weight", tensor: StateDict.zeros([8, 32]))]
            + StateDict.lstm(second, prefix: "rnn.1.rnn.")
            + [NamedTensor(name: "rnn.1.embedding.weight", tensor: StateDict.zeros([10, 16]))]
        let found = try LSTMDiscovery.discover(in: tensors.file)
        #expect(found.map(\.name) == ["rnn.0.rnn", "rnn.1.rnn"])
        #expect(found.map(\.config) == [first, second])
        #expect(found.allSatisfy { $0.problems.isEmpty && $0.isValid })
        #expect(found[1].sourceTensors.first == "rnn.1.rnn.weight_ih_l0")
        let (modules, _) = try LSTMDiscovery.modules(in: tensors.file)
        #expect(modules[1].canonicalTensors(prefix: "rnn.1.rnn.").map(\.name) == StateDict.lstm(second, prefix: "rnn.1.rnn.").map(\.name))
    }

    @Test func keepsWrapperPrefixesAsPartOfTheModuleName() throws {
        let c = LSTMConfig(inputSize: 4, hiddenSize: 3)
        let tensors = StateDict.lstm(c, prefix: "model_state_dict.module._orig_mod.encoder.lstm.")
            + StateDict.lstm(c, prefix: "")
            + [NamedTensor(name: "optimizer_state_dict.state.0.step", tensor: StateDict.zeros([]))]
        let found = try LSTMDiscovery.discover(in: tensors.file)
        #expect(found.map(\.name) == ["model_state_dict.module._orig_mod.encoder.lstm", ""])
        #expect(found.allSatisfy { $0.isValid })
    }

    @Test func findsLSTMCellsAndIgnoresNonRecurrentTensors() throws {
        let tensors = [NamedTensor(name: "dec.cell.weight_ih", tensor: StateDict.zeros([16, 3])),
                       NamedTensor(name: "dec.cell.weight_hh", tensor: StateDict.zeros([16, 4])),
                       NamedTensor(name: "dec.cell.bias_ih", tensor: StateDict.zeros([16])),
                       NamedTensor(name: "dec.cell.bias_hh", tensor: StateDict.zeros([16])),
                       NamedTensor(name: "fc.weight", tensor: StateDict.zeros([2, 4]))]
        let found = try LSTMDiscovery.discover(in: tensors.file)
        #expect(found.map(\.name) == ["dec.cell"])
        let cell = try #require(found.first?.module)
        #expect(cell.kind == .lstmCell)
        #expect(cell.config == LSTMConfig(inputSize: 3, hiddenSize: 4))
        #expect(cell.canonicalTensors(prefix: "x.").map(\.name) == ["x.weight_ih", "x.weight_hh", "x.bias_ih", "x.bias_hh"])
        #expect(try LSTMDiscovery.discover(in: [tensors[4]].file).isEmpty)
    }

    /// nn.GRUCell / nn.RNNCell use the cell names too: reported as what they look like, never as an LSTMCell.
    @Test func gruAndRNNCellsAreNamedAsSuch() throws {
        for (gates, word) in [(3, "GRUCell"), (1, "RNNCell")] {
            let tensors = [NamedTensor(name: "gru.weight_ih", tensor: StateDict.zeros([gates * 4, 3])),
                           NamedTensor(name: "gru.weight_hh", tensor: StateDict.zeros([gates * 4, 4]))]
            let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
            #expect(found.module == nil && found.kind == .lstmCell)
            #expect(found.problems.contains { $0.message.contains("looks like a") && $0.message.contains(word) }, "\(found.problems)")
        }
    }

    // MARK: - Problems

    static let bi = LSTMConfig(inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true)

    @Test func reportsAWrongShapeWithItsFormula() throws {
        let tensors = StateDict.lstm(Self.bi).replacing("weight_hh_l1_reverse", with: StateDict.zeros([64, 15]))
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.config == Self.bi)
        #expect(!found.isValid)
        #expect(found.problems == [SchemaProblem(
            module: "", tensor: "weight_hh_l1_reverse",
            message: "wrong shape: expected (4*hidden_size, hidden_size) = (64, 16), found (64, 15)",
            expected: "(4*hidden_size, hidden_size) = (64, 16)", found: "(64, 15)")])
    }

    @Test func formulasNameTheDirectionsAndProjection() throws {
        let c = LSTMConfig(inputSize: 5, hiddenSize: 12, numLayers: 2, bidirectional: true, projSize: 4)
        let tensors = StateDict.lstm(c, prefix: "enc.")
            .replacing("enc.weight_ih_l1", with: StateDict.zeros([48, 24]))
            .replacing("enc.weight_hr_l0_reverse", with: StateDict.zeros([4, 11]))
            .replacing("enc.bias_ih_l0", with: StateDict.zeros([48, 1]))
        let problems = try LSTMDiscovery.discover(in: tensors.file).flatMap(\.problems)
        #expect(problems.map(\.tensor) == ["enc.bias_ih_l0", "enc.weight_hr_l0_reverse", "enc.weight_ih_l1"])
        #expect(problems.map(\.expected) == ["(4*hidden_size) = (48)",
                                            "(proj_size, hidden_size) = (4, 12)",
                                            "(4*hidden_size, 2*proj_size) = (48, 8)"])
        #expect(problems.map(\.found) == ["(48, 1)", "(4, 11)", "(48, 24)"])
        #expect(problems.allSatisfy { $0.module == "enc" })
    }

    @Test func reportsAMissingBiasOfOneLayer() throws {
        let tensors = StateDict.lstm(Self.bi).removing("bias_hh_l1")
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.config == Self.bi)
        #expect(found.problems.count == 1)
        let p = try #require(found.problems.first)
        #expect(p.tensor == "bias_hh_l1")
        #expect(p.message.hasPrefix("missing tensor"))
        #expect(p.expected == "(4*hidden_size) = (64)")
        #expect(p.found == nil)
    }

    @Test func reportsAMissingReverseDirection() throws {
        let tensors = StateDict.lstm(Self.bi).removing("weight_ih_l1_reverse", "weight_hh_l1_reverse")
        let problems = try LSTMDiscovery.discover(in: tensors.file).flatMap(\.problems)
        #expect(problems.map(\.tensor) == ["weight_ih_l1_reverse", "weight_hh_l1_reverse"])
        #expect(problems[0].expected == "(4*hidden_size, 2*hidden_size) = (64, 32)")
    }

    @Test func reportsALayerGap() throws {
        let c = LSTMConfig(inputSize: 8, hiddenSize: 16, numLayers: 3)
        let tensors = StateDict.lstm(c).filter { !$0.name.hasSuffix("_l1") }
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.config == c)
        #expect(found.problems.map(\.tensor) == ["weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"])
        #expect(found.problems.allSatisfy { $0.message == "missing tensor (layer gap: layer 1 has no tensors, but layer 2 has)" })
        #expect(found.problems.first?.expected == "(4*hidden_size, hidden_size) = (64, 16)")
    }

    @Test func aModuleWithoutLayerZeroHasNoConfig() throws {
        let c = LSTMConfig(inputSize: 8, hiddenSize: 16, numLayers: 2)
        let tensors = StateDict.lstm(c).filter { !$0.name.hasSuffix("_l0") }
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.config == nil)
        #expect(found.problems.map(\.tensor) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"])
        #expect(found.problems.first?.expected == "(4*hidden_size, input_size) = (64, ?)")
    }

    @Test func reportsAMissingInputWeightAndCannotInferInputSize() throws {
        let tensors = StateDict.lstm(LSTMConfig(inputSize: 8, hiddenSize: 16)).removing("weight_ih_l0")
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.config == nil)
        #expect(found.problems.map(\.tensor) == ["weight_ih_l0"])
        #expect(found.problems.first?.expected == "(4*hidden_size, input_size) = (64, ?)")
    }

    @Test func reportsUnexpectedLayerIndexedTensors() throws {
        let tensors = StateDict.lstm(LSTMConfig(inputSize: 8, hiddenSize: 16), prefix: "lstm.")
            + [NamedTensor(name: "lstm.weight_ch_l0", tensor: StateDict.zeros([64])),
               NamedTensor(name: "lstm.weight_ih_l0_reversed", tensor: StateDict.zeros([64, 8])),
               NamedTensor(name: "other.weight_ch_l0", tensor: StateDict.zeros([64])),
               NamedTensor(name: "lstm.weight_ih", tensor: StateDict.zeros([64, 8]))]
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.problems.map(\.tensor) == ["lstm.weight_ch_l0", "lstm.weight_ih_l0_reversed"])
        #expect(found.problems.allSatisfy { $0.message.hasPrefix("unexpected tensor") })
    }

    @Test func reportsMixedDtypes() throws {
        let tensors = StateDict.lstm(Self.bi).replacing("bias_ih_l0_reverse", with: StateDict.zeros([64], dtype: .float64))
        let problems = try LSTMDiscovery.discover(in: tensors.file).flatMap(\.problems)
        #expect(problems.count == 1)
        #expect(problems.first?.tensor == "bias_ih_l0_reverse")
        #expect(problems.first?.message.hasPrefix("mixed dtypes: float64, while the module is float32") == true)
        #expect(problems.first?.expected == "float32")
        #expect(problems.first?.found == "float64")
    }

    @Test func reportsNonFloatingDtypes() throws {
        let tensors: [NamedTensor] = [.init(name: "weight_ih_l0", tensor: StateDict.int64s([8, 2])),
                                      .init(name: "weight_hh_l0", tensor: StateDict.int64s([8, 2]))]
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.problems.map(\.tensor) == ["weight_ih_l0"])
        #expect(found.problems.first?.message.contains("not a floating-point type") == true)
        #expect(found.config?.dtype == .int64)
        #expect(!found.isValid)
    }

    @Test func recognisesAGRU() throws {
        // nn.GRU(8, 16): gate rows 3·16; every gate-row tensor is reported.
        let tensors: [NamedTensor] = [.init(name: "gru.weight_ih_l0", tensor: StateDict.zeros([48, 8])),
                                      .init(name: "gru.weight_hh_l0", tensor: StateDict.zeros([48, 16])),
                                      .init(name: "gru.bias_ih_l0", tensor: StateDict.zeros([48])),
                                      .init(name: "gru.bias_hh_l0", tensor: StateDict.zeros([48]))]
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.config == nil)
        #expect(found.problems.map(\.tensor) == ["gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0"])
        #expect(found.problems.first?.message ==
                "gate rows are 3·hidden_size (48 = 3·16): looks like a GRU (nn.GRU), not an LSTM; expected (4*hidden_size, input_size) = (64, 8), found (48, 8)")
        #expect(found.problems.map(\.expected) == ["(4*hidden_size, input_size) = (64, 8)", "(4*hidden_size, hidden_size) = (64, 16)",
                                                   "(4*hidden_size) = (64)", "(4*hidden_size) = (64)"])
    }

    @Test func recognisesAPlainRNN() throws {
        let tensors: [NamedTensor] = [.init(name: "weight_ih_l0", tensor: StateDict.zeros([16, 8])),
                                      .init(name: "weight_hh_l0", tensor: StateDict.zeros([16, 16]))]
        let problems = try LSTMDiscovery.discover(in: tensors.file).flatMap(\.problems)
        #expect(problems.count == 2)
        #expect(problems.allSatisfy { $0.message.hasPrefix("gate rows are 1·hidden_size (16): looks like a plain RNN (nn.RNN), not an LSTM; expected") })
    }

    @Test func reportsGateRowsThatAreNotAMultipleOfFour() throws {
        let tensors: [NamedTensor] = [.init(name: "weight_ih_l0", tensor: StateDict.zeros([10, 8])),
                                      .init(name: "weight_hh_l0", tensor: StateDict.zeros([10, 4]))]
        let problems = try LSTMDiscovery.discover(in: tensors.file).flatMap(\.problems)
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("not a multiple of 4") == true)
    }

    @Test func oneWrongTensorDoesNotSkewTheInference() throws {
        // weight_hh_l0 alone claims 3·16 rows; the majority of gate-row tensors says 4·16.
        let tensors = StateDict.lstm(Self.bi).replacing("weight_hh_l0", with: StateDict.zeros([48, 16]))
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.config == Self.bi)
        #expect(found.problems.map(\.tensor) == ["weight_hh_l0"])
    }

    @Test func reportsAProjectionThatIsNotSmallerThanHidden() throws {
        let tensors: [NamedTensor] = [.init(name: "weight_ih_l0", tensor: StateDict.zeros([16, 3])),
                                      .init(name: "weight_hh_l0", tensor: StateDict.zeros([16, 4])),
                                      .init(name: "weight_hr_l0", tensor: StateDict.zeros([4, 4]))]
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        #expect(found.config?.projSize == 4)
        #expect(found.problems.map(\.message) == ["proj_size (4) must be smaller than hidden_size (4); nn.LSTM refuses it"])
    }

    @Test func reportsEveryProblemNotOnlyTheFirst() throws {
        let c = LSTMConfig(inputSize: 8, hiddenSize: 16, numLayers: 3, bidirectional: true, projSize: 4)
        let tensors = StateDict.lstm(c, prefix: "a.b.")
            .removing("a.b.weight_hr_l2", "a.b.bias_ih_l0_reverse")
            .replacing("a.b.weight_ih_l0", with: StateDict.zeros([64, 9]))
            .replacing("a.b.weight_hh_l2_reverse", with: StateDict.zeros([64, 4], dtype: .float16))
            + [NamedTensor(name: "a.b.weight_ih_l0_scale", tensor: StateDict.zeros([1]))]
        let found = try #require(try LSTMDiscovery.discover(in: tensors.file).first)
        // input_size comes from the forward weight_ih_l0, so its reverse twin is the one reported.
        #expect(found.config == LSTMConfig(inputSize: 9, hiddenSize: 16, numLayers: 3, bidirectional: true, projSize: 4))
        #expect(found.problems.map(\.tensor) == ["a.b.weight_ih_l0_reverse", "a.b.bias_ih_l0_reverse", "a.b.weight_hr_l2", "a.b.weight_hh_l2_reverse",
                                                 "a.b.weight_ih_l0_scale"])
        #expect(found.problems.allSatisfy { $0.module == "a.b" })
    }

    @Test func hugeDimensionsOfEmptyTensorsDoNotOverflow() throws {
        func empty(_ shape: [Int]) throws -> Tensor {
            try Tensor(dtype: .float32, shape: shape, storage: try! TensorStorage(bytes: []))
        }
        let huge = 1 << 62
        let gru = [NamedTensor(name: "weight_ih_l0", tensor: try empty([0, 3])),
                   NamedTensor(name: "weight_hh_l0", tensor: try empty([0, huge]))]
        #expect(try LSTMDiscovery.discover(in: gru.file).first?.problems.isEmpty == false)
        let proj = [NamedTensor(name: "weight_ih_l0", tensor: try empty([8, 0])),
                    NamedTensor(name: "weight_hh_l0", tensor: try empty([8, 0])),
                    NamedTensor(name: "weight_hr_l0", tensor: try empty([huge, 0])),
                    NamedTensor(name: "weight_ih_l0_reverse", tensor: try empty([8, 0])),
                    NamedTensor(name: "weight_ih_l1", tensor: try empty([8, 0]))]
        let found = try #require(try LSTMDiscovery.discover(in: proj.file).first)
        #expect(found.problems.contains { $0.tensor == "weight_ih_l1" && $0.expected == "(4*hidden_size, 2*proj_size) = (8, \(Int.max))" })
    }

    @Test func parsesOnlyExactCanonicalNames() {
        #expect(CanonicalName("weight_ih_l0") == CanonicalName(.weightIH, layer: 0))
        #expect(CanonicalName("bias_hh_l12_reverse") == CanonicalName(.biasHH, layer: 12, reverse: true))
        for bad in ["weight_ih_l", "weight_ih_l01", "weight_ih_l0_reversed", "weight_ih_lx", "weight_ih", "weight_ih_l-1",
                    "weight_ih_l9999", "xweight_ih_l0", "weight_ih_l0_reverse_reverse"] {
            #expect(CanonicalName(bad[...]) == nil, "\(bad)")
        }
        #expect(CanonicalName.looksLayerIndexed("weight_ch_l0"))
        #expect(!CanonicalName.looksLayerIndexed("fc_last"))
    }
}

extension LSTMConfig: CustomTestStringConvertible {
    public var testDescription: String {
        "LSTM(\(inputSize), \(hiddenSize), num_layers=\(numLayers), bidirectional=\(bidirectional), proj_size=\(projSize), bias=\(bias), \(dtype.name))"
    }
}
