using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Measure;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AutoKernel.Build.Bench;

/// <summary>How <see cref="OrtTiming.Measure"/> times a model.</summary>
public sealed record OrtTimingOptions
{
    /// <summary>Untimed runs before calibration (at least 1: the first run also learns the output shapes).</summary>
    public int Warmup { get; init; } = 1;

    /// <summary>Timed repeats; each is the mean of <c>number</c> runs.</summary>
    public int Repeat { get; init; } = 5;

    /// <summary>AutoTVM's min_repeat_ms: <c>number</c> grows until one repeat lasts at least this long.</summary>
    public int MinRepeatMs { get; init; } = 50;

    /// <summary>Shapes for inputs with dynamic dimensions (as --input-shape).</summary>
    public IReadOnlyDictionary<string, int[]>? InputShapes { get; init; }

    /// <summary>Seed of the inputs (<see cref="InputGenerator"/>: floats uniform in [-1, 1), the rest zero).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>How long the child may take in all (session creation included) before it is killed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);
}

/// <summary>What the `ort-time` child measured: one JSON line on its stdout.</summary>
public sealed record OrtTimingResult
{
    /// <summary>Per repeat, seconds per run (the mean of <see cref="Number"/> runs).</summary>
    public required double[] RepeatSeconds { get; init; }

    /// <summary>Runs per repeat, calibrated to min_repeat_ms.</summary>
    public int Number { get; init; }

    /// <summary>Intra-op threads the session was given (0: ONNX Runtime's default).</summary>
    public int Threads { get; init; }

    /// <summary>Seconds to create the InferenceSession (load, optimize, allocate).</summary>
    public double SessionSeconds { get; init; }

    /// <summary>The child's peak resident set (Linux VmHWM; Windows peak working set), bytes.</summary>
    public long PeakWorkingSetBytes { get; init; }

    /// <summary>The child's working set just before the session was created (runtime and libraries loaded), bytes.</summary>
    public long BaselineWorkingSetBytes { get; init; }

    /// <summary>
    /// The child's private bytes (Process.PrivateMemorySize64), the largest of the samples taken after
    /// session creation, after the first run and after the timed runs, with the session open.
    /// </summary>
    public long PeakPrivateBytes { get; init; }

    /// <summary>The id of the process that timed the model (the child, not the caller).</summary>
    public int ProcessId { get; init; }

    /// <summary>The median of <see cref="RepeatSeconds"/>.</summary>
    [JsonIgnore]
    public double MedianSeconds => Timing.Median(RepeatSeconds);
}

/// <summary>
/// ONNX Runtime timed in a process of its own (`autokernel ort-time`), so that neither its intra-op
/// threads nor AutoKernel's WorkerPool threads, which both spin for a while after a run, take cores
/// from the other side of a comparison. The session: all graph optimizations, sequential execution,
/// the given intra-op threads, one inter-op thread, inputs and outputs allocated once and bound once
/// (an IoBinding), AutoTVM's timing protocol (warm-up, then repeats of a calibrated number of runs).
/// </summary>
public static class OrtTiming
{
    /// <summary>The hidden subcommand that runs the child side.</summary>
    public const string CommandName = "ort-time";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Times <paramref name="modelPath"/> in a child process with <paramref name="threads"/> intra-op
    /// threads. Throws <see cref="ModelException"/> (one line) when the child reports a bad model or
    /// input, fails or times out.
    /// </summary>
    public static OrtTimingResult Measure(string modelPath, int threads, OrtTimingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        OrtRunner.EnsureAvailable();
        options ??= new OrtTimingOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Repeat, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Warmup, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MinRepeatMs, nameof(options));
        var ci = CultureInfo.InvariantCulture;

