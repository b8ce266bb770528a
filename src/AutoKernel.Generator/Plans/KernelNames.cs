using System.Globalization;
using System.Linq;
using System.Text;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Generator.Plans;

/// <summary>
/// The namespace and class names of emitted kernels. The tuner names the candidates it measures
/// with these functions and the source generator names the kernels it emits with them, so the
/// source of a logged record and the source in the app are byte-identical. A name is a function of
/// everything the source depends on except the target, which is one per assembly.
/// </summary>
public static class KernelNames
{
    public const string Namespace = "AutoKernel.Generated";

    /// <summary>e.g. "conv2d_nchwc_1234_9f2c4a17b3e08d51".</summary>
    public static string Tuned(string template, long configIndex, Workload workload, Epilogue epilogue) =>
        Identifier(template) + "_" + configIndex.ToString(CultureInfo.InvariantCulture) + "_" + Hash(workload.Key + "|" + EpilogueKey(epilogue));

    /// <summary>e.g. "MaxPool_4be1c0d2a9e3f700".</summary>
    public static string Fixed(FixedOp op)
    {
        var sb = new StringBuilder(op.OpType).Append('|').Append(op.Block.ToString(CultureInfo.InvariantCulture));
        foreach (var shape in op.Inputs)
            sb.Append('|').Append(string.Join("x", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))));
        sb.Append("|>").Append(string.Join("x", op.Output.Select(d => d.ToString(CultureInfo.InvariantCulture))));
        foreach (var a in op.Attributes)
            sb.Append('|').Append(a.Key).Append('=').Append(a.Value);
        return Identifier(op.OpType) + "_" + Hash(sb.ToString());
    }

    public static string EpilogueKey(Epilogue e) =>
        (e.Bias ? "b" : "") + (e.Residual ? "r" : "") + ":" + e.Activation + ":" +
        e.Alpha.ToString("R", CultureInfo.InvariantCulture) + ":" + e.Beta.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>64-bit FNV-1a of the UTF-16 code units, as 16 lowercase hex digits.</summary>
    public static string Hash(string text)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in text)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        return h.ToString("x16", CultureInfo.InvariantCulture);
    }

    /// <summary>Letters, digits and underscores only; a leading digit gets an underscore.</summary>
    public static string Identifier(string text)
    {
        var sb = new StringBuilder();
        foreach (char c in text)
            sb.Append(char.IsLetterOrDigit(c) && c < 128 ? c : '_');
        if (sb.Length == 0 || char.IsDigit(sb[0]))
            sb.Insert(0, '_');
        return sb.ToString();
    }
}
