import Testing
@testable import TensorFormats

/// ``HDF5Writer`` output read back by ``HDF5Reader`` (h5py and Keras read it in the interop tests).
@Suite struct HDF5WriterTests {
    func written(_ root: HDF5Object) throws -> (bytes: [UInt8], file: TensorFile) {
        let path = Scratch.file("w.h5")
        let out = try OutputFile(path: path, overwrite: false)
        let n = try HDF5Writer.write(root, to: out)
        try out.commit()
        let bytes = Scratch.read(path)
        #expect(bytes.count == n)
        return (bytes, try HDF5Reader.read(path: path))
    }

    @Test func datasetsReadBackByPathWithTheirValues() throws {
        let a = try Tensor(float32: [1, -2, 3.5, 4, 5, 6], shape: [2, 3])
        let b = try Tensor(float64: [0.25], shape: [])
        let c = try Tensor(float32: [7, 8], shape: [2]).converted(to: .float16)
        let d = try Tensor(int64: [-1, 2, 3], shape: [3])
        let root = HDF5Object.group([
            ("z", .group([("a", .dataset(a)), ("half", .dataset(c))], attributes: [("name", "zz"), ("other", "ü")])),
            ("b", .dataset(b, attributes: [("dtype", "x")])),
            ("empty", .group([])),
            ("ints", .dataset(d)),
        ], attributes: [("top", "level")])
        let (bytes, file) = try written(root)
        #expect(Array(bytes.prefix(8)) == HDF5Reader.signature)
        #expect(file.tensors.map(\.name) == ["b", "ints", "z/a", "z/half"])
        let byName = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) })
        #expect(byName["z/a"]?.shape == [2, 3] && byName["z/a"]?.floats() == [1, -2, 3.5, 4, 5, 6])
        #expect(byName["b"]?.shape == [] && byName["b"]?.doubles() == [0.25])
        #expect(byName["z/half"]?.dtype == .float16 && byName["z/half"]?.floats() == [7, 8])
        #expect(byName["ints"]?.dtype == .int64 && byName["ints"]?.int64s() == [-1, 2, 3])
    }

    @Test func stridedTensorsAreWrittenRowMajor() throws {
        let t = try Tensor(float32: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        let transposed = try Tensor(dtype: .float32, shape: [3, 2], strides: [1, 3], storage: t.storage)
        let (_, file) = try written(.group([("t", .dataset(transposed))]))
        #expect(file.tensors.first?.tensor.floats() == [1, 4, 2, 5, 3, 6])
    }

    @Test func aGroupOfManyMembersIsOneSymbolTableNode() throws {
        let one = try Tensor(float32: [1], shape: [1])
        let members = (0..<300).map { (name: "m\($0)", object: HDF5Object.dataset(one)) }
        let (bytes, file) = try written(.group([("g", .group(members))]))
        #expect(file.tensors.count == 300)
        #expect(Set(file.tensors.map(\.name)) == Set((0..<300).map { "g/m\($0)" }))
        // Superblock v0 group leaf node K (bytes 16-17) is raised to hold 300 entries in one node.
        #expect(Int(bytes[16]) | Int(bytes[17]) << 8 == 150)
    }

    @Test func theSameTreeGivesTheSameBytes() throws {
        let t = try Tensor(float32: [1, 2], shape: [2])
        let tree = HDF5Object.group([("x", .dataset(t, attributes: [("name", "x")]))])
        #expect(try written(tree).bytes == written(tree).bytes)
    }

    @Test func bfloat16IsWrittenAsKerasWritesIt() throws {
        let bf = try Tensor(float32: [1, -2.5, 3], shape: [3]).converted(to: .bfloat16)
        let (bytes, file) = try written(.group([("w", .dataset(bf))]))
        #expect(file.tensors.first?.tensor.dtype == .bfloat16 && file.tensors.first?.tensor.floats() == [1, -2.5, 3])
        // The opaque datatype message: class 5 version 1, size 2; the marking attribute's name.
        #expect(bytes.indices.contains { i in i + 8 <= bytes.count && Array(bytes[i..<(i + 8)]) == [0x15, 0, 0, 0, 2, 0, 0, 0] })
        #expect(bytes.indices.contains { i in i + 6 <= bytes.count && Array(bytes[i..<(i + 6)]) == Array("dtype\0".utf8) })
    }

    @Test func whatHDF5CannotNameIsRefused() throws {
        let one = try Tensor(float32: [1], shape: [1])
        let cases: [(HDF5Object, String)] = [
            (.group([("a/b", .dataset(one))]), "member name 'a/b' cannot be written"),
            (.group([("a", .dataset(one)), ("a", .dataset(one))]), "member name 'a' cannot be written"),
            (.group([("a", .dataset(one, attributes: [("", "v")]))]), "attribute name '' cannot be written"),
            (.dataset(one), "root must be a group"),
        ]
        for (tree, message) in cases {
            let error = try #require(throws: FormatError.self) { try HDF5Writer.pieces(tree) }
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
