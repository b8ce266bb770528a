using System.Diagnostics;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;
using Tensor = AutoKernel.Build.Graph.Tensor;

namespace AutoKernel.Build.Bench;

/// <summary>
/// ONNX Runtime on a one-node model of a workload with the same fused bias, residual and
/// activation: the hand-tuned baseline each task is compared with (timed in its own process by
/// <see cref="OrtTiming"/>).
/// </summary>
public static class OrtSingleNode
{
    /// <summary>A model computing the workload and its epilogue: Conv/Gemm (+ bias) → Add(residual) → activation.</summary>
    public static byte[] BuildModel(Workload workload, Epilogue epilogue, int seed = 0)
    {
        var random = new Random(seed);
        var b = new ModelBuilder("bench", 17);
        string y;
        switch (workload)
        {
            case Conv2dWorkload c:
            {
                string x = b.Input("x", DataType.Float, c.Batch, c.InChannels, c.InHeight, c.InWidth);
                string w = b.Initializer("w", Random(random, c.OutChannels, c.InChannels / c.Groups, c.KernelHeight, c.KernelWidth));
                var inputs = new List<string> { x, w };
                if (epilogue.Bias)
                    inputs.Add(b.Initializer("b", Random(random, c.OutChannels)));
                y = b.Node("Conv", inputs, a => a
                    .Ints("strides", c.StrideHeight, c.StrideWidth)
                    .Ints("pads", c.PadTop, c.PadLeft, c.PadBottom, c.PadRight)
                    .Ints("dilations", c.DilationHeight, c.DilationWidth)
                    .Int("group", c.Groups), name: "conv");
                if (epilogue.Residual)
                    y = b.Node("Add", [y, b.Input("residual", DataType.Float, c.Batch, c.OutChannels, c.OutHeight, c.OutWidth)], name: "residual");
                break;
            }
            case DenseWorkload d:
            {
                string x = b.Input("x", DataType.Float, d.M, d.K);
                string w = b.Initializer("w", Random(random, d.N, d.K));
                var inputs = new List<string> { x, w };
                if (epilogue.Bias)
                    inputs.Add(b.Initializer("b", Random(random, d.N)));
                y = b.Node("Gemm", inputs, a => a.Int("transB", 1), name: "gemm");
                if (epilogue.Residual)
                    y = b.Node("Add", [y, b.Input("residual", DataType.Float, d.M, d.N)], name: "residual");
                break;
            }
            default:
                throw new ArgumentException($"no ONNX Runtime baseline for {workload.Kind}", nameof(workload));
        }
        if (epilogue.Activation.Length > 0)
            y = Activation(b, y, epilogue);
        b.Output(y);
        return b.ToBytes();
    }

    private static string Activation(ModelBuilder b, string x, Epilogue e) => e.Activation switch
    {
        "Clip" => b.Node("Clip", [x, b.Initializer("min", Tensor.Scalar(e.Alpha)), b.Initializer("max", Tensor.Scalar(e.Beta))], name: "act"),
        "LeakyRelu" or "Elu" => b.Node(e.Activation, [x], a => a.Float("alpha", e.Alpha), name: "act"),
        "HardSigmoid" => b.Node("HardSigmoid", [x], a => a.Float("alpha", e.Alpha).Float("beta", e.Beta), name: "act"),
        "Selu" => b.Node("Selu", [x], a => a.Float("alpha", e.Alpha).Float("gamma", e.Beta), name: "act"),
        _ => b.Node(e.Activation, [x], name: "act"),
    };

    private static Tensor Random(Random random, params int[] shape)
    {
        var data = new float[ShapeMath.ElementCount(shape)];
        for (int i = 0; i < data.Length; i++)
            data[i] = (float)(random.NextDouble() * 2 - 1);
        return Tensor.FromFloats(shape, data);
    }
}

/// <summary>AutoTVM's timing protocol for a callable: warm up, then repeats of a calibrated number of runs.</summary>
public static class Timing
{
    /// <summary>Seconds per run for each repeat. The run count per repeat grows until a repeat lasts at least <paramref name="minRepeatMs"/>.</summary>
    public static double[] Measure(Action run, int repeat, int minRepeatMs) => Calibrated(run, 1, repeat, minRepeatMs).Costs;

    /// <summary>
    /// <paramref name="warmup"/> untimed runs, then AutoTVM's protocol: <c>number</c> grows until
    /// <c>number</c> runs last at least <paramref name="minRepeatMs"/>, then each of
    /// <paramref name="repeat"/> repeats times <c>number</c> runs. Returns seconds per run per repeat, and number.
    /// </summary>
    public static (double[] Costs, int Number) Calibrated(Action run, int warmup, int repeat, int minRepeatMs)
    {
        ArgumentNullException.ThrowIfNull(run);
        for (int i = 0; i < warmup; i++)
            run(); // warm-up (and first-call costs)
        int number = 1;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < number; i++)
                run();
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (ms >= minRepeatMs || number >= 1 << 20)
                break;
            number = ms <= 0 ? number * 10 : Math.Max(number + 1, (int)Math.Ceiling(number * minRepeatMs * 1.1 / ms));
        }
        var costs = new double[repeat];
        for (int r = 0; r < repeat; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < number; i++)
                run();
            costs[r] = Stopwatch.GetElapsedTime(start).TotalSeconds / number;
        }
        return (costs, number);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
