namespace AutoKernel.Build.Graph;

/// <summary>Small helpers over shapes (int[] dims, row-major).</summary>
public static class ShapeMath
{
    public static long ElementCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"shape {Format(shape)} has an unknown dimension");
            n = checked(n * d);
        }
        return n;
    }

    /// <summary>
    /// The element count of a shape, saturating at <see cref="long.MaxValue"/> instead of
    /// overflowing (negative dims count as zero): for checks against a limit.
    /// </summary>
    public static long ElementCountSaturated(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d <= 0)
                return 0;
            n = n > long.MaxValue / d ? long.MaxValue : n * d;
        }
        return n;
    }

    /// <summary>Row-major strides in elements.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }
        return strides;
    }

    /// <summary>numpy-style multidirectional broadcast; null when the shapes are incompatible.</summary>
    public static int[]? Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da == db || db == 1)
                result[i] = da;
            else if (da == 1)
                result[i] = db;
            else
                return null;
        }
        return result;
    }

    /// <summary>Normalizes a possibly negative axis against <paramref name="rank"/>; -1 when out of range.</summary>
    public static int NormalizeAxis(long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        return a < 0 || a >= rank ? -1 : (int)a;
    }

    /// <summary>
    /// The dims a Shape node returns (opset 15's start/end): negative ends count from the back,
    /// both are clamped into [0, rank], and an empty range gives start == end.
    /// </summary>
    public static (int Start, int End) ShapeRange(long start, long end, int rank)
    {
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, start, rank);
        return ((int)start, (int)end);
    }

    public static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    public static string Format(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++)
            parts[i] = shape[i] < 0 ? "?" : shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return "[" + string.Join(",", parts) + "]";
    }
}
