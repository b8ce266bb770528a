namespace AutoKernel.Build.Graph;

public static partial class ShapeInference
{
    private static void AddTensorRules(Dictionary<string, Rule> r)
    {
        r["Reshape"] = Reshape;
        r["Flatten"] = Flatten;
        r["Transpose"] = Transpose;
        r["Concat"] = Concat;
        r["Split"] = Split;
        r["Slice"] = Slice;
        r["Pad"] = Pad;
        r["Squeeze"] = Squeeze;
        r["Unsqueeze"] = Unsqueeze;
        r["Gather"] = Gather;
        r["Shape"] = ShapeOp;
        r["Size"] = Size;
        r["Cast"] = Cast;
        r["Constant"] = Constant;
        r["ConstantOfShape"] = ConstantOfShape;
        r["Expand"] = Expand;
        r["Tile"] = Tile;
        r["Range"] = Range;
        r["DepthToSpace"] = DepthToSpace;
        r["SpaceToDepth"] = SpaceToDepth;
    }

    private static TensorType?[] Reshape(Ctx c)
    {
        c.InputCount(2, 2);
        var x = c.In(0);
        var target = c.ConstInts(1, "shape");
        bool allowZero = c.Opset >= 14 && c.Flag("allowzero", false);
        var shape = new int[target.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long v = target[i];
            if (v == -1)
            {
                if (inferred >= 0)
                    throw c.Fail($"{c.Op} shape {Fmt(target)} has more than one -1");
                inferred = i;
                continue;
            }
            if (v < -1)
                throw c.Fail($"{c.Op} shape {Fmt(target)} has invalid dimension {v}");
            if (v == 0 && !allowZero)
            {
                if (i >= x.Rank)
                    throw c.Fail($"{c.Op} shape {Fmt(target)} copies dimension {i} (0) but the input {Fmt(x.Shape)} has rank {x.Rank}");
                v = x.Shape[i];
            }
            shape[i] = c.Dim(v, "dimension");
            known = checked(known * shape[i]);
        }
        if (allowZero && inferred >= 0 && Array.IndexOf(target, 0L) >= 0)
            throw c.Fail($"{c.Op} shape {Fmt(target)} mixes 0 and -1 with allowzero=1");
        long total = x.ElementCount;
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0)
                throw c.Fail($"{c.Op} cannot reshape {Fmt(x.Shape)} ({total} elements) to {Fmt(target)}");
            shape[inferred] = c.Dim(total / known, "inferred dimension");
        }
        else if (known != total)
        {
            throw c.Fail($"{c.Op} cannot reshape {Fmt(x.Shape)} ({total} elements) to {Fmt(target)} ({known} elements)");
        }
        return One(T(x.ElementType, shape));
    }

    private static TensorType?[] Flatten(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        long axis = c.Int("axis", 1);
        int rank = x.Rank;
        if (axis < 0 && c.Opset >= 11)
            axis += rank;
        if (axis < 0 || axis > rank)
            throw c.Fail($"{c.Op} axis {c.Int("axis", 1)} is out of range for rank {rank}");
        long outer = 1, inner = 1;
        for (int i = 0; i < rank; i++)
        {
            if (i < axis)
                outer = checked(outer * x.Shape[i]);
            else
                inner = checked(inner * x.Shape[i]);
        }
        return One(T(x.ElementType, [c.Dim(outer, "outer size"), c.Dim(inner, "inner size")]));
    }

    private static TensorType?[] Transpose(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        int rank = x.Rank;
        var perm = c.Ints("perm") ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != rank)
            throw c.Fail($"{c.Op} perm {Fmt(perm)} has {perm.Length} values but the input has rank {rank}");
        var seen = new bool[rank];
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            long p = perm[i];
            if (p < 0 || p >= rank || seen[p])
                throw c.Fail($"{c.Op} perm {Fmt(perm)} is not a permutation of 0..{rank - 1}");
            seen[p] = true;
            shape[i] = x.Shape[p];
        }
        return One(T(x.ElementType, shape));
    }

    private static TensorType?[] Concat(Ctx c)
    {
        c.InputCount(1, int.MaxValue);
        if (!c.Node.Has("axis"))
            throw c.Fail($"{c.Op} needs attribute axis");
        var first = c.In(0);
        if (first.Rank == 0)
            throw c.Fail($"{c.Op} cannot concatenate scalars");
        int axis = c.Axis(c.Int("axis", 0), first.Rank);
        var shape = (int[])first.Shape.Clone();
        long total = 0;
        for (int i = 0; i < c.Node.Inputs.Count; i++)
        {
            var t = c.In(i);
            c.SameType(first, t, $"input {i}");
            bool compatible = t.Rank == first.Rank;
            for (int d = 0; compatible && d < t.Rank; d++)
                compatible = d == axis || t.Shape[d] == first.Shape[d];
            if (!compatible)
                throw c.Fail($"{c.Op} input {i} has shape {Fmt(t.Shape)}, incompatible with {Fmt(first.Shape)} on axis {axis}");
            total += t.Shape[axis];
        }
        shape[axis] = c.Dim(total, "concatenated size");
        return One(T(first.ElementType, shape));
    }

    private static TensorType?[] Split(Ctx c)
    {
        c.InputCount(1, c.Opset >= 13 ? 2 : 1);
        var x = c.In(0);
        if (x.Rank == 0)
            throw c.Fail($"{c.Op} cannot split a scalar");
        int axis = c.Axis(c.Int("axis", 0), x.Rank);
        int n = c.Node.Outputs.Count;
        if (n < 1)
            throw c.Fail($"{c.Op} has no outputs");
        int dim = x.Shape[axis];
        long[]? sizes = c.Opset < 13 ? c.Ints("split") : c.Has(1) ? c.ConstInts(1, "split") : null;
        if (c.Opset >= 13 && c.Node.Has("split"))
            throw c.Fail($"{c.Op} attribute split is not allowed from opset 13; split is an input");
        if (sizes is { Length: 0 })
            sizes = null;
        if (c.Opset >= 18 && c.Node.Has("num_outputs"))
        {
            if (sizes is not null)
                throw c.Fail($"{c.Op} takes a split input or num_outputs, not both");
            long num = c.Int("num_outputs", 0);
            if (num != n)
                throw c.Fail($"{c.Op} num_outputs {num} does not match its {n} outputs");
            long chunk = (dim + num - 1) / num;
            if (chunk * (num - 1) >= dim && dim > 0)
                throw c.Fail($"{c.Op} cannot split dimension {dim} into {num} outputs");
            sizes = new long[n];
            for (int i = 0; i < n; i++)
                sizes[i] = Math.Min(chunk, dim - chunk * i);
        }
        else if (sizes is null)
        {
            if (dim % n != 0)
                throw c.Fail($"{c.Op} cannot split dimension {dim} evenly into {n} outputs");
            sizes = Enumerable.Repeat((long)(dim / n), n).ToArray();
        }
        if (sizes.Length != n)
            throw c.Fail($"{c.Op} split {Fmt(sizes)} has {sizes.Length} values but the node has {n} outputs");
        long sum = 0;
        foreach (long s in sizes)
        {
            if (s < 0)
                throw c.Fail($"{c.Op} split {Fmt(sizes)} has a negative size");
            sum += s;
        }
        if (sum != dim)
            throw c.Fail($"{c.Op} split {Fmt(sizes)} sums to {sum} but axis {axis} has size {dim}");
        var result = new TensorType?[n];
        for (int i = 0; i < n; i++)
        {
            var shape = (int[])x.Shape.Clone();
            shape[axis] = (int)sizes[i];
            result[i] = T(x.ElementType, shape);
        }
        return result;
    }

    private static TensorType?[] Slice(Ctx c)
    {
        TensorType x;
        long[] starts, ends;
        long[]? axes, steps = null;
        if (c.Opset < 10)
        {
            c.InputCount(1, 1);
            x = c.In(0);
            starts = c.Ints("starts") ?? throw c.Fail($"{c.Op} needs attribute starts");
            ends = c.Ints("ends") ?? throw c.Fail($"{c.Op} needs attribute ends");
            axes = c.Ints("axes");
        }
        else
        {
            c.InputCount(3, 5);
            x = c.In(0);
            starts = c.ConstInts(1, "starts");
            ends = c.ConstInts(2, "ends");
            axes = c.Has(3) ? c.ConstInts(3, "axes") : null;
            steps = c.Has(4) ? c.ConstInts(4, "steps") : null;
        }
        int n = starts.Length;
        if (ends.Length != n || (axes is not null && axes.Length != n) || (steps is not null && steps.Length != n))
            throw c.Fail($"{c.Op} starts, ends, axes and steps must have the same length (starts {Fmt(starts)}, ends {Fmt(ends)})");
        var axisList = axes is null ? Enumerable.Range(0, n).ToArray() : c.Axes(axes, x.Rank);
        if (axes is null && n > x.Rank)
            throw c.Fail($"{c.Op} has {n} starts but the input has rank {x.Rank}");
        var shape = (int[])x.Shape.Clone();
        for (int k = 0; k < n; k++)
        {
            int a = axisList[k];
            long dim = x.Shape[a];
            long step = steps?[k] ?? 1;
            if (step == 0)
                throw c.Fail($"{c.Op} step on axis {a} cannot be 0");
            long start = starts[k], end = ends[k];
            if (start < 0)
                start += dim;
            if (end < 0)
                end += dim;
            long length;
            if (step > 0)
            {
                start = Math.Clamp(start, 0, dim);
                end = Math.Clamp(end, 0, dim);
                length = end > start ? (end - start - 1) / step + 1 : 0;
            }
            else if (dim == 0)
            {
                length = 0;
            }
            else
            {
                start = Math.Clamp(start, 0, dim - 1);
                end = Math.Clamp(end, -1, dim - 1);
                length = start > end ? (start - end - 1) / -step + 1 : 0;
            }
            shape[a] = (int)length;
        }
        return One(T(x.ElementType, shape));
    }

    private static TensorType?[] Pad(Ctx c)
    {
        TensorType x;
        long[] pads;
        long[]? axes = null;
        string mode = c.Str("mode", "constant");
        if (c.Opset < 11)
        {
            c.InputCount(1, 1);
            x = c.In(0);
            pads = c.Ints("pads") ?? throw c.Fail($"{c.Op} needs attribute pads");
        }
        else
        {
            c.InputCount(2, c.Opset >= 18 ? 4 : 3);
            x = c.In(0);
            pads = c.ConstInts(1, "pads");
            if (c.Opt(2) is { } value)
            {
                c.SameType(x, value, "constant_value");
                if (value.ElementCount > 1)
                    throw c.Fail($"{c.Op} constant_value must be a scalar, got shape {Fmt(value.Shape)}");
            }
            if (c.Opset >= 18 && c.Has(3))
                axes = c.ConstInts(3, "axes");
        }
        if (mode is not ("constant" or "reflect" or "edge"))
            throw c.Fail($"{c.Op} mode '{mode}' is not supported");
        var axisList = axes is null ? Enumerable.Range(0, x.Rank).ToArray() : c.Axes(axes, x.Rank);
        int n = axisList.Length;
        if (pads.Length != 2 * n)
            throw c.Fail($"{c.Op} pads {Fmt(pads)} has {pads.Length} values, expected {2 * n}");
        var shape = (int[])x.Shape.Clone();
        for (int k = 0; k < n; k++)
        {
            int a = axisList[k];
            long dim = x.Shape[a], begin = pads[k], end = pads[k + n];
            if (mode == "reflect" && (begin >= dim || end >= dim) && (begin > 0 || end > 0))
                throw c.Fail($"{c.Op} reflect pads {Fmt(pads)} must be smaller than dimension {dim} on axis {a}");
            if (mode == "edge" && dim == 0 && (begin > 0 || end > 0))
                throw c.Fail($"{c.Op} edge mode cannot pad the empty axis {a}");
            long size = dim + begin + end;
            if (size < 0)
                throw c.Fail($"{c.Op} pads {Fmt(pads)} remove more than the {dim} elements of axis {a}");
            shape[a] = c.Dim(size, "padded size");
        }
        return One(T(x.ElementType, shape));
    }

    private static TensorType?[] Squeeze(Ctx c)
    {
        c.InputCount(1, c.Opset >= 13 ? 2 : 1);
        var x = c.In(0);
        long[]? axes = c.Opset < 13 ? c.Ints("axes") : c.Has(1) ? c.ConstInts(1, "axes") : null;
        if (c.Opset >= 13 && c.Node.Has("axes"))
            throw c.Fail($"{c.Op} attribute axes is not allowed from opset 13; axes is an input");
        var remove = new bool[x.Rank];
        if (axes is null)
        {
            for (int i = 0; i < x.Rank; i++)
                remove[i] = x.Shape[i] == 1;
        }
        else
        {
            foreach (int a in c.Axes(axes, x.Rank))
            {
                if (x.Shape[a] != 1)
                    throw c.Fail($"{c.Op} cannot remove axis {a} of size {x.Shape[a]} from {Fmt(x.Shape)}");
                remove[a] = true;
            }
        }
        var shape = x.Shape.Where((_, i) => !remove[i]).ToArray();
        return One(T(x.ElementType, shape));
    }

    private static TensorType?[] Unsqueeze(Ctx c)
    {
        c.InputCount(c.Opset >= 13 ? 2 : 1, c.Opset >= 13 ? 2 : 1);
        var x = c.In(0);
        long[] axes = c.Opset < 13
            ? c.Ints("axes") ?? throw c.Fail($"{c.Op} needs attribute axes")
            : c.ConstInts(1, "axes");
        if (c.Opset >= 13 && c.Node.Has("axes"))
            throw c.Fail($"{c.Op} attribute axes is not allowed from opset 13; axes is an input");
        int rank = x.Rank + axes.Length;
        var insert = new bool[rank];
        foreach (int a in c.Axes(axes, rank))
            insert[a] = true;
        var shape = new int[rank];
        for (int i = 0, j = 0; i < rank; i++)
            shape[i] = insert[i] ? 1 : x.Shape[j++];
        return One(T(x.ElementType, shape));
    }

    private static TensorType?[] Gather(Ctx c)
    {
        c.InputCount(2, 2);
        var data = c.In(0);
        var indices = c.In(1);
        if (data.Rank == 0)
            throw c.Fail($"{c.Op} data must have rank at least 1");
        if (indices.ElementType is not (DataType.Int64 or DataType.Int32))
            throw c.Fail($"{c.Op} indices must be int32 or int64, got {indices.ElementType.Name()}");
        int axis = c.Axis(c.Int("axis", 0), data.Rank);
        int dim = data.Shape[axis];
        if (c.ConstOrNull(1) is { } idx)
        {
            for (int i = 0; i < idx.Length; i++)
            {
                long v = idx.GetInt64(i);
                if (v < -dim || v >= dim)
                    throw c.Fail($"{c.Op} index {v} is out of range for axis {axis} of size {dim}");
            }
        }
        int[] shape = [.. data.Shape[..axis], .. indices.Shape, .. data.Shape[(axis + 1)..]];
        return One(T(data.ElementType, shape));
    }

    private static TensorType?[] ShapeOp(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        int rank = x.Rank;
        long start = 0, end = rank;
        if (c.Opset >= 15)
        {
            start = c.Int("start", 0);
            end = c.Int("end", rank);
        }
        var (from, to) = ShapeMath.ShapeRange(start, end, rank);
        return One(T(DataType.Int64, [to - from]));
    }

    private static TensorType?[] Size(Ctx c)
    {
        c.InputCount(1, 1);
        c.In(0);
        return One(T(DataType.Int64, []));
    }

    private static TensorType?[] Cast(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        if (!c.Node.Has("to"))
            throw c.Fail($"{c.Op} needs attribute to");
        long to = c.Int("to", 0);
        int code = to is < 0 or > int.MaxValue ? -1 : (int)to;
        if (!DataTypes.IsSupported(code))
            throw c.Fail($"{c.Op} to '{DataTypes.OnnxName(code)}' is not supported");
        return One(T((DataType)code, x.Shape));
    }

    private static readonly string[] ConstantAttributes =
        ["value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings", "sparse_value"];

    private static TensorType?[] Constant(Ctx c)
    {
        c.InputCount(0, 0);
        var present = ConstantAttributes.Where(c.Node.Has).ToArray();
        if (present.Length != 1)
            throw c.Fail($"{c.Op} needs exactly one value attribute, got {present.Length}");
        switch (present[0])
        {
            case "value":
                return One(TensorType.Of(c.Node.GetTensor("value") ?? throw c.Fail($"{c.Op} value has an unsupported element type")));
            case "value_float":
                c.Node.GetFloat("value_float", 0);
                return One(T(DataType.Float, []));
            case "value_floats":
                return One(T(DataType.Float, [c.Floats("value_floats")!.Length]));
            case "value_int":
                c.Int("value_int", 0);
                return One(T(DataType.Int64, []));
            case "value_ints":
                return One(T(DataType.Int64, [c.Ints("value_ints")!.Length]));
            default:
                throw c.Fail($"{c.Op} attribute {present[0]} is not supported");
        }
    }

    private static TensorType?[] ConstantOfShape(Ctx c)
    {
        c.InputCount(1, 1);
        var dims = c.ConstInts(0, "shape");
        var shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0)
                throw c.Fail($"{c.Op} shape {Fmt(dims)} has a negative dimension");
            shape[i] = c.Dim(dims[i], "dimension");
        }
        checked
        {
            _ = ShapeMath.ElementCount(shape);
        }
        var type = DataType.Float;
        if (c.Node.Has("value"))
        {
            var value = c.Node.GetTensor("value") ?? throw c.Fail($"{c.Op} value has an unsupported element type");
            if (value.Length != 1)
                throw c.Fail($"{c.Op} value must hold exactly one element, got {value}");
            type = value.Type;
        }
        return One(T(type, shape));
    }

    private static TensorType?[] Expand(Ctx c)
    {
        c.InputCount(2, 2);
        var x = c.In(0);
        var dims = c.ConstInts(1, "shape");
        var target = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0)
                throw c.Fail($"{c.Op} shape {Fmt(dims)} has a negative dimension");
            target[i] = c.Dim(dims[i], "dimension");
        }
        return One(T(x.ElementType, c.Broadcast(x.Shape, target)));
    }

    private static TensorType?[] Tile(Ctx c)
    {
        c.InputCount(2, 2);
        var x = c.In(0);
        var repeats = c.ConstInts(1, "repeats");
        if (repeats.Length != x.Rank)
            throw c.Fail($"{c.Op} repeats {Fmt(repeats)} has {repeats.Length} values but the input has rank {x.Rank}");
        var shape = new int[x.Rank];
        for (int i = 0; i < shape.Length; i++)
        {
            if (repeats[i] < 0)
                throw c.Fail($"{c.Op} repeats {Fmt(repeats)} has a negative value");
            shape[i] = c.Dim(checked(x.Shape[i] * repeats[i]), "tiled size");
        }
        return One(T(x.ElementType, shape));
    }

    private static TensorType?[] Range(Ctx c)
    {
        c.InputCount(3, 3);
        string[] names = ["start", "limit", "delta"];
        var start = c.In(0);
        if (start.ElementType is not (DataType.Float or DataType.Double or DataType.Int32 or DataType.Int64))
            throw c.Fail($"{c.Op} does not support {start.ElementType.Name()} inputs");
        var values = new Tensor[3];
        for (int i = 0; i < 3; i++)
        {
            var t = c.In(i);
            c.SameType(start, t, names[i]);
            if (t.ElementCount != 1)
                throw c.Fail($"{c.Op} {names[i]} must be a scalar, got shape {Fmt(t.Shape)}");
            values[i] = c.Const(i, names[i]);
            if (values[i].Length != 1)
                throw c.Fail($"{c.Op} {names[i]} must be a scalar, got {values[i]}");
        }
        long count;
        if (start.ElementType is DataType.Int32 or DataType.Int64)
        {
            Int128 s = values[0].GetInt64(0), l = values[1].GetInt64(0), d = values[2].GetInt64(0);
            if (d == 0)
                throw c.Fail($"{c.Op} delta cannot be 0");
            Int128 diff = l - s;
            Int128 q = diff / d;
            if (diff % d != 0 && (diff < 0) == (d < 0))
                q++;
            count = q <= 0 ? 0 : q > int.MaxValue ? long.MaxValue : (long)q;
        }
        else
        {
            double diff, d;
            if (start.ElementType == DataType.Float)
            {
                // As ONNX Runtime: limit - start in float, the division in double.
                diff = values[1].Floats[0] - values[0].Floats[0];
                d = values[2].Floats[0];
            }
            else
            {
                diff = values[1].Doubles[0] - values[0].Doubles[0];
                d = values[2].Doubles[0];
            }
            if (d == 0)
                throw c.Fail($"{c.Op} delta cannot be 0");
            double q = Math.Ceiling(diff / d);
            if (double.IsNaN(q) || double.IsInfinity(q))
                throw c.Fail($"{c.Op} has a non-finite element count");
            count = q <= 0 ? 0 : q > int.MaxValue ? long.MaxValue : (long)q;
        }
        return One(T(start.ElementType, [c.Dim(count, "element count")]));
    }

    private static TensorType?[] DepthToSpace(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        c.Rank(x, 4, 4);
        if (!c.Node.Has("blocksize"))
            throw c.Fail($"{c.Op} needs attribute blocksize");
        long b = c.Int("blocksize", 0);
        if (b < 1 || b > 65536)
            throw c.Fail($"{c.Op} blocksize must be positive, got {b}");
        string mode = c.Opset >= 11 ? c.Str("mode", "DCR") : "DCR";
        if (mode is not ("DCR" or "CRD"))
            throw c.Fail($"{c.Op} mode '{mode}' is not supported");
        long channels = x.Shape[1];
        if (channels % (b * b) != 0)
            throw c.Fail($"{c.Op} input has {channels} channels, not divisible by blocksize² {b * b}");
        return One(T(x.ElementType,
        [
            x.Shape[0], (int)(channels / (b * b)), c.Dim(x.Shape[2] * b, "height"), c.Dim(x.Shape[3] * b, "width"),
        ]));
    }

    private static TensorType?[] SpaceToDepth(Ctx c)
    {
        c.InputCount(1, 1);
        var x = c.In(0);
        c.Rank(x, 4, 4);
        long b = c.Int("blocksize", 0);
        if (b < 1 || b > 65536)
            throw c.Fail($"{c.Op} blocksize must be positive, got {b}");
        if (x.Shape[2] % b != 0 || x.Shape[3] % b != 0)
            throw c.Fail($"{c.Op} input {Fmt(x.Shape)} is not divisible by blocksize {b}");
        return One(T(x.ElementType,
        [
            x.Shape[0], c.Dim(x.Shape[1] * b * b, "channels"), (int)(x.Shape[2] / b), (int)(x.Shape[3] / b),
        ]));
    }
}
