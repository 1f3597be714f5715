import Foundation
import Testing
import TensorFormats
@testable import lstmkit

/// `--max-bytes`: parsing of sizes, and the memory budget reaching every command that reads data.
@Suite struct LimitOptionsTests {
    static let compressed = ConvertMatrixTests.root + "/Fixtures/npz/lstm_l2_bi_compressed.npz"

    @Test func sizesParseWithBinarySuffixes() {
        #expect(ByteSize(argument: "1048576")?.bytes == 1_048_576)
        #expect(ByteSize(argument: "512K")?.bytes == 512 << 10)
        #expect(ByteSize(argument: "64m")?.bytes == 64 << 20)
        #expect(ByteSize(argument: "2GiB")?.bytes == 2 << 30)
        #expect(ByteSize(argument: "1TB")?.bytes == 1 << 40)
        #expect(ByteSize(argument: "0")?.bytes == 0)
        for bad in ["", "-1", "1.5G", "8x", "G", "99999999999T"] {
            #expect(ByteSize(argument: bad) == nil, "'\(bad)' parsed")
        }
    }

    @Test func defaultIsTheProcessBudget() throws {
        let options = try LimitOptions.parse([])
        #expect(options.limits.memory === MemoryBudget.process)
        #expect(MemoryBudget.process.limit == MemoryBudget.defaultLimit && MemoryBudget.defaultLimit > 0)
        #expect(try LimitOptions.parse(["--max-bytes", "3M"]).makeBudget().limit == 3 << 20)
    }

    /// inspect and validate read npy headers only: no budget is needed, however small.
    @Test(arguments: ["inspect", "validate"])
    func metadataCommandsInflateNothing(_ command: String) {
        let run = lstmkit([command, Self.compressed, "--max-bytes", "0"])
        #expect(run.exit == 0, "\(run)")
    }

    /// verify needs the weights, the golden's arrays and the pass's working memory in the budget.
    @Test func runNeedsTheWeightsInTheBudget() throws {
        let golden = ConvertMatrixTests.root + "/Fixtures/golden/lstm_l2_bi.npz"
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lstmkit-maxbytes-\(UInt32.random(in: 0...UInt32.max)).npz").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let refused = lstmkit(["verify", Self.compressed, "--golden", golden, "--max-bytes", "2K"])
        #expect(refused.exit == 2, "\(refused)")
        #expect(refused.err.contains("over the memory budget of 2.0 KiB"), "\(refused)")
        #expect(refused.err.split(separator: "\n").count == 1, "\(refused)")
        let allowed = lstmkit(["verify", Self.compressed, "--golden", golden, "--max-bytes", "1M"])
        #expect(allowed.exit == 0, "\(allowed)")
    }

    /// convert copies deflated members into the output in bounded pieces; a cast makes one tensor
    /// at a time in the budget.
    @Test func convertStreamsAndCastsWithinTheBudget() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lstmkit-maxbytes-\(UInt32.random(in: 0...UInt32.max)).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let streamed = lstmkit(["convert", Self.compressed, out, "--max-bytes", "0"])
        #expect(streamed.exit == 0, "\(streamed)")
        try FileManager.default.removeItem(atPath: out)
        let refused = lstmkit(["convert", Self.compressed, out, "--dtype", "float16", "--max-bytes", "1K"])
        #expect(refused.exit == 2, "\(refused)")
        #expect(refused.err.contains("over the memory budget"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let allowed = lstmkit(["convert", Self.compressed, out, "--dtype", "float16", "--max-bytes", "64K"])
        #expect(allowed.exit == 0, "\(allowed)")
    }

    @Test func badSizeIsAUsageError() {
        let run = lstmkit(["validate", Self.compressed, "--max-bytes", "lots"])
        #expect(run.exit == 64, "\(run)")
    }
}
