using System.Globalization;
using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>
/// Data-movement and shape operators. Each builds an index map (output element to input element)
/// and gathers with <see cref="TensorOps.Take"/>, so they work on every element type.
/// </summary>
internal static class Shapes
{
    private static string F(long v) => v.ToString(CultureInfo.InvariantCulture);

    public static Tensor[] Identity(OpContext c) => [c.Input(0)];

    public static Tensor[] Dropout(OpContext c)
    {
        var x = c.Input(0);
        if (c.Opset >= 12)
        {
            var training = c.Optional(2);
            if (training is not null && c.ScalarValue(training, "training_mode") != 0)
                throw c.Fail("Dropout in training mode is not supported");
        }
        if (c.Node.Outputs.Count > 1 && c.Node.Outputs[1].Length > 0)
        {
            var mask = new bool[x.Length];
            Array.Fill(mask, true);
            return [x, new Tensor(DataType.Bool, x.Shape, mask)];
        }
        return [x];
    }

    public static Tensor[] Flatten(OpContext c)
    {
        var x = c.Input(0);
        long a = c.Int("axis", 1);
        int axis = a == x.Rank ? x.Rank : a == -x.Rank ? 0 : c.Axis(a, x.Rank);
        return [x.Reshape([TensorOps.Product(x.Shape, 0, axis), TensorOps.Product(x.Shape, axis, x.Rank)])];
    }

    public static Tensor[] Reshape(OpContext c)
    {
        var x = c.Input(0);
        long[] target = c.Opset >= 5 ? c.Int64s(c.Input(1), "shape") : c.Ints("shape") ?? throw c.Fail("Reshape needs a shape");
        bool allowZero = c.Int("allowzero", 0) != 0;
        var shape = new int[target.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            if (d == 0 && !allowZero)
            {
                if (i >= x.Rank)
                    throw c.Fail($"Reshape shape {FormatLongs(target)} copies dimension {i} that {ShapeMath.Format(x.Shape)} lacks");
                d = x.Shape[i];
            }
            if (d == -1)
            {
                if (inferred >= 0)
                    throw c.Fail($"Reshape shape {FormatLongs(target)} has more than one -1");
                inferred = i;
                continue;
            }
            shape[i] = c.Dim(d, "dimension");
            known *= shape[i];
        }
        if (inferred >= 0)
        {
            if (known == 0 || x.Length % known != 0)
                throw c.Fail($"Reshape cannot infer -1 in {FormatLongs(target)} for {ShapeMath.Format(x.Shape)}");
            shape[inferred] = (int)(x.Length / known);
        }
        if (ShapeMath.ElementCount(shape) != x.Length)
            throw c.Fail($"Reshape {ShapeMath.Format(x.Shape)} to {ShapeMath.Format(shape)} changes the element count");
        return [x.Reshape(shape)];
    }

    private static string FormatLongs(long[] v) => "[" + string.Join(",", Array.ConvertAll(v, F)) + "]";

    public static Tensor[] Transpose(OpContext c)
    {
        var x = c.Input(0);
        int rank = x.Rank;
        var permAttr = c.Ints("perm");
        var perm = new int[rank];
        if (permAttr is null)
        {
            for (int i = 0; i < rank; i++)
                perm[i] = rank - 1 - i;
        }
        else
        {
            if (permAttr.Length != rank)
                throw c.Fail($"Transpose perm {FormatLongs(permAttr)} does not match rank {rank}");
            var seen = new bool[rank];
            for (int i = 0; i < rank; i++)
            {
                int p = c.Axis(permAttr[i], rank);
                if (seen[p])
                    throw c.Fail($"Transpose perm {FormatLongs(permAttr)} is not a permutation");
                seen[p] = true;
                perm[i] = p;
            }
        }
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
            shape[i] = x.Shape[perm[i]];
        return [TensorOps.Take(x, shape, TensorOps.StridedMap(x.Shape, shape, perm, new int[rank], TensorOps.Ones(rank)))];
    }

