using System.Text.Json;
using System.Text.Json.Serialization;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Measure;

/// <summary>
/// The line protocol between <see cref="Runner"/> and `autokernel runner`: one JSON object per line.
/// Per request the child answers a <see cref="RunnerReply"/> with <c>Ready</c> set once the input
/// data and the reference output are ready (the timeout clock starts there), then the final reply.
/// </summary>
internal static class RunnerProtocol
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Json);

    public static T Deserialize<T>(string line) => JsonSerializer.Deserialize<T>(line, Json)
        ?? throw new InvalidDataException("null message");
}

/// <summary>A workload as a kind and its constructor arguments.</summary>
internal sealed record WorkloadSpec(string Type, int[] Args)
{
    public static WorkloadSpec From(Workload w) => w switch
    {
        Conv2dWorkload c => new("conv2d", [
            c.Batch, c.InChannels, c.InHeight, c.InWidth, c.OutChannels, c.KernelHeight, c.KernelWidth,
            c.StrideHeight, c.StrideWidth, c.PadTop, c.PadLeft, c.PadBottom, c.PadRight,
            c.DilationHeight, c.DilationWidth, c.Groups]),
        DenseWorkload d => new("dense", [d.M, d.N, d.K]),
        BatchMatMulWorkload b => new("batch_matmul", [b.Batch, b.M, b.N, b.K]),
        _ => throw new ArgumentException($"cannot measure workload {w.GetType().Name}", nameof(w)),
    };

    public Workload ToWorkload() => (Type, Args) switch
    {
        ("conv2d", { Length: 16 } a) => new Conv2dWorkload(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]),
        ("dense", { Length: 3 } a) => new DenseWorkload(a[0], a[1], a[2]),
        ("batch_matmul", { Length: 4 } a) => new BatchMatMulWorkload(a[0], a[1], a[2], a[3]),
        _ => throw new InvalidDataException($"bad workload spec {Type}"),
    };
}

internal sealed record EpilogueSpec(bool Bias, bool Residual, string Activation, float Alpha, float Beta)
{
    public static EpilogueSpec From(Epilogue e) => new(e.Bias, e.Residual, e.Activation, e.Alpha, e.Beta);

    public Epilogue ToEpilogue() => new(Bias, Residual, Activation, Alpha, Beta);
}

internal sealed record RunnerRequest
{
    public long Id { get; init; }

    public string Assembly { get; init; } = "";

    public string ClassName { get; init; } = "";

    public WorkloadSpec Workload { get; init; } = new("", []);

    public EpilogueSpec Epilogue { get; init; } = new(false, false, "", 0, 0);

    public int Number { get; init; } = 1;

    public int Repeat { get; init; } = 3;

    public int MinRepeatMs { get; init; }

    public int Warmup { get; init; } = 1;

    public bool FlushCache { get; init; }

    public int Threads { get; init; } = 1;

    /// <summary>Stop raising Number beyond this much total timing (the parent's timeout, with margin).</summary>
    public double BudgetSeconds { get; init; } = 10;

    public int Seed { get; init; }
}

internal sealed record RunnerReply
{
    public long Id { get; init; }

    /// <summary>True on the interim line that says the data is ready and the candidate is about to load.</summary>
    public bool Ready { get; init; }

    public MeasureError Error { get; init; }

    public double[]? Costs { get; init; }

    public int Number { get; init; }

    public string? Message { get; init; }
}
