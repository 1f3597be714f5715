/// torch's tensor reconstructors (`torch/_utils.py`), read as descriptors:
///
/// | function | arguments |
/// |---|---|
/// | `_rebuild_tensor` | storage, offset, size, stride |
/// | `_rebuild_tensor_v2` | storage, offset, size, stride, requires_grad, backward_hooks[, metadata] |
/// | `_rebuild_tensor_v3` | storage, offset, size, stride, requires_grad, backward_hooks, dtype[, metadata] |
/// | `_rebuild_parameter` | tensor, requires_grad, backward_hooks |
/// | `_rebuild_parameter_with_state` | tensor, requires_grad, backward_hooks, state |
/// | `Parameter` (NEWOBJ / REDUCE) | tensor[, requires_grad] |
/// | `_rebuild_qtensor` | storage, offset, size, stride, quantizer params, requires_grad, backward_hooks |
///
/// Quantizer params: `(torch.per_tensor_affine, scale, zero_point)` or
/// `(torch.per_channel_affine, scales tensor, zero_points tensor, axis)`.
///
/// offset and stride are in elements; size and stride are tuples (or lists); metadata is a dict
/// holding `conj` / `neg` bits.
extension PickleRun {
    func rebuildTensor(_ function: String, _ args: [PickleValue]) throws(FormatError) -> PickleValue {
        let (minArgs, maxArgs) = switch function {
        case "_rebuild_tensor": (4, 4)
        case "_rebuild_tensor_v2": (6, 7)
        default: (7, 8)
        }
        guard args.count >= minArgs, args.count <= maxArgs else {
            throw error(.corrupt, "\(function) takes \(minArgs == maxArgs ? "\(minArgs)" : "\(minArgs) or \(maxArgs)") arguments, not \(args.count)")
        }
        guard case .storage(let storage) = args[0] else {
            throw error(.corrupt, "the first argument of \(function) is \(args[0].pythonTypeName), not a storage")
        }
        guard case .int(let offset) = args[1], offset >= 0 else {
            throw error(.corrupt, "the storage offset of \(function) is not a non-negative integer")
        }
        let shape = try dimensions(args[2], what: "size", of: function)
        let strides = try dimensions(args[3], what: "stride", of: function)
        guard shape.count == strides.count else {
            throw error(.corrupt, "\(function): size \(shape) and stride \(strides) differ in rank")
        }
        var type = storage.type
        var requiresGrad = false
        var metadata: PickleValue?
        if args.count >= 6, case .bool(let rg) = args[4] { requiresGrad = rg }
        if function == "_rebuild_tensor_v3" {
            guard case .dtype(let t) = args[6] else {
                throw error(.corrupt, "the dtype argument of _rebuild_tensor_v3 is \(args[6].pythonTypeName), not a torch dtype")
            }
            type = t
            if args.count == 8 { metadata = args[7] }
        } else if args.count == 7 {
            metadata = args[6]
        }
        var conj = false, neg = false
        if case .dict(let m)? = metadata {
            if case .bool(true)? = m["conj"] { conj = true }
            if case .bool(true)? = m["neg"] { neg = true }
        }
        return .tensor(PickleTensor(storage: storage, type: type, storageOffset: offset, shape: shape,
                                    strides: strides, requiresGrad: requiresGrad, conj: conj, neg: neg))
    }

    func rebuildQTensor(_ args: [PickleValue]) throws(FormatError) -> PickleValue {
        guard args.count >= 5 else {
            throw error(.corrupt, "_rebuild_qtensor takes at least 5 arguments, not \(args.count)")
        }
        guard case .tensor(let t) = try rebuildTensor("_rebuild_tensor", Array(args[0..<4])) else {
            throw error(.corrupt, "_rebuild_qtensor: not a tensor")
        }
        guard let params = args[4].sequenceItems, let scheme = params.first else {
            throw error(.corrupt, "the quantizer of _rebuild_qtensor is \(args[4].pythonTypeName), not a tuple")
        }
        let name = scheme.rendered(limit: 80)
        if name.hasSuffix("per_tensor_affine"), params.count >= 3 {
            var scale: Double?
            switch params[1] {
            case .float(let v): scale = v
            case .int(let v): scale = Double(v)
            default: break
            }
            guard let scale, case .int(let zp) = params[2] else {
                throw error(.corrupt, "_rebuild_qtensor: per_tensor_affine needs a float scale and an integer zero point")
            }
            t.quantization = .perTensor(scale: scale, zeroPoint: zp)
        } else if name.hasSuffix("per_channel_affine") || name.hasSuffix("per_channel_affine_float_qparams"), params.count >= 4,
                  case .tensor(let scales) = params[1], case .tensor(let zeroPoints) = params[2], case .int(let axis) = params[3] {
            t.quantization = .perChannel(scales: scales, zeroPoints: zeroPoints, axis: axis)
        } else {
            throw error(.unsupported, "_rebuild_qtensor with quantizer \(name), which lstmkit does not dequantize")
        }
        if args.count >= 6, case .bool(let rg) = args[5] { t.requiresGrad = rg }
        return .tensor(t)
    }

    func rebuildParameter(_ g: PickleGlobal, _ args: [PickleValue]) -> PickleValue {
        guard case .tensor(let t)? = args.first else {
            return .object(newObject(type: g, args: args))
        }
        t.isParameter = true
        t.requiresGrad = true
        if args.count > 1, case .bool(let rg) = args[1] { t.requiresGrad = rg }
        if g.name == "_rebuild_parameter_with_state", args.count > 3, !args[3].isEmptyContainer {
            t.state = args[3]
        }
        return .tensor(t)
    }

    private func dimensions(_ value: PickleValue, what: String, of function: String) throws(FormatError) -> [Int] {
        guard let items = value.sequenceItems else {
            throw error(.corrupt, "the \(what) of \(function) is \(value.pythonTypeName), not a tuple")
        }
        guard items.count <= limits.maxRank else {
            throw error(.limitExceeded, "a tensor of rank \(items.count) is over the limit of \(limits.maxRank)")
        }
        var dims: [Int] = []
        dims.reserveCapacity(items.count)
        for item in items {
            guard case .int(let d) = item, d >= 0 else {
                throw error(.corrupt, "the \(what) of \(function) holds \(item.pythonTypeName) that is not a non-negative integer")
            }
            dims.append(d)
        }
        return dims
    }
}
