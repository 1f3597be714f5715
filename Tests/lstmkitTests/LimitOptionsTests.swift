import Foundation
import Testing
@testable import lstmkit

/// `--max-bytes`: parsing of sizes, and the cap reaching the ZIP reader of every command that reads.
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

    @Test func defaultIsTheLibraryDefault() throws {
        let options = try LimitOptions.parse([])
        #expect(options.limits.maxInflatedBytes == 16 << 30)
        #expect(try LimitOptions.parse(["--max-bytes", "3M"]).limits.maxInflatedBytes == 3 << 20)
    }

    /// The fixture inflates 16 members, 8192 bytes in all.
    @Test(arguments: ["inspect", "validate"])
    func capBelowTheInflatedSizeIsExitTwoNamingTheLimit(_ command: String) {
        let refused = lstmkit([command, Self.compressed, "--max-bytes", "2K"])
        #expect(refused.exit == 2, "\(refused)")
        #expect(refused.err.contains("over the limit of 2048 inflated bytes"), "\(refused)")
        #expect(refused.err.split(separator: "\n").count == 1, "\(refused)")
        let allowed = lstmkit([command, Self.compressed, "--max-bytes", "8K"])
        #expect(allowed.exit == 0, "\(allowed)")
    }

    @Test func convertHonoursTheCapAndWritesNothing() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lstmkit-maxbytes-\(UInt32.random(in: 0...UInt32.max)).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let refused = lstmkit(["convert", Self.compressed, out, "--max-bytes", "4K"])
        #expect(refused.exit == 2, "\(refused)")
        #expect(refused.err.contains("inflated bytes"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let allowed = lstmkit(["convert", Self.compressed, out, "--max-bytes", "8K"])
        #expect(allowed.exit == 0, "\(allowed)")
    }

    @Test func badSizeIsAUsageError() {
        let run = lstmkit(["validate", Self.compressed, "--max-bytes", "lots"])
        #expect(run.exit == 64, "\(run)")
    }
}
