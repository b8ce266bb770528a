using System.Text;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;

namespace AutoKernel.Build.Tests.Records;

/// <summary>Records and log files for the record tests.</summary>
internal static class RecordSamples
{
    public const string Target = "x64 AVX2, Test CPU @ 3.00GHz";
    public const string Workload = "dense|data=1x64|weight=32x64|dtype=float32";

    public static readonly DateTimeOffset Time = new(2025, 3, 14, 15, 9, 26, TimeSpan.Zero);

    public static TuningRecord Make(
        long index = 0,
        double[]? costs = null,
        MeasureError error = MeasureError.None,
        string target = Target,
        int threads = 1,
        string workload = Workload,
        string template = "dense_packed",
        string? message = null) => new()
    {
        Target = target,
        Threads = threads,
        WorkloadKey = workload,
        Template = template,
        ConfigIndex = index,
        Knobs = new Dictionary<string, int[]> { ["tile_n"] = [4, 8], ["unroll"] = [(int)(index % 3)] },
        Costs = costs ?? (error == MeasureError.None ? [1e-4 * (index + 1)] : []),
        Error = error,
        Message = message,
        TrialSeconds = 0.5,
        Timestamp = Time.AddSeconds(index),
        ToolVersion = "0.1.0-test",
    };

    /// <summary>The records' lines, each ending with a line break.</summary>
    public static string Lines(params TuningRecord[] records) =>
        string.Concat(records.Select(r => RecordFormat.Serialize(r) + "\n"));

    public static void Write(string path, string text) => File.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));

    public static void Write(string path, byte[] bytes) => File.WriteAllBytes(path, bytes);
}
