using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace AutoKernel.Generator.Workloads;

/// <summary>Reads <see cref="Workload.Key"/> text back into a workload (tuning logs name workloads by key).</summary>
public static class WorkloadKeys
{
    /// <summary>The workload a key describes; null when the text is not a key this version writes.</summary>
    public static Workload? TryParse(string key)
    {
        if (string.IsNullOrEmpty(key))
            return null;
        string[] parts = key.Split('|');
        var fields = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in parts.Skip(1))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0)
                return null;
            string name = part.Substring(0, eq), value = part.Substring(eq + 1);
            text[name] = value;
            if (Dims(value, allowZero: name == "pad") is { } dims)
                fields[name] = dims;
        }
        if (!text.TryGetValue("dtype", out string? dtype) || dtype != "float32")
            return null;
        Workload? workload = parts[0] switch
        {
            "conv2d" or "depthwise_conv2d" or "group_conv2d" => Conv(fields, text),
            "dense" when Get(fields, "data", 2) is { } d && Get(fields, "weight", 2) is { } w && d[1] == w[1] => new DenseWorkload(d[0], w[0], d[1]),
            "batch_matmul" when Get(fields, "a", 3) is { } a && Get(fields, "b", 3) is { } b && a[0] == b[0] && a[2] == b[1] => new BatchMatMulWorkload(a[0], a[1], b[2], a[2]),
            _ => null,
        };
        // Only a key that this version would write the same way is accepted.
        return workload is not null && workload.Key == key ? workload : null;
    }

    private static Workload? Conv(Dictionary<string, int[]> f, Dictionary<string, string> text)
    {
        if (Get(f, "data", 4) is not { } d || Get(f, "weight", 4) is not { } w || Get(f, "stride", 2) is not { } s
            || Get(f, "pad", 4) is not { } p || Get(f, "dilation", 2) is not { } dl || Get(f, "groups", 1) is not { } g
            || !text.TryGetValue("layout", out string? layout) || layout != "NCHW" || g[0] <= 0)
            return null;
        if (d[1] % g[0] != 0 || w[0] % g[0] != 0)
            return null;
        var conv = new Conv2dWorkload(d[0], d[1], d[2], d[3], w[0], w[2], w[3], s[0], s[1], p[0], p[1], p[2], p[3], dl[0], dl[1], g[0]);
        return conv.OutHeight > 0 && conv.OutWidth > 0 ? conv : null;
    }

    private static int[]? Get(Dictionary<string, int[]> fields, string name, int rank) =>
        fields.TryGetValue(name, out int[]? v) && v.Length == rank ? v : null;

    /// <summary>"1x64x56x56" as numbers; null when an item is not a number, or is 0 where only padding may be.</summary>
    private static int[]? Dims(string value, bool allowZero)
    {
        string[] items = value.Split('x');
        var dims = new int[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            if (!int.TryParse(items[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || (dims[i] == 0 && !allowZero))
                return null;
        }
        return dims;
    }
}
