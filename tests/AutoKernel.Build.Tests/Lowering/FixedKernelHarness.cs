using System.Runtime.Loader;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Lowering;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Generator.Kernels;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;
using AutoKernel.TestSupport;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AutoKernel.Build.Tests.Lowering;

/// <summary>One node to check: its graph, the block of its first activation input, and a label for messages.</summary>
public sealed record OracleCase(string Label, ModelGraph Graph, Node Node, int Block, double Tolerance = 1e-5);

/// <summary>
/// Lowers nodes, emits and compiles all their kernels in one Roslyn compilation, runs each on
/// random inputs through its native layouts and compares with <see cref="ReferenceKernels.Run"/>.
/// The output buffer starts as NaN, so every element (padded channel lanes included) must be
/// written, and padded lanes must be zero.
/// </summary>
public static class FixedKernelHarness
{
    private static readonly CpuTarget DefaultTarget = new(256, 2, "test");

    public static IReadOnlyList<(OracleCase Case, LoweredOp Op)> LowerAll(IEnumerable<OracleCase> cases)
    {
        var lowered = new List<(OracleCase, LoweredOp)>();
        var failures = new List<string>();
        foreach (var c in cases)
        {
            var op = FixedOpLowering.Lower(c.Graph, c.Node, c.Block);
            if (op is null)
                failures.Add($"{c.Label}: {c.Node} not lowered: {FixedOpLowering.WhyNot(c.Graph, c.Node)}");
            else
                lowered.Add((c, op));
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        return lowered;
    }

    public static void Check(IEnumerable<OracleCase> cases, CpuTarget? target = null)
    {
        var lowered = LowerAll(cases);
        CheckLowered(lowered, target);
    }

    /// <summary>
    /// <paramref name="target"/> picks the vector width of the emitted main paths (default 256 bits);
    /// where the machine lacks it, the kernels take their portable scalar paths instead.
    /// </summary>
    public static void CheckLowered(IReadOnlyList<(OracleCase Case, LoweredOp Op)> lowered, CpuTarget? target = null)
    {
        Assert.NotEmpty(lowered);
        var sources = lowered.Select((x, i) => ($"F.K{i}", FixedKernels.Emit(x.Op.Op, target ?? DefaultTarget, "F", $"K{i}"))).ToList();
        // Emitted code must compile without warnings (apps build it with warnings as errors).
        var trees = sources.Select(s => CSharpSyntaxTree.ParseText(s.Item2, new CSharpParseOptions(LanguageVersion.Latest))).ToList();
        var warnings = CSharpCompilation.Create("check", trees, References.Value,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable))
            .GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Take(5).ToList();
        Assert.True(warnings.Count == 0, string.Join("\n", warnings.Select(d => d.ToString())));

        using var build = new BatchBuilder().Build(sources);
        var failures = new List<string>();
        for (int i = 0; i < lowered.Count; i++)
        {
            if (build.Errors[i] is { } error)
                failures.Add($"{lowered[i].Case.Label}: {lowered[i].Op.Op}: {error}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        using var pool = new WorkerPool(2);
        var context = new AssemblyLoadContext(null, isCollectible: true);
        var loaded = new Dictionary<string, System.Reflection.Assembly>();
        var random = new Random(7);
        for (int i = 0; i < lowered.Count; i++)
        {
            var (c, op) = lowered[i];
            string path = build.Assemblies[i]!;
            if (!loaded.TryGetValue(path, out var assembly))
                loaded[path] = assembly = context.LoadFromAssemblyPath(path);
            var kernel = (IFixedKernel)Activator.CreateInstance(assembly.GetType($"F.K{i}", throwOnError: true)!)!;
            string? problem = RunOne(c, op, kernel, random.Next(), pool);
            if (problem is not null)
                failures.Add($"{c.Label} {c.Node.Name} ({c.Node.OpType}) as {op.Op}: {problem}");
        }
        context.Unload();
        Assert.True(failures.Count == 0, $"{failures.Count} of {lowered.Count} kernels differ from the reference:\n" + string.Join("\n", failures.Take(20)));
    }

    private static readonly Lazy<MetadataReference[]> References = new(() =>
    [
        .. ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !Path.GetFileName(p).StartsWith("AutoKernel.Runtime", StringComparison.OrdinalIgnoreCase))
            .Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(IFixedKernel).Assembly.Location),
    ]);

    private static unsafe string? RunOne(OracleCase c, LoweredOp op, IFixedKernel kernel, int seed, WorkerPool pool)
    {
        var graph = c.Graph;
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var random = new Random(seed);
        Tensor ValueOf(string v) => values.TryGetValue(v, out var t) ? t
            : values[v] = graph.Initializers.TryGetValue(v, out var init) ? init : Graphs.RandomFloats(random.Next(), graph.TypeOf(v)!.Shape);
        var inputs = c.Node.Inputs.Select(v => v.Length == 0 ? null : ValueOf(v)).ToArray();
        var expectedAll = ReferenceKernels.Run(c.Node, graph.Opset, inputs);
        var expected = expectedAll.Length == 1 ? expectedAll[0]
            : Tensor.FromFloats([expectedAll.Sum(t => t.Length)], [.. expectedAll.SelectMany(t => t.Floats)]);

        var native = new float[op.Operands.Count][];
        for (int i = 0; i < native.Length; i++)
        {
            native[i] = new float[kernel.InputLength(i)];
            kernel.InputToNative(i, ValueOf(op.Operands[i]).Floats, native[i]);
        }
        var output = new float[kernel.OutputLength];
        Array.Fill(output, float.NaN);
        var handles = native.Select(a => System.Runtime.InteropServices.GCHandle.Alloc(a, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
        try
        {
            float** pointers = stackalloc float*[Math.Max(1, native.Length)];
            for (int i = 0; i < native.Length; i++)
                pointers[i] = (float*)handles[i].AddrOfPinnedObject();
            fixed (float* o = output)
                kernel.Run(pointers, o, pool);
        }
        finally
        {
            foreach (var h in handles)
                h.Free();
        }
        int b = op.Op.Block;
        if (b > 0)
        {
            int[] y = op.Op.Output;
            int blocks = (y[1] + b - 1) / b;
            for (int n = 0; n < y[0]; n++)
                for (int cb = 0; cb < blocks; cb++)
                    for (int p = 0; p < y[2] * y[3]; p++)
                        for (int l = 0; l < b; l++)
                        {
                            if (cb * b + l >= y[1] && output[(((long)n * blocks + cb) * y[2] * y[3] + p) * b + l] != 0f)
                                return $"padded channel {cb * b + l} is {output[(((long)n * blocks + cb) * y[2] * y[3] + p) * b + l]}, not zero";
                        }
        }
        var standard = new float[expected.Length];
        kernel.OutputFromNative(output, standard);
        return Closeness.Check(expected.Floats, standard, atol: c.Tolerance, rtol: c.Tolerance, nanEqualsNaN: true);
    }
}
