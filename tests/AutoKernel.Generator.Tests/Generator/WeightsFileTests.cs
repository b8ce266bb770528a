using System.Runtime.Loader;
using System.Security.Cryptography;
using AutoKernel.Generator.Emit;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;
using AutoKernel.Generator.Tests.Support;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Models;
using Microsoft.CodeAnalysis;

namespace AutoKernel.Generator.Tests.Generator;

/// <summary>
/// A model generated with <c>AutoKernelWeights=File</c>, compiled and run in this process: it has no
/// embedded weights and reads the file <c>{namespace}.{class}.weights</c> in AppContext.BaseDirectory
/// (where the build copies it), or the file ModelOptions.WeightsPath names; without either it fails
/// with a message naming the class, the path and the fix.
/// </summary>
public sealed class WeightsFileTests
{
    /// <summary>The test plan with real packed weights (random per seed, so each test's hash is its own) and the compiled File-mode class.</summary>
    private sealed class FileModel : IDisposable
    {
        private readonly AssemblyLoadContext _context;
        private readonly Func<ModelOptions, IDisposable> _create;
        private readonly Action<IDisposable, float[], float[]> _run;

        public FileModel(int seed)
        {
            ClassName = "WeightsFile" + seed.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var random = new Random(seed);
            X = TestData.RandomFloats(random, 8);
            var w = TestData.RandomFloats(random, 5 * 8);
            var b = TestData.RandomFloats(random, 5);
            // The plan's dense step: y [1, 5] = Relu(x [1, 8] · w [5, 8]ᵀ + b).
            Expected = NaiveConvolution.Dense(TestPlans.Dense, new Epilogue(true, false, "Relu", 0, 0), X, w, b, residual: null);

            // Pack the weights with the very kernel the plan's dense step calls, at the plan's offsets.
            var spec = PlanReader.Read("/p/x.akplan.json", TestPlans.Text(), ClassName, "App", null).Model!;
            var dense = Assert.Single(spec.Kernels, k => k.Tuned is not null);
            var kernel = KernelCompiler.Compile(ModelEmitter.Kernel(dense), KernelNames.Namespace + "." + dense.ClassName);
            kernel.Prepare(w, b);
            Assert.InRange(kernel.PackedWeightsLength, 1, 512);
            Assert.InRange(kernel.PackedBiasLength, 1, 64);
            var payload = new float[1024];
            kernel.CopyPacked(payload.AsSpan(0, kernel.PackedWeightsLength), payload.AsSpan(512, kernel.PackedBiasLength));
            byte[] bytes = new byte[payload.Length * sizeof(float)];
            Buffer.BlockCopy(payload, 0, bytes, 0, bytes.Length);
            WeightsFileBytes = [.. WeightsFile.Header(bytes.Length, SHA256.HashData(bytes)), .. bytes];
            var plan = TestPlans.Plan() with { Weights = new PlanWeights(bytes.Length, WeightsFile.Sha256(bytes)) };

            const string path = "/project/tiny.akplan.json";
            var driver = GeneratorHarness.Driver(
                [new GeneratorHarness.Text(path, PlanFormat.Write(plan))],
                new() { [path] = new() { ["AutoKernelClassName"] = ClassName, ["AutoKernelWeights"] = "File" } });
            string type = "global::App." + ClassName;
            string adapter = $$"""
                namespace Host
                {
                    public static class Adapter
                    {
                        public static global::System.IDisposable Create(global::AutoKernel.Runtime.Models.ModelOptions options) => new {{type}}(options);

                        public static void Run(global::System.IDisposable model, float[] x, float[] y) => (({{type}})model).Run(x, y);
                    }
                }
                """;
            driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation(adapter), out var output, out var diagnostics, TestContext.Current.CancellationToken);
            Assert.Empty(diagnostics);
            using var pe = new MemoryStream();
            var emit = output.Emit(pe, cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
            Assert.Empty(emit.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
            pe.Position = 0;
            _context = new AssemblyLoadContext("weights-file-" + ClassName, isCollectible: true);
            var assembly = _context.LoadFromStream(pe);
            Assert.Empty(assembly.GetManifestResourceNames());
            var host = assembly.GetType("Host.Adapter", throwOnError: true)!;
            _create = host.GetMethod("Create")!.CreateDelegate<Func<ModelOptions, IDisposable>>();
            _run = host.GetMethod("Run")!.CreateDelegate<Action<IDisposable, float[], float[]>>();
        }

        public string ClassName { get; }

        /// <summary>Where the class looks by default: the file name is the WeightsResourceName constant.</summary>
        public string DefaultPath => Path.Combine(AppContext.BaseDirectory, "App." + ClassName + ".weights");

        public byte[] WeightsFileBytes { get; }

        public float[] X { get; }

        public float[] Expected { get; }

        public IDisposable Create(ModelOptions options) => _create(options);

        public float[] Run(IDisposable instance)
        {
            var y = new float[5];
            _run(instance, X, y);
            return y;
        }

        public void Dispose() => _context.Unload();
    }