    public static Tensor[] Concat(OpContext c)
    {
        if (c.InputCount == 0)
            throw c.Fail("Concat needs at least one input");
        var first = c.Input(0);
        if (first.Rank == 0)
            throw c.Fail("Concat does not accept scalars");
        if (!c.Node.Has("axis"))
            throw c.Fail("Concat needs an axis");
        int axis = c.Axis(c.Int("axis", 0), first.Rank);
        var shape = (int[])first.Shape.Clone();
        shape[axis] = 0;
        for (int i = 0; i < c.InputCount; i++)
        {
            var t = c.Input(i);
            if (t.Type != first.Type)
                throw c.Fail($"Concat input types differ: {first.Type.Name()} and {t.Type.Name()}");
            if (t.Rank != first.Rank)
                throw c.Fail($"Concat inputs {ShapeMath.Format(first.Shape)} and {ShapeMath.Format(t.Shape)} differ in rank");
            for (int d = 0; d < first.Rank; d++)
            {
                if (d != axis && t.Shape[d] != first.Shape[d])
                    throw c.Fail($"Concat inputs {ShapeMath.Format(first.Shape)} and {ShapeMath.Format(t.Shape)} differ outside axis {axis}");
            }
            shape[axis] += t.Shape[axis];
        }
        var data = Array.CreateInstance(Tensor.StorageType(first.Type), c.Count(shape));
        int outer = TensorOps.Product(shape, 0, axis), inner = TensorOps.Product(shape, axis + 1, shape.Length);
        int offset = 0;
        for (int i = 0; i < c.InputCount; i++)
        {
            var t = c.Input(i);
            int block = t.Shape[axis] * inner;
            for (int o = 0; o < outer; o++)
                Array.Copy(t.Data, o * block, data, o * shape[axis] * inner + offset, block);
            offset += block;
        }
        return [new Tensor(first.Type, shape, data)];
    }

    public static Tensor[] Split(OpContext c)
    {
        var x = c.Input(0);
        if (x.Rank == 0)
            throw c.Fail("Split does not accept scalars");
        int axis = c.Axis(c.Int("axis", 0), x.Rank);
        int dim = x.Shape[axis];
        int outputs = c.Node.Outputs.Count;
        c.Replaced("split", 13);
        long[]? split = c.Opset >= 13 ? (c.Optional(1) is Tensor s ? c.Int64s(s, "split") : null) : c.Ints("split");
        long[] sizes;
        if (split is not null && split.Length > 0)
        {
            sizes = split;
        }
        else
        {
            long parts = c.Opset >= 18 && c.Node.Has("num_outputs") ? c.Int("num_outputs", outputs) : outputs;
            if (parts < 1)
                throw c.Fail("Split needs at least one output");
            if (c.Opset >= 18 && c.Node.Has("num_outputs"))
            {
                // Opset 18: equal chunks of ceil(dim / n), the last one smaller.
                long chunk = (dim + parts - 1) / parts;
                sizes = new long[parts];
                long left = dim;
                for (int i = 0; i < parts; i++)
                {
                    sizes[i] = Math.Min(chunk, left);
                    left -= sizes[i];
                }
            }
            else
            {
                if (dim % parts != 0)
                    throw c.Fail($"Split cannot divide axis of size {dim} into {parts} equal parts");
                sizes = new long[parts];
                Array.Fill(sizes, dim / parts);
            }
        }
        long total = 0;
        foreach (long v in sizes)
        {
            if (v < 0)
                throw c.Fail("Split sizes must be non-negative");
            total += v;
        }
        if (total != dim)
            throw c.Fail($"Split sizes {FormatLongs(sizes)} do not add up to {dim}");
        if (sizes.Length != outputs)
            throw c.Fail($"Split has {sizes.Length} parts but {outputs} outputs");
        var result = new Tensor[sizes.Length];
        int start = 0;
        int rank = x.Rank;
        for (int i = 0; i < sizes.Length; i++)
        {
            var shape = (int[])x.Shape.Clone();
            shape[axis] = (int)sizes[i];
            var starts = new int[rank];
            starts[axis] = start;
            result[i] = TensorOps.Take(x, shape, TensorOps.StridedMap(x.Shape, shape, TensorOps.Iota(rank), starts, TensorOps.Ones(rank)));
            start += (int)sizes[i];
        }
        return result;
    }

