using System.CommandLine;
using System.Globalization;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Compile;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Limits;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Records;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Targets;

namespace AutoKernel.Build.Cli;

/// <summary>
/// `autokernel run MODEL [--engine reference|generated] [--log LOG] [--threads N] [--compare ort]`: runs
/// the reference executor, or the generated model class (compiled with the log, generated and built
/// in process exactly as an app's build does), optionally against ONNX Runtime.
/// </summary>
public static class RunCommand
{
    public const string ReferenceEngine = "reference";
    public const string GeneratedEngine = "generated";

    public static Command Create(TextWriter stdout) => Create(stdout, TextWriter.Null);

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var seed = new Option<int>("--seed") { Description = "Seed of the random input (floats uniform in [-1,1), integers 0).", DefaultValueFactory = _ => 0 };
        var inputFiles = new Option<string[]>("--input") { Description = "A TensorProto .pb file to use as an input, matched by its name or else by position (repeatable)." };
        var compare = new Option<string?>("--compare") { Description = "Also run another engine on the same input and compare outputs." };
        compare.AcceptOnlyFromAmong("ort");
        var rtol = new Option<double>("--rtol") { Description = "Relative tolerance of --compare.", DefaultValueFactory = _ => TensorComparison.DefaultRtol };
        var atol = new Option<double>("--atol") { Description = "Absolute tolerance of --compare.", DefaultValueFactory = _ => TensorComparison.DefaultAtol };
        var engine = new Option<string>("--engine") { Description = "What runs the model: the reference executor, or the generated model class (compiled with --log).", DefaultValueFactory = _ => ReferenceEngine };
        engine.AcceptOnlyFromAmong(ReferenceEngine, GeneratedEngine);
        var log = new Option<string?>("--log") { Description = "With --engine generated: the tuning log whose best records choose the schedules (absent: fallback schedules, with a warning per task)." };
        var threads = new Option<int>("--threads") { Description = "With --engine generated: the thread count (records are chosen for it; 0: one per logical processor).", DefaultValueFactory = _ => 0 };
        var memoryLimit = CommandLine.MemoryLimitOption();
        var foldLimit = CommandLine.FoldLimitOption();
        var command = new Command("run", "Run the model with AutoKernel's reference executor or generated model and print each output's shape and checksum.")
        {
            model, shapes, seed, inputFiles, compare, rtol, atol, engine, log, threads, memoryLimit, foldLimit,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(model)!;
            var budget = CommandLine.Budget(parse, memoryLimit, foldLimit);
            using var scope = MemoryBudget.Use(budget);
            if (parse.GetValue(compare) == "ort")
                OrtRunner.EnsureAvailable();
            var loaded = ModelPipeline.Load(path, CommandLine.InputShapes(parse, shapes));
            var inputs = InputGenerator.Create(loaded.Optimized, parse.GetValue(seed));
            ApplyInputFiles(loaded.Optimized, inputs, parse.GetValue(inputFiles) ?? []);

            if (parse.GetValue(threads) < 0)
                throw new ModelException("--threads must be at least 0");
            bool generated = parse.GetValue(engine) == GeneratedEngine;
            if (!generated && parse.GetValue(log) is not null)
                throw new ModelException("--log needs --engine generated");
            long peak = 0;
            var outputs = generated
                ? RunGenerated(loaded, inputs, parse.GetValue(log), parse.GetValue(threads), stderr)
                : RunReference(loaded.Optimized, inputs, out peak);
            IReadOnlyDictionary<string, Tensor>? expected = null;
            if (parse.GetValue(compare) == "ort")
            {
                CheckCompare(loaded.Optimized, inputs, outputs, peak, budget);
                expected = OrtRunner.Run(path, inputs);
            }

            bool ok = true;
            foreach (var o in loaded.Optimized.Outputs)
            {
                var t = outputs[o.Name];
                stdout.Write(string.Create(CultureInfo.InvariantCulture, $"{o.Name,-16} {t,-24} {Checksum(t)}"));
                if (expected is not null)
                {
                    if (!expected.TryGetValue(o.Name, out var e))
                        throw new ModelException($"ONNX Runtime produced no output named '{o.Name}'") { File = path };
                    var result = TensorComparison.Compare(t, e, parse.GetValue(rtol), parse.GetValue(atol));
                    ok &= result.Passed;
                    stdout.Write("  vs ort: " + result);
                }
                stdout.WriteLine();
            }
            return ok ? 0 : 1;
        });
        return command;
    }

    private static IReadOnlyDictionary<string, Tensor> RunReference(ModelGraph graph, IReadOnlyDictionary<string, Tensor> inputs, out long peakBytes)
    {
        var interpreter = new Interpreter(graph);
        try
        {
            var outputs = interpreter.Run(inputs);
            peakBytes = interpreter.PeakBytes;
            return outputs;
        }
        catch (ModelException e)
        {
            throw e.At(graph.SourcePath, graph.Opset);
        }
    }

    /// <summary>
    /// ONNX Runtime holds its own copy of the weights and intermediates (about what the reference
    /// run peaked at, less the inputs it shares) while this process still holds the inputs, the
    /// weights and the first engine's outputs, and then copies its outputs into managed tensors:
    /// refuse the comparison up front when that would not fit in the budget.
    /// </summary>
    private static void CheckCompare(ModelGraph graph, IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyDictionary<string, Tensor> outputs, long peak, MemoryBudget budget)
    {
        long inputBytes = inputs.Values.Sum(MemoryBudget.BytesOf);
        long outputBytes = outputs.Values.Sum(MemoryBudget.BytesOf);
        long weightBytes = graph.Initializers.Values.Sum(MemoryBudget.BytesOf);
        long held = inputBytes + weightBytes + outputBytes;
        long ort = Math.Max(peak - inputBytes, weightBytes + outputBytes) + outputBytes;
        if (held + ort > budget.LimitBytes)
            throw new ModelException($"comparing with ONNX Runtime needs about {MemoryBudget.Format(ort)} (its copy of the weights, its intermediates and the outputs it returns) on top of the {MemoryBudget.Format(held)} held, more than {budget.Describe()}")
            { File = graph.SourcePath, Kind = ModelErrorKind.MemoryLimit };
    }

    /// <summary>Compiles the model with the log, builds the generated model class in process and runs it once.</summary>
    private static IReadOnlyDictionary<string, Tensor> RunGenerated(LoadedModel loaded, IReadOnlyDictionary<string, Tensor> inputs, string? logPath, int threads, TextWriter stderr)
    {
        var records = logPath is not null ? RecordLog.Load(logPath) : RecordLog.Empty;
        foreach (string warning in records.Warnings)
            stderr.WriteLine("warning: " + warning);
        var compiled = ModelCompiler.Compile(loaded, records, CpuTargets.Host(threads));
        foreach (var warning in compiled.Warnings)
            stderr.WriteLine("warning: " + warning);
        using var model = GeneratedModel.Build(compiled, PlanClassName);
        using var instance = model.CreateInstance(threads);
        return model.Run(instance, inputs);
    }

    private const string PlanClassName = "Model";

    /// <summary>sum and mean absolute value: cheap to compare by eye across engines and runs.</summary>
    public static string Checksum(Tensor t)
    {
        double sum = 0, abs = 0;
        for (int i = 0; i < t.Length; i++)
        {
            double v = t.GetDouble(i);
            sum += v;
            abs += Math.Abs(v);
        }
        return string.Create(CultureInfo.InvariantCulture, $"sum={sum,14:E6}  mean|x|={abs / Math.Max(1, t.Length):E6}");
    }

    private static void ApplyInputFiles(ModelGraph graph, Dictionary<string, Tensor> inputs, string[] files)
    {
        for (int k = 0; k < files.Length; k++)
        {
            Onnx.Proto.TensorProto proto;
            try
            {
                proto = Onnx.Proto.TensorProto.Parser.ParseFrom(File.ReadAllBytes(files[k]));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Google.Protobuf.InvalidProtocolBufferException)
            {
                throw new ModelException($"cannot read input tensor: {e.Message}") { File = files[k] };
            }
            string name = proto.Name.Length > 0 && inputs.ContainsKey(proto.Name) ? proto.Name
                : k < graph.Inputs.Count ? graph.Inputs[k].Name
                : throw new ModelException($"input file #{k + 1} matches no graph input (the model has {graph.Inputs.Count})") { File = files[k] };
            Tensor tensor;
            try
            {
                tensor = TensorProtos.ToTensor(proto, Path.GetDirectoryName(Path.GetFullPath(files[k])));
            }
            catch (ModelException e)
            {
                throw e.At(files[k]);
            }
            var declared = graph.Inputs.First(i => i.Name == name).Type;
            if (!TensorType.Of(tensor).Equals(declared))
                throw new ModelException($"input '{name}' is {TensorType.Of(tensor)} in the file, but the model takes {declared} (shape mismatch; use --input-shape for dynamic models)") { File = files[k] };
            inputs[name] = tensor;
        }
    }
}