        var args = new List<string> { CommandName, Path.GetFullPath(modelPath) };
        foreach (var (flag, value) in new[]
        {
            ("--threads", threads), ("--warmup", options.Warmup), ("--repeat", options.Repeat),
            ("--min-repeat-ms", options.MinRepeatMs), ("--seed", options.Seed),
        })
        {
            args.Add(flag);
            args.Add(value.ToString(ci));
        }
        foreach (var (name, shape) in options.InputShapes ?? new Dictionary<string, int[]>())
        {
            args.Add("--input-shape");
            args.Add(name + "=" + string.Join(",", shape.Select(d => d.ToString(ci))));
        }
        string line = ChildProcess.RunForJsonLine(args, options.Timeout, "ONNX Runtime timing", modelPath);
        return Parse(line);
    }

    /// <summary>The result of one `ort-time` JSON line.</summary>
    public static OrtTimingResult Parse(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<OrtTimingResult>(line, Json) ?? throw new InvalidDataException("null result");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"not an ort-time result line: {e.Message}", e);
        }
    }

    // ---- The child side ----

    /// <summary>
    /// `autokernel ort-time`: loads the model, times it and writes one JSON line to
    /// <paramref name="stdout"/>. Bad model files and inputs are <see cref="ModelException"/>s.
    /// </summary>
    internal static OrtTimingResult RunChild(string modelPath, int threads, OrtTimingOptions options, TextWriter stdout)
    {
        if (!File.Exists(modelPath))
            throw new ModelException("model file not found") { File = modelPath };
        OrtRunner.EnsureAvailable();
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        long baselineWorkingSet;
        using (var before = Process.GetCurrentProcess())
            baselineWorkingSet = before.WorkingSet64;
        var clock = Stopwatch.StartNew();
        InferenceSession session;
        try
        {
            session = new InferenceSession(modelPath, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"ONNX Runtime cannot load the model: {FirstLine(e.Message)}") { File = modelPath };
        }
        double sessionSeconds = clock.Elapsed.TotalSeconds;
        long privateBytes = ChildProcess.PrivateBytes();
        var values = new List<OrtValue>();
        using (session)
        {
            try
            {
                using var binding = session.CreateIoBinding();
                using var run = new RunOptions();
                var inputNames = session.InputNames.ToArray();
                foreach (var (name, value) in CreateInputs(session, options, modelPath))
                {
                    values.Add(value);
                    binding.BindInput(name, value);
                }
                // The first run learns the output shapes; the outputs are then allocated and bound once.
                var outputNames = session.OutputNames.ToArray();
                using (var first = session.Run(run, inputNames, values, outputNames))
                {
                    for (int i = 0; i < outputNames.Length; i++)
                    {
                        if (!first[i].IsTensor)
                            throw new ModelException($"output '{outputNames[i]}' is not a tensor; ort-time times tensor outputs only") { File = modelPath };
                        var type = first[i].GetTensorTypeAndShape();
                        var output = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type.ElementDataType, type.Shape);
                        values.Add(output);
                        binding.BindOutput(outputNames[i], output);
                    }
                }
                privateBytes = Math.Max(privateBytes, ChildProcess.PrivateBytes());
                void Once() => session.RunWithBinding(run, binding);
                var (costs, number) = Timing.Calibrated(Once, options.Warmup - 1, options.Repeat, options.MinRepeatMs);
                privateBytes = Math.Max(privateBytes, ChildProcess.PrivateBytes());
                using var self = Process.GetCurrentProcess();
                var result = new OrtTimingResult
                {
                    RepeatSeconds = costs,
                    Number = number,
                    Threads = threads,
                    SessionSeconds = sessionSeconds,
                    PeakWorkingSetBytes = self.PeakWorkingSet64,
                    BaselineWorkingSetBytes = baselineWorkingSet,
                    PeakPrivateBytes = privateBytes,
                    ProcessId = Environment.ProcessId,
                };
                stdout.WriteLine(JsonSerializer.Serialize(result, Json));
                return result;
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelException($"ONNX Runtime failed to run the model: {FirstLine(e.Message)}") { File = modelPath };
            }
            finally
            {
                foreach (var v in values)
                    v.Dispose();
            }
        }
    }

    /// <summary>
    /// One allocated tensor per input, of the session's element type and the input's shape (dynamic
    /// dimensions from <see cref="OrtTimingOptions.InputShapes"/>): float and double inputs hold
    /// <see cref="InputGenerator"/>'s seeded values (the same as `autokernel run`), the rest zeros.
    /// </summary>
    private static List<(string Name, OrtValue Value)> CreateInputs(InferenceSession session, OrtTimingOptions options, string modelPath)
    {
        var shapes = options.InputShapes ?? new Dictionary<string, int[]>();
        foreach (string name in shapes.Keys)
        {
            if (!session.InputMetadata.ContainsKey(name))
                throw new ModelException($"--input-shape names '{name}', which is not an input of the model (inputs: {string.Join(", ", session.InputNames)})") { File = modelPath };
        }
        // The seeded values come from InputGenerator over the float and double inputs, in model order,
        // which is the order in which it draws them for the whole graph.
        var graph = new ModelGraph();
        var shaped = new List<(string Name, TensorElementType Type, int[] Shape)>();
        foreach (string name in session.InputNames)
        {
            var meta = session.InputMetadata[name];
            if (!meta.IsTensor)
                throw new ModelException($"input '{name}' is not a tensor") { File = modelPath };
            int[] shape = shapes.TryGetValue(name, out var given) ? given : meta.Dimensions;
            if (shape.Length != meta.Dimensions.Length)
                throw new ModelException($"--input-shape gives '{name}' rank {shape.Length}, the model has rank {meta.Dimensions.Length}") { File = modelPath };
            if (shape.Any(d => d < 0))
                throw new ModelException($"input '{name}' has dynamic dimensions [{string.Join(",", meta.Dimensions)}]: give --input-shape {name}=...") { File = modelPath };
            var type = meta.ElementDataType;
            shaped.Add((name, type, shape));
            if (type == TensorElementType.Float)
                graph.Inputs.Add(new GraphValue(name, new TensorType(DataType.Float, shape)));
            else if (type == TensorElementType.Double)
                graph.Inputs.Add(new GraphValue(name, new TensorType(DataType.Double, shape)));
        }
        var seeded = InputGenerator.Create(graph, options.Seed);
        var inputs = new List<(string, OrtValue)>();
        foreach (var (name, type, shape) in shaped)
        {
            if (type == TensorElementType.String)
                throw new ModelException($"input '{name}' is a string tensor; ort-time cannot generate it") { File = modelPath };
            var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, [.. shape.Select(d => (long)d)]);
            inputs.Add((name, value));
            value.GetTensorMutableRawData().Clear();
            if (seeded.TryGetValue(name, out var tensor))
            {
                if (tensor.Data is float[] f)
                    f.CopyTo(value.GetTensorMutableDataAsSpan<float>());
                else if (tensor.Data is double[] d)
                    d.CopyTo(value.GetTensorMutableDataAsSpan<double>());
            }
        }
        return inputs;
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