    public static Tensor[] Slice(OpContext c)
    {
        var x = c.Input(0);
        int rank = x.Rank;
        long[] starts, ends;
        long[]? axes, steps = null;
        if (c.Opset < 10)
        {
            starts = c.Ints("starts") ?? throw c.Fail("Slice needs starts");
            ends = c.Ints("ends") ?? throw c.Fail("Slice needs ends");
            axes = c.Ints("axes");
        }
        else
        {
            c.Replaced("starts", 10);
            c.Replaced("ends", 10);
            c.Replaced("axes", 10);
            starts = c.Int64s(c.Input(1), "starts");
            ends = c.Int64s(c.Input(2), "ends");
            axes = c.Optional(3) is Tensor a ? c.Int64s(a, "axes") : null;
            steps = c.Optional(4) is Tensor s ? c.Int64s(s, "steps") : null;
        }
        int n = starts.Length;
        if (ends.Length != n || (axes is not null && axes.Length != n) || (steps is not null && steps.Length != n))
            throw c.Fail("Slice starts, ends, axes and steps differ in length");
        var shape = (int[])x.Shape.Clone();
        var first = new int[rank];
        var step = TensorOps.Ones(rank);
        var seen = new bool[rank];
        for (int i = 0; i < n; i++)
        {
            int axis = c.Axis(axes is null ? i : axes[i], rank);
            if (seen[axis])
                throw c.Fail($"Slice axis {axis} appears twice");
            seen[axis] = true;
            long dim = x.Shape[axis];
            long st = steps is null ? 1 : steps[i];
            if (st == 0)
                throw c.Fail("Slice step must not be 0");
            long b = starts[i], e = ends[i];
            if (b < 0)
                b += dim;
            if (e < 0)
                e += dim;
            if (dim == 0)
            {
                shape[axis] = 0;
                continue;
            }
            if (st > 0)
            {
                b = Math.Clamp(b, 0, dim);
                e = Math.Clamp(e, 0, dim);
            }
            else
            {
                b = Math.Clamp(b, 0, dim - 1);
                e = Math.Clamp(e, -1, dim - 1);
            }
            long count = st > 0 ? (e - b + st - 1) / st : (b - e + (-st) - 1) / (-st);
            shape[axis] = (int)Math.Max(0, count);
            first[axis] = (int)Math.Max(0, b);
            // Only |step| < dim matters for the index map (beyond that at most one element is taken).
            step[axis] = (int)Math.Min(Math.Abs(Math.Max(st, -long.MaxValue)), dim) * (st > 0 ? 1 : -1);
        }
        return [TensorOps.Take(x, shape, TensorOps.StridedMap(x.Shape, shape, TensorOps.Iota(rank), first, step))];
    }

