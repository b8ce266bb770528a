using System.CommandLine;
using System.Globalization;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Reference;

namespace AutoKernel.Build.Cli;

/// <summary>`autokernel run MODEL`: runs the reference executor, optionally against ONNX Runtime.</summary>
public static class RunCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var seed = new Option<int>("--seed") { Description = "Seed of the random input (floats uniform in [-1,1), integers 0).", DefaultValueFactory = _ => 0 };
        var inputFiles = new Option<string[]>("--input") { Description = "A TensorProto .pb file to use as an input, matched by its name or else by position (repeatable)." };
        var compare = new Option<string?>("--compare") { Description = "Also run another engine on the same input and compare outputs." };
        compare.AcceptOnlyFromAmong("ort");
        var rtol = new Option<double>("--rtol") { Description = "Relative tolerance of --compare.", DefaultValueFactory = _ => TensorComparison.DefaultRtol };
        var atol = new Option<double>("--atol") { Description = "Absolute tolerance of --compare.", DefaultValueFactory = _ => TensorComparison.DefaultAtol };
        var command = new Command("run", "Run the model with AutoKernel's reference executor and print each output's shape and checksum.")
        {
            model, shapes, seed, inputFiles, compare, rtol, atol,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(model)!;
            var loaded = ModelPipeline.Load(path, CommandLine.InputShapes(parse, shapes));
            var inputs = InputGenerator.Create(loaded.Optimized, parse.GetValue(seed));
            ApplyInputFiles(loaded.Optimized, inputs, parse.GetValue(inputFiles) ?? []);

            var outputs = RunReference(loaded.Optimized, inputs);
            IReadOnlyDictionary<string, Tensor>? expected = parse.GetValue(compare) == "ort" ? OrtRunner.Run(path, inputs) : null;

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

    private static IReadOnlyDictionary<string, Tensor> RunReference(ModelGraph graph, IReadOnlyDictionary<string, Tensor> inputs)
    {
        try
        {
            return new Interpreter(graph).Run(inputs);
        }
        catch (ModelException e)
        {
            throw e.At(graph.SourcePath, graph.Opset);
        }
    }

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