    private static void AssertClose(float[] expected, float[] actual) =>
        Closeness.AssertClose(expected, actual, atol: 1e-5f, rtol: 1e-5f);

    [Fact]
    public void Without_the_file_the_error_names_the_class_the_path_and_the_fix_and_with_it_the_model_runs()
    {
        using var model = new FileModel(seed: 901);
        File.Delete(model.DefaultPath);
        var e = Assert.Throws<FileNotFoundException>(() => model.Create(ModelOptions.Default));
        Assert.Contains(model.ClassName, e.Message, StringComparison.Ordinal);
        Assert.Contains(model.DefaultPath, e.Message, StringComparison.Ordinal);
        Assert.Contains("Weights=File", e.Message, StringComparison.Ordinal);
        Assert.Contains("ModelOptions.WeightsPath", e.Message, StringComparison.Ordinal);
        Assert.Equal(model.DefaultPath, e.FileName);

        File.WriteAllBytes(model.DefaultPath, model.WeightsFileBytes);
        try
        {
            using var first = model.Create(new ModelOptions { Threads = 1 });
            AssertClose(model.Expected, model.Run(first));
            // Shared by hash: a second instance does not read the file again.
            File.Delete(model.DefaultPath);
            using var second = model.Create(new ModelOptions { Threads = 1 });
            AssertClose(model.Expected, model.Run(second));
        }
        finally
        {
            File.Delete(model.DefaultPath);
        }
    }

    [Fact]
    public void ModelOptions_WeightsPath_and_WeightsStream_override_the_file_next_to_the_app()
    {
        using var model = new FileModel(seed: 902);
        File.Delete(model.DefaultPath);
        string elsewhere = Path.Combine(Path.GetTempPath(), "autokernel-" + Guid.NewGuid().ToString("N") + ".weights");
        File.WriteAllBytes(elsewhere, model.WeightsFileBytes);
        try
        {
            using (var instance = model.Create(new ModelOptions { Threads = 1, WeightsPath = elsewhere }))
                AssertClose(model.Expected, model.Run(instance));
        }
        finally
        {
            File.Delete(elsewhere);
        }
        using (var instance = model.Create(new ModelOptions { Threads = 1, WeightsStream = new MemoryStream(model.WeightsFileBytes) }))
            AssertClose(model.Expected, model.Run(instance));
        Assert.False(File.Exists(model.DefaultPath));
    }

    [Fact]
    public void A_weights_file_from_another_compile_is_refused()
    {
        using var model = new FileModel(seed: 903);
        using var other = new FileModel(seed: 904);
        File.WriteAllBytes(model.DefaultPath, other.WeightsFileBytes);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => model.Create(ModelOptions.Default));
            Assert.Contains(model.DefaultPath, e.Message, StringComparison.Ordinal);
            Assert.Contains("do not belong", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(model.DefaultPath);
        }
    }
}