    public static Tensor[] Pad(OpContext c)
    {
        var x = c.Input(0);
        int rank = x.Rank;
        string mode = c.String("mode", "constant");
        long[] pads;
        double value = 0;
        long[]? axes = null;
        if (c.Opset < 11)
        {
            pads = c.Ints("pads") ?? c.Ints("paddings") ?? throw c.Fail("Pad needs pads");
            value = c.FloatAttr("value", 0f);
        }
        else
        {
            c.Replaced("pads", 11);
            c.Replaced("value", 11);
            pads = c.Int64s(c.Input(1), "pads");
            if (c.Optional(2) is Tensor v && v.Length > 0)
            {
                if (v.Type != x.Type)
                    throw c.Fail($"Pad constant_value is {v.Type.Name()}, input is {x.Type.Name()}");
                value = c.ScalarValue(v, "constant_value");
            }
            if (c.Opset >= 18 && c.Optional(3) is Tensor a)
                axes = c.Int64s(a, "axes");
        }
        int[] padAxes;
        if (axes is null)
        {
            padAxes = TensorOps.Iota(rank);
        }
        else
        {
            padAxes = new int[axes.Length];
            for (int i = 0; i < axes.Length; i++)
                padAxes[i] = c.Axis(axes[i], rank);
        }
        int k = padAxes.Length;
        if (pads.Length != 2 * k)
            throw c.Fail($"Pad pads has {pads.Length} values, expected {2 * k}");
        var begin = new int[rank];
        var end = new int[rank];
        for (int i = 0; i < k; i++)
        {
            begin[padAxes[i]] = (int)Math.Clamp(pads[i], int.MinValue, int.MaxValue);
            end[padAxes[i]] = (int)Math.Clamp(pads[i + k], int.MinValue, int.MaxValue);
        }
        if (mode is not ("constant" or "reflect" or "edge" or "wrap"))
            throw c.Fail($"Pad mode '{mode}' is not supported");
        var shape = new int[rank];
        // Per axis: the source coordinate of each output coordinate, -1 for the constant fill.
        var source = new int[rank][];
        for (int d = 0; d < rank; d++)
        {
            long size = (long)x.Shape[d] + begin[d] + end[d];
            shape[d] = c.Dim(size, "padded size");
            int dim = x.Shape[d];
            if (mode != "constant" && dim == 0 && size > 0)
                throw c.Fail($"Pad mode '{mode}' cannot pad an empty axis");
            if (mode == "reflect" && (begin[d] >= dim || end[d] >= dim) && (begin[d] > 0 || end[d] > 0))
                throw c.Fail($"Pad mode 'reflect' needs pads smaller than the axis size {dim}");
            source[d] = new int[shape[d]];
            for (int o = 0; o < shape[d]; o++)
            {
                int i = o - begin[d];
                if (i < 0 || i >= dim)
                {
                    i = mode switch
                    {
                        "edge" => Math.Clamp(i, 0, dim - 1),
                        "reflect" => i < 0 ? -i : 2 * (dim - 1) - i,
                        "wrap" => ((i % dim) + dim) % dim,
                        _ => -1,
                    };
                }
                source[d][o] = i;
            }
        }
        int count = c.Count(shape);
        var map = new int[count];
        var strides = ShapeMath.Strides(x.Shape);
        var index = new int[rank];
        for (int o = 0; o < count; o++)
        {
            int src = 0;
            for (int d = 0; d < rank; d++)
            {
                int s = source[d][index[d]];
                if (s < 0)
                {
                    src = -1;
                    break;
                }
                src += s * strides[d];
            }
            map[o] = src;
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                    break;
                index[d] = 0;
            }
        }
        return [TensorOps.Take(x, shape, map, value)];
    }

    public static Tensor[] Squeeze(OpContext c)
    {
        var x = c.Input(0);
        c.Replaced("axes", 13);
        long[]? axes = c.Opset >= 13 ? (c.Optional(1) is Tensor t ? c.Int64s(t, "axes") : null) : c.Ints("axes");
        var drop = new bool[x.Rank];
        if (axes is null || axes.Length == 0)
        {
            for (int i = 0; i < x.Rank; i++)
                drop[i] = x.Shape[i] == 1;
        }
        else
        {
            foreach (long a in axes)
            {
                int axis = c.Axis(a, x.Rank);
                if (x.Shape[axis] != 1)
                    throw c.Fail($"Squeeze axis {a} of {ShapeMath.Format(x.Shape)} is not 1");
                drop[axis] = true;
            }
        }
        var shape = new List<int>();
        for (int i = 0; i < x.Rank; i++)
        {
            if (!drop[i])
                shape.Add(x.Shape[i]);
        }
        return [x.Reshape([.. shape])];
    }

    public static Tensor[] Unsqueeze(OpContext c)
    {
        var x = c.Input(0);
        c.Replaced("axes", 13);
        long[] axes = (c.Opset >= 13 ? c.Int64s(c.Input(1), "axes") : c.Ints("axes")) ?? throw c.Fail("Unsqueeze needs axes");
        int rank = x.Rank + axes.Length;
        var inserted = new bool[rank];
        foreach (long a in axes)
        {
            int axis = c.Axis(a, rank);
            if (inserted[axis])
                throw c.Fail($"Unsqueeze axes repeat axis {a}");
            inserted[axis] = true;
        }
        var shape = new int[rank];
        int j = 0;
        for (int i = 0; i < rank; i++)
            shape[i] = inserted[i] ? 1 : x.Shape[j++];
        return [x.Reshape(shape)];
    }

    public static Tensor[] Gather(OpContext c)
    {
        var x = c.Input(0);
        var indices = c.Input(1, DataType.Int64, DataType.Int32);
        if (x.Rank == 0)
            throw c.Fail("Gather does not accept a scalar data input");
        int axis = c.Axis(c.Int("axis", 0), x.Rank);
        int dim = x.Shape[axis];
        int[] shape = [.. x.Shape[..axis], .. indices.Shape, .. x.Shape[(axis + 1)..]];
        int outer = TensorOps.Product(x.Shape, 0, axis), inner = TensorOps.Product(x.Shape, axis + 1, x.Rank);
        int count = indices.Length;
        var idx = new int[count];
        for (int i = 0; i < count; i++)
        {
            long v = indices.GetInt64(i);
            if (v < -dim || v >= dim)
                throw c.Fail($"Gather index {v} is out of range for axis of size {dim}");
            idx[i] = (int)(v < 0 ? v + dim : v);
        }
        var map = new int[c.Count(shape)];
        int o = 0;
        for (int a = 0; a < outer; a++)
            for (int i = 0; i < count; i++)
                for (int b = 0; b < inner; b++)
                    map[o++] = (a * dim + idx[i]) * inner + b;
        return [TensorOps.Take(x, shape, map)];
    }

    public static Tensor[] Shape(OpContext c)
    {
        var x = c.Input(0);
        int rank = x.Rank;
        long start = c.Opset >= 15 ? c.Int("start", 0) : 0;
        long end = c.Opset >= 15 ? c.Int("end", rank) : rank;
        var (from, to) = ShapeMath.ShapeRange(start, end, rank);
        var dims = new List<long>();
        for (int i = from; i < to; i++)
            dims.Add(x.Shape[i]);
        return [Tensor.Vector([.. dims])];
    }

    public static Tensor[] Size(OpContext c) => [Tensor.Scalar((long)c.Input(0).Length)];

    public static Tensor[] Constant(OpContext c)
    {
        var n = c.Node;
        if (n.GetTensor("value") is Tensor t)
            return [t];
        if (n.Has("value_float"))
            return [Tensor.Scalar(n.GetFloat("value_float", 0))];
        if (n.GetFloats("value_floats") is float[] fs)
            return [Tensor.FromFloats([fs.Length], fs)];
        if (n.Has("value_int"))
            return [Tensor.Scalar(n.GetInt("value_int", 0))];
        if (n.GetInts("value_ints") is long[] ls)
            return [Tensor.Vector(ls)];
        throw c.Fail("Constant needs value, value_float(s) or value_int(s); other forms are not supported");
    }

    public static Tensor[] ConstantOfShape(OpContext c)
    {
        long[] dims = c.Int64s(c.Input(0), "shape");
        var shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
            shape[i] = c.Dim(dims[i], "dimension");
        var value = c.Node.GetTensor("value");
        if (value is not null && value.Length != 1)
            throw c.Fail("ConstantOfShape value must have one element");
        var type = value?.Type ?? DataType.Float;
        var zero = Tensor.Zeros(type, [1]);
        var map = new int[c.Count(shape)];
        Array.Fill(map, -1);
        return [TensorOps.Take(zero, shape, map, value is null ? 0 : value.GetDouble(0))];
    }

    public static Tensor[] Expand(OpContext c)
    {
        var x = c.Input(0);
        long[] dims = c.Int64s(c.Input(1), "shape");
        var target = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
            target[i] = c.Dim(dims[i], "dimension");
        var shape = ShapeMath.Broadcast(x.Shape, target)
            ?? throw c.Fail($"Expand cannot broadcast {ShapeMath.Format(x.Shape)} to {ShapeMath.Format(target)}");
        return [TensorOps.Take(x, shape, TensorOps.BroadcastMap(x.Shape, shape) ?? TensorOps.Iota(x.Length))];
    }

    public static Tensor[] Tile(OpContext c)
    {
        var x = c.Input(0);
        long[] repeats = c.Int64s(c.Input(1), "repeats");
        if (repeats.Length != x.Rank)
            throw c.Fail($"Tile repeats has {repeats.Length} values for rank {x.Rank}");
        int rank = x.Rank;
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
            shape[i] = c.Dim(x.Shape[i] * repeats[i], "tiled size");
        var strides = ShapeMath.Strides(x.Shape);
        var map = new int[c.Count(shape)];
        var index = new int[rank];
        for (int o = 0; o < map.Length; o++)
        {
            int src = 0;
            for (int d = 0; d < rank; d++)
                src += index[d] % x.Shape[d] * strides[d];
            map[o] = src;
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                    break;
                index[d] = 0;
            }
        }
        return [TensorOps.Take(x, shape, map)];
    }

    public static Tensor[] Range(OpContext c)
    {
        var start = c.Input(0, TensorOps.Numeric);
        var limit = c.Input(1, start.Type);
        var delta = c.Input(2, start.Type);
        if (start.Type is DataType.Int64 or DataType.Int32)
        {
            if (start.Length != 1 || limit.Length != 1 || delta.Length != 1)
                throw c.Fail("Range inputs must be scalars");
            long s = start.GetInt64(0), l = limit.GetInt64(0), d = delta.GetInt64(0);
            if (d == 0)
                throw c.Fail("Range delta must not be 0");
            long n = Math.Max(0, (l - s + d + (d > 0 ? -1 : 1)) / d);
            int count = c.Dim(n, "length");
            var values = new long[count];
            for (int i = 0; i < count; i++)
                values[i] = s + i * d;
            return [start.Type == DataType.Int64 ? Tensor.FromInt64s([count], values) : new Tensor(DataType.Int32, [count], Array.ConvertAll(values, v => (int)v))];
        }
        else
        {
            double s = c.ScalarValue(start, "start"), l = c.ScalarValue(limit, "limit"), d = c.ScalarValue(delta, "delta");
            if (d == 0)
                throw c.Fail("Range delta must not be 0");
            int count = c.Dim((long)Math.Max(0, Math.Ceiling((l - s) / d)), "length");
            var values = new double[count];
            for (int i = 0; i < count; i++)
                values[i] = s + i * d;
            return [TensorOps.FromDoubles(start.Type, [count], values)];
        }
    }

    public static Tensor[] DepthToSpace(OpContext c) => [BlockRearrange(c, depthToSpace: true)];

    public static Tensor[] SpaceToDepth(OpContext c) => [BlockRearrange(c, depthToSpace: false)];

    private static Tensor BlockRearrange(OpContext c, bool depthToSpace)
    {
        var x = c.Input(0);
        c.CheckRank(x, 4);
        int b = c.SmallInt("blocksize", 0);
        if (b < 1)
            throw c.Fail($"{c.Op} needs a positive blocksize");
        int n = x.Shape[0], ch = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        string mode = depthToSpace ? c.String("mode", "DCR") : "DCR";
        if (mode is not ("DCR" or "CRD"))
            throw c.Fail($"DepthToSpace mode '{mode}' is not supported");
        if (depthToSpace)
        {
            if (ch % (b * b) != 0)
                throw c.Fail($"DepthToSpace channels {ch} are not divisible by blocksize^2 = {b * b}");
            int oc = ch / (b * b);
            // DCR: input viewed as [n, b, b, oc, h, w]; CRD: [n, oc, b, b, h, w]; output [n, oc, h, b, w, b].
            int[] view = mode == "DCR" ? [n, b, b, oc, h, w] : [n, oc, b, b, h, w];
            int[] perm = mode == "DCR" ? [0, 3, 4, 1, 5, 2] : [0, 1, 4, 2, 5, 3];
            return Permute(x, view, perm, [n, oc, h * b, w * b]);
        }
        if (h % b != 0 || w % b != 0)
            throw c.Fail($"SpaceToDepth spatial size {h}x{w} is not divisible by blocksize {b}");
        // Input viewed as [n, ch, h/b, b, w/b, b] -> [n, b, b, ch, h/b, w/b].
        return Permute(x, [n, ch, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4], [n, ch * b * b, h / b, w / b]);
    }

    private static Tensor Permute(Tensor x, int[] view, int[] perm, int[] shape)
    {
        var permuted = new int[view.Length];
        for (int i = 0; i < view.Length; i++)
            permuted[i] = view[perm[i]];
        return TensorOps.Take(x, shape, TensorOps.StridedMap(view, permuted, perm, new int[view.Length], TensorOps.Ones(view.Length)));
    }
}
