using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Limits;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Limits;

/// <summary>The budget itself: sizes, defaults, the fold limit, the interpreter's count, --compare and compile.</summary>
public sealed class MemoryBudgetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("1", 1L)]
    [InlineData("1000", 1000L)]
    [InlineData("64B", 64L)]
    [InlineData("2KiB", 2048L)]
    [InlineData("512MiB", 512L << 20)]
    [InlineData("8GiB", 8L << 30)]
    [InlineData("1TiB", 1L << 40)]
    [InlineData("3KB", 3000L)]
    [InlineData("20MB", 20_000_000L)]
    [InlineData("2GB", 2_000_000_000L)]
    [InlineData("1TB", 1_000_000_000_000L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Parses_sizes(string text, long bytes) => Assert.Equal(bytes, MemoryBudget.Parse(text, "--memory-limit"));

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("0MiB")]
    [InlineData("-1")]
    [InlineData("+5")]
    [InlineData("1.5GiB")]
    [InlineData("8 GiB")]
    [InlineData(" 8GiB")]
    [InlineData("8gib")]
    [InlineData("8G")]
    [InlineData("GiB")]
    [InlineData("1e9")]
    [InlineData("0x100")]
    [InlineData("８GiB")]
    [InlineData("9223372036854775808")]
    [InlineData("10000000TiB")]
    public void Refuses_text_that_is_not_a_size(string text)
    {
        var e = Assert.Throws<ModelException>(() => MemoryBudget.Parse(text, "--memory-limit"));
        Assert.Equal($"--memory-limit '{text}' is not a size: give a positive whole number of bytes, optionally with a unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB), e.g. 512MiB or 8GiB", e.Message);
        Assert.Equal(ModelErrorKind.InvalidOption, e.Kind);
    }

    [Fact]
    public void A_bad_option_is_one_line_on_every_command_that_imports()
    {
        var b = new ModelBuilder("ok", 17);
        b.Output(b.Node("Relu", [b.Input("x", DataType.Float, 4)], name: "relu"));
        string path = _dir.File("ok.onnx");
        b.Save(path);
        foreach (string[] args in new[]
        {
            new[] { "inspect", path, "--memory-limit", "lots" },
            ["run", path, "--memory-limit", "lots"],
            ["compile", path, "-o", _dir.File("out"), "--memory-limit", "lots"],
            ["tune", path, "--log", _dir.File("t.jsonl"), "--memory-limit", "lots"],
            ["inspect", path, "--fold-limit", "12XB"],
        })
        {
            var r = Support.Cli.Run(args);
            Assert.Equal(1, r.ExitCode);
            Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: --", r.Error);
            Assert.Contains("is not a size", r.Error);
        }
        var build = Support.Cli.Run("build", path, "--log", _dir.File("b.jsonl"), "-o", _dir.File("out"), "--tuning", "off", "--memory-limit", "lots");
        Assert.Equal(1, build.ExitCode);
        Assert.Contains("error AK1005: --memory-limit 'lots' is not a size", build.Error);
    }

    [Fact]
    public void Options_win_over_the_environment_which_wins_over_the_default()
    {
        var env = new Dictionary<string, string> { [MemoryBudget.LimitVariable] = "3GiB", [MemoryBudget.FoldVariable] = "1MiB" };
        var fromEnv = MemoryBudget.Resolve(null, null, name => env.GetValueOrDefault(name));
        Assert.Equal(3L << 30, fromEnv.LimitBytes);
        Assert.Equal(1L << 20, fromEnv.FoldLimitBytes);

        var fromOptions = MemoryBudget.Resolve("1GiB", "2MiB", name => env.GetValueOrDefault(name));
        Assert.Equal(1L << 30, fromOptions.LimitBytes);
        Assert.Equal(2L << 20, fromOptions.FoldLimitBytes);

        var defaults = MemoryBudget.Resolve(null, null, _ => null);
        Assert.Equal(MemoryBudget.Machine.LimitBytes, defaults.LimitBytes);
        Assert.Equal(64L << 20, defaults.FoldLimitBytes);

        env[MemoryBudget.LimitVariable] = "much";
        var e = Assert.Throws<ModelException>(() => MemoryBudget.Resolve(null, null, name => env.GetValueOrDefault(name)));
        Assert.StartsWith("AUTOKERNEL_MEMORY_LIMIT 'much' is not a size", e.Message);
    }

    [Fact]
    public void The_default_is_half_the_memory_the_runtime_says_is_available()
    {
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Assert.True(available > 0);
        Assert.Equal((long)(available * 0.5), MemoryBudget.Machine.LimitBytes);
        // The fold limit never exceeds the memory limit.
        Assert.Equal(1000, new MemoryBudget(1000).FoldLimitBytes);
    }

    [Fact]
    public async Task The_budget_is_scoped()
    {
        var outer = MemoryBudget.Current;
        var small = new MemoryBudget(1 << 20);
        using (MemoryBudget.Use(small))
        {
            Assert.Same(small, MemoryBudget.Current);
            Assert.Same(small, await Task.Run(() => MemoryBudget.Current, TestContext.Current.CancellationToken));
        }
        Assert.Same(outer, MemoryBudget.Current);
    }

    [Fact]
    public void Formats_bytes_exactly_and_readably()
    {
        Assert.Equal("1 byte", MemoryBudget.Format(1));
        Assert.Equal("1023 bytes", MemoryBudget.Format(1023));
        Assert.Equal("1536 bytes (1.5 KiB)", MemoryBudget.Format(1536));
        Assert.Equal("8000000000 bytes (7.5 GiB)", MemoryBudget.Format(8_000_000_000));
    }

    /// <summary>x + ConstantOfShape([n], 0.5): the constant is made by folding unless it is over the fold limit.</summary>
    private string HalfModel(int n, string name)
    {
        var b = new ModelBuilder("half", 17);
        string x = b.Input("x", DataType.Float, n);
        string shape = b.Initializer("shape", Tensor.Vector(n));
        string half = b.Node("ConstantOfShape", [shape], a => a.Tensor("value", Tensor.FromFloats([1], [0.5f])), name: "fill");
        b.Output(b.Node("Add", [x, half], name: "add"));
        string path = _dir.File(name);
        b.Save(path);
        return path;
    }

    [Fact]
    public void A_fold_over_the_fold_limit_runs_at_run_time_and_matches_onnx_runtime()
    {
        string path = HalfModel(2000, "half.onnx");
        var folded = Support.Cli.Run("inspect", path);
        Assert.Equal(0, folded.ExitCode);
        Assert.Contains("folded 1 (ConstantOfShape 1)", folded.Out);
        Assert.DoesNotContain("fold-deferred", folded.Out);

        var deferred = Support.Cli.Run("inspect", path, "--fold-limit", "4KiB");
        Assert.Equal(0, deferred.ExitCode);
        Assert.Contains("fold-deferred", deferred.Out);
        Assert.Contains("left to run time 1 (ConstantOfShape 1)", deferred.Out);

        var atRunTime = Support.Cli.Run("run", path, "--fold-limit", "4KiB", "--compare", "ort");
        Assert.Equal(0, atRunTime.ExitCode);
        Assert.Contains("vs ort:", atRunTime.Out);
        var whenFolded = Support.Cli.Run("run", path);
        Assert.StartsWith(whenFolded.Out.TrimEnd(), atRunTime.Out);
    }

    [Fact]
    public void The_default_fold_limit_keeps_an_80_MB_constant_out_of_inspect()
    {
        string path = HalfModel(20_000_000, "half-big.onnx");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var r = Support.Cli.Run("inspect", path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("left to run time 1 (ConstantOfShape 1)", r.Out);
        Assert.True(allocated < 16 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void A_fold_no_larger_than_its_constant_input_still_folds()
    {
        // A Transpose of a 240 KB weight: far over a 1 KiB fold limit, but the file already holds as much.
        var b = new ModelBuilder("transposed", 17);
        string x = b.Input("x", DataType.Float, 2, 300);
        string w = b.Initializer("w", Graphs.RandomFloats(3, 200, 300));
        string wt = b.Node("Transpose", [w], a => a.Ints("perm", 1, 0), name: "t");
        b.Output(b.Node("MatMul", [x, wt], name: "mm"));
        string path = _dir.File("transposed.onnx");
        b.Save(path);
        var r = Support.Cli.Run("inspect", path, "--fold-limit", "1KiB");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("folded 1 (Transpose 1)", r.Out);
        Assert.DoesNotContain("fold-deferred", r.Out);
    }

    [Fact]
    public void The_interpreter_counts_shared_storage_once_and_reports_its_peak()
    {
        // x (4 MB) and its Reshape (same storage) are held while Relu(x) (4 MB) runs: 8 MB, not 12.
        var b = new ModelBuilder("peak", 17);
        string x = b.Input("x", DataType.Float, 1000, 1000);
        b.Output(b.Node("Reshape", [x, b.Initializer("s", Tensor.Vector(1_000_000))], name: "flat"));
        b.Output(b.Node("Relu", [x], name: "relu"));
        string path = _dir.File("peak.onnx");
        b.Save(path);
        var loaded = ModelPipeline.Load(path);
        var inputs = InputGenerator.Create(loaded.Resolved, 0);
        var interpreter = new Interpreter(loaded.Resolved, new MemoryBudget(8_000_100));
        interpreter.Run(inputs);
        Assert.Equal(8_000_000 + 8, interpreter.PeakBytes);

        var e = Assert.Throws<ModelException>(() => new Interpreter(loaded.Resolved, new MemoryBudget(8_000_007)).Run(inputs));
        Assert.Equal(ModelErrorKind.MemoryLimit, e.Kind);
        Assert.Equal("flat", e.Node?.Name);
    }

    [Fact]
    public void Compare_with_onnx_runtime_is_refused_up_front_when_it_would_not_fit()
    {
        var b = new ModelBuilder("relu", 17);
        b.Output(b.Node("Relu", [b.Input("x", DataType.Float, 3, 1000, 1000)], name: "relu"));
        string path = _dir.File("relu.onnx");
        b.Save(path);
        var r = Support.Cli.Run("run", path, "--compare", "ort", "--memory-limit", "40MB");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(
            $"error: {path}: comparing with ONNX Runtime needs about 24000000 bytes (22.9 MiB) (its copy of the weights, its intermediates and the outputs it returns) on top of the 24000000 bytes (22.9 MiB) held, more than the memory limit of 40000000 bytes (38.1 MiB) (set with --memory-limit or AUTOKERNEL_MEMORY_LIMIT)",
            r.Error.Trim());
        var fits = Support.Cli.Run("run", path, "--compare", "ort", "--memory-limit", "50MB");
        Assert.Equal(0, fits.ExitCode);
        Assert.Contains("vs ort:", fits.Out);
    }

    private string ReluChain()
    {
        var b = new ModelBuilder("chain", 17);
        string x = b.Input("x", DataType.Float, 1, 16, 64, 64);
        string a = b.Node("Relu", [x], name: "r1");
        b.Output(b.Node("Sigmoid", [a], name: "r2"));
        string path = _dir.File("chain.onnx");
        b.Save(path);
        return path;
    }

    [Fact]
    public void Compile_refuses_a_generated_model_over_the_budget()
    {
        // 256 KiB per value: each fits, and the reference run (512 KiB at once) fits, but an instance
        // of the generated model holds its input, its output and the arena between them.
        string path = ReluChain();
        Assert.Equal(0, Support.Cli.Run("run", path, "--memory-limit", "700KiB").ExitCode);
        var r = Support.Cli.Run("compile", path, "-o", _dir.File("out"), "--memory-limit", "700KiB");
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"error: {path}: an instance of the generated model (arena 262144 bytes (256.0 KiB), weights 0 bytes, inputs and outputs 524288 bytes (512.0 KiB)) needs 786432 bytes (768.0 KiB), more than the memory limit of 716800 bytes (700.0 KiB)", r.Error);
        Assert.Equal(0, Support.Cli.Run("compile", path, "-o", _dir.File("out"), "--memory-limit", "1MiB").ExitCode);
    }

    [Fact]
    public void Build_reports_a_memory_limit_as_AK1007()
    {
        var b = new ModelBuilder("cos", 17);
        b.Output(b.Node("ConstantOfShape", [b.Initializer("shape", Tensor.Vector(2_000_000_000))], name: "fill"));
        string path = _dir.File("cos.onnx");
        b.Save(path);
        var r = Support.Cli.Run("build", path, "--log", _dir.File("log.jsonl"), "-o", _dir.File("out"), "--tuning", "off", "--memory-limit", "256MiB");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"{path}: error AK1007: node 'fill' (ConstantOfShape, opset 17): output '", r.Error);
        Assert.Contains("needs 8000000000 bytes (7.5 GiB), more than the memory limit of 268435456 bytes (256.0 MiB)", r.Error);
    }

    [Fact]
    public void Compile_refuses_a_buffer_the_generated_code_cannot_index()
    {
        // One channel of 46000x46000 (2.1e9 floats) fits in an int; padded to a channel block for the tuned Conv it does not.
        var b = new ModelBuilder("wide", 17);
        string x = b.Input("x", DataType.Float, 1, 1, 46000, 46000);
        string w = b.Initializer("w", Graphs.RandomFloats(1, 1, 1, 3, 3));
        b.Output(b.Node("Relu", [b.Node("Conv", [x, w], a => a.Ints("pads", 1, 1, 1, 1), name: "conv")], name: "relu"));
        string path = _dir.File("wide.onnx");
        b.Save(path);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var r = Support.Cli.Run("compile", path, "-o", _dir.File("out"), "--memory-limit", "1TiB");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {path}: ", r.Error);
        Assert.Contains("of the generated model holds", r.Error);
        Assert.Contains("floats; generated kernels index buffers with int, so a buffer holds at most 2147483591 floats", r.Error);
        Assert.True(allocated < 16 << 20, $"allocated {allocated} bytes");
    }
}
