/// The name of one nn.LSTM parameter without its module prefix: `{kind}_l{layer}` + `_reverse` for
/// the backward direction, e.g. `weight_hh_l1_reverse`.
public struct CanonicalName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The five parameter kinds, in nn.LSTM's registration order.
    public enum Kind: String, CaseIterable, Sendable, Comparable {
        case weightIH = "weight_ih"
        case weightHH = "weight_hh"
        case biasIH = "bias_ih"
        case biasHH = "bias_hh"
        case weightHR = "weight_hr"

        var order: Int { Kind.allCases.firstIndex(of: self) ?? 0 }
        public static func < (a: Kind, b: Kind) -> Bool { a.order < b.order }
    }

    /// Layer indices above this are not read as layers (they are reported as unexpected tensors).
    public static let maxLayerIndex = 999

    public var kind: Kind
    public var layer: Int
    public var reverse: Bool

    public init(_ kind: Kind, layer: Int, reverse: Bool = false) {
        self.kind = kind
        self.layer = layer
        self.reverse = reverse
    }

    /// Parses exactly `{kind}_l{digits}` or `{kind}_l{digits}_reverse`; digits without a leading zero
    /// (except `0` itself) and at most ``maxLayerIndex``. Anything else is nil.
    public init?(_ leaf: Substring) {
        for kind in Kind.allCases {
            let head = kind.rawValue + "_l"
            guard leaf.hasPrefix(head) else { continue }
            var rest = leaf.dropFirst(head.count)
            var reverse = false
            if rest.hasSuffix("_reverse") {
                reverse = true
                rest = rest.dropLast("_reverse".count)
            }
            guard !rest.isEmpty, rest.count <= 3, rest.allSatisfy({ $0.isASCII && $0.isNumber }),
                  rest == "0" || rest.first != "0", let layer = Int(rest), layer <= CanonicalName.maxLayerIndex
            else { return nil }
            self.init(kind, layer: layer, reverse: reverse)
            return
        }
        return nil
    }

    public var description: String { kind.rawValue + CanonicalName.suffix(layer: layer, reverse: reverse) }

    /// `_l{layer}`, + `_reverse` for the backward direction: the one place the suffix is spelled
    /// (also for per-layer labels that are not nn.LSTM parameters, such as ONNX peepholes).
    public static func suffix(layer: Int, reverse: Bool) -> String {
        "_l\(layer)" + (reverse ? "_reverse" : "")
    }

    /// nn.LSTM's `state_dict()` order: by layer, then direction, then kind.
    public static func < (a: CanonicalName, b: CanonicalName) -> Bool {
        (a.layer, a.reverse ? 1 : 0, a.kind.order) < (b.layer, b.reverse ? 1 : 0, b.kind.order)
    }

    /// True when `leaf` looks like a layer-indexed recurrent parameter (`…_l<digits>…`) without being a
    /// canonical name: such tensors under an LSTM prefix are reported as unexpected.
    static func looksLayerIndexed(_ leaf: Substring) -> Bool {
        let c = Array(leaf.utf8)
        guard c.count >= 3 else { return false }
        for i in 0..<(c.count - 2) where c[i] == UInt8(ascii: "_") && c[i + 1] == UInt8(ascii: "l")
            && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c[i + 2]) {
            return true
        }
        return false
    }
}
