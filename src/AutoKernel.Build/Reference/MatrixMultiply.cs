using System.Numerics;
using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>
/// Gemm, MatMul and the blocked, multi-threaded float GEMM that they and the convolutions use.
/// </summary>
internal static class MatrixMultiply
{
    private const int RowBlock = 16;
    private const int ColBlock = 256;
    private const int DepthBlock = 128;

    /// <summary>
    /// c[cOff..] += a[aOff..] (m x k, row-major) times b[bOff..] (k x n, row-major); c is m x n.
    /// Tiles of <see cref="RowBlock"/> rows by <see cref="ColBlock"/> columns run in parallel when
    /// <paramref name="parallel"/> and the product is large enough; within a tile the loop order is
    /// i-k-j over depth blocks, so each tile writes only its own part of c.
    /// </summary>
    public static void Gemm(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, bool parallel = true)
    {
        if (m == 0 || n == 0 || k == 0)
            return;
        int rowTiles = (m + RowBlock - 1) / RowBlock;
        int colTiles = (n + ColBlock - 1) / ColBlock;
        int tiles = rowTiles * colTiles;
        void Tile(int t)
        {
            int i0 = t / colTiles * RowBlock, i1 = Math.Min(m, i0 + RowBlock);
            int j0 = t % colTiles * ColBlock, j1 = Math.Min(n, j0 + ColBlock);
            int width = j1 - j0;
            for (int p0 = 0; p0 < k; p0 += DepthBlock)
            {
                int p1 = Math.Min(k, p0 + DepthBlock);
                for (int i = i0; i < i1; i++)
                {
                    var cRow = c.AsSpan(cOff + i * n + j0, width);
                    for (int p = p0; p < p1; p++)
                        Axpy(a[aOff + i * k + p], b.AsSpan(bOff + p * n + j0, width), cRow);
                }
            }
        }
        if (parallel && tiles > 1 && (long)m * n * k >= 1 << 16)
            Parallel.For(0, tiles, Tile);
        else
            for (int t = 0; t < tiles; t++)
                Tile(t);
    }

    /// <summary>y += alpha * x.</summary>
    private static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var va = new Vector<float>(alpha);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
                (new Vector<float>(y[i..]) + va * new Vector<float>(x[i..])).CopyTo(y[i..]);
        }
        for (; i < x.Length; i++)
            y[i] += alpha * x[i];
    }

    /// <summary>The transpose of a rows x cols row-major matrix.</summary>
    public static float[] Transpose(float[] src, int srcOff, int rows, int cols)
    {
        var r = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                r[j * rows + i] = src[srcOff + i * cols + j];
        return r;
    }

    // ---- Gemm ----

    public static Tensor[] GemmOp(OpContext c) => [GemmCore(c)];

    /// <summary>Y = alpha * A' * B' + beta * C, with C broadcast to [M, N].</summary>
    public static Tensor GemmCore(OpContext c)
    {
        var a = c.Float(0);
        var b = c.Float(1);
        var cIn = c.Optional(2, DataType.Float);
        c.CheckRank(a, 2, "A");
        c.CheckRank(b, 2, "B");
        bool transA = c.Int("transA", 0) != 0, transB = c.Int("transB", 0) != 0;
        float alpha = c.FloatAttr("alpha", 1f), beta = c.FloatAttr("beta", 1f);
        int m = transA ? a.Shape[1] : a.Shape[0], k = transA ? a.Shape[0] : a.Shape[1];
        int kb = transB ? b.Shape[1] : b.Shape[0], n = transB ? b.Shape[0] : b.Shape[1];
        if (k != kb)
            throw c.Fail($"Gemm inner dimensions differ: A {ShapeMath.Format(a.Shape)}{(transA ? " (transposed)" : "")}, B {ShapeMath.Format(b.Shape)}{(transB ? " (transposed)" : "")}");
        var aData = transA ? Transpose(a.Floats, 0, a.Shape[0], a.Shape[1]) : a.Floats;
        var bData = transB ? Transpose(b.Floats, 0, b.Shape[0], b.Shape[1]) : b.Floats;
        int[] shape = [m, n];
        var y = new float[c.Count(shape)];
        Gemm(aData, 0, bData, 0, y, 0, m, n, k);
        if (alpha != 1f)
        {
            for (int i = 0; i < y.Length; i++)
                y[i] *= alpha;
        }
        if (cIn is not null)
        {
            if (!TensorOps.BroadcastsTo(cIn.Shape, shape))
                throw c.Fail($"Gemm C {ShapeMath.Format(cIn.Shape)} does not broadcast to {ShapeMath.Format(shape)}");
            var map = TensorOps.BroadcastMap(cIn.Shape, shape);
            var cd = cIn.Floats;
            for (int i = 0; i < y.Length; i++)
                y[i] += beta * cd[map is null ? i : map[i]];
        }
        return new Tensor(DataType.Float, shape, y);
    }

    // ---- MatMul ----

    public static Tensor[] MatMulOp(OpContext c) => [MatMulCore(c)];

    /// <summary>numpy matmul: 1-D operands are promoted and the promoted axis removed; batch axes broadcast.</summary>
    public static Tensor MatMulCore(OpContext c)
    {
        var a = c.Float(0);
        var b = c.Float(1);
        if (a.Rank == 0 || b.Rank == 0)
            throw c.Fail($"{c.Op} does not accept scalars, got {ShapeMath.Format(a.Shape)} and {ShapeMath.Format(b.Shape)}");
        int[] aShape = a.Rank == 1 ? [1, a.Shape[0]] : a.Shape;
        int[] bShape = b.Rank == 1 ? [b.Shape[0], 1] : b.Shape;
        int m = aShape[^2], k = aShape[^1], kb = bShape[^2], n = bShape[^1];
        if (k != kb)
            throw c.Fail($"{c.Op} inner dimensions differ: {ShapeMath.Format(a.Shape)} x {ShapeMath.Format(b.Shape)}");
        int[] aBatch = aShape[..^2], bBatch = bShape[..^2];
        var batch = ShapeMath.Broadcast(aBatch, bBatch)
            ?? throw c.Fail($"{c.Op} batch dimensions do not broadcast: {ShapeMath.Format(a.Shape)} x {ShapeMath.Format(b.Shape)}");
        var aMap = TensorOps.BroadcastMap(aBatch, batch);
        var bMap = TensorOps.BroadcastMap(bBatch, batch);
        int batches = c.Count(batch);
        var outShape = new List<int>(batch);
        if (a.Rank > 1)
            outShape.Add(m);
        if (b.Rank > 1)
            outShape.Add(n);
        int[] shape = [.. outShape];
        var y = new float[c.Count(shape)];
        for (int t = 0; t < batches; t++)
        {
            int ai = aMap is null ? t : aMap[t], bi = bMap is null ? t : bMap[t];
            Gemm(a.Floats, ai * m * k, b.Floats, bi * k * n, y, t * m * n, m, n, k);
        }
        return new Tensor(DataType.Float, shape, y);
    }
}
