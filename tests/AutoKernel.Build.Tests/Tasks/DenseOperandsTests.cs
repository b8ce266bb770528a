using System.Globalization;
using System.Runtime.Loader;
using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Reference;
using AutoKernel.Build.Targets;
using AutoKernel.Build.Tasks;
using AutoKernel.Build.Tests.Support;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Workloads;
using AutoKernel.Runtime.Kernels;
using AutoKernel.Runtime.Threading;
using AutoKernel.TestSupport;
using Tensor = AutoKernel.Build.Graph.Tensor;

namespace AutoKernel.Build.Tests.Tasks;

/// <summary>
/// Every Gemm / FusedGemm / MatMul / FusedMatMul attribute combination: a tunable node's dense kernel
/// (DenseTemplate, prepared with <see cref="DenseOperands.For"/>) computes what the reference
/// executor computes for the original node; an untunable one gets no dense workload and no operands.
/// </summary>
public sealed class DenseOperandsTests
{
    private const int M = 5, K = 9, N = 20;
    private const int Opset = 17;

    /// <summary>A node to check, in a graph that holds its constants and value types, with its run-time inputs.</summary>
    public sealed record Case(string Name, ModelGraph Graph, Node Node, Tensor?[] Inputs, bool Tunable)
    {
        public override string ToString() => Name;
    }

    private static readonly string[] CShapes = ["none", "N", "1xN", "scalar", "MxN"];

    private static readonly Lazy<Dictionary<string, Case>> s_cases = new(CreateCases);

    private static Dictionary<string, Case> CreateCases()
    {
        var cases = new List<Case>();
        foreach (bool fused in new[] { false, true })
            foreach (int transA in new[] { 0, 1 })
                foreach (int transB in new[] { 0, 1 })
                    foreach (float alpha in new[] { 1f, 0.5f })
                        foreach (float beta in new[] { 1f, 2f })
                            foreach (string c in CShapes)
                                cases.Add(GemmCase(fused, transA, transB, alpha, beta, c));
        cases.Add(MatMulCase("MatMul A[M,K]", fused: false, [M, K], bias: false, residual: false, activation: ""));
        cases.Add(MatMulCase("MatMul A[2,3,K]", fused: false, [2, 3, K], bias: false, residual: false, activation: ""));
        cases.Add(MatMulCase("FusedMatMul A[2,3,K] bias", fused: true, [2, 3, K], bias: true, residual: false, activation: "Relu"));
        cases.Add(MatMulCase("FusedMatMul A[M,K] bias residual LeakyRelu", fused: true, [M, K], bias: true, residual: true, activation: "LeakyRelu"));
        cases.Add(MatMulCase("FusedMatMul A[2,3,K] residual", fused: true, [2, 3, K], bias: false, residual: true, activation: ""));
        return cases.ToDictionary(c => c.Name, StringComparer.Ordinal);
    }

    public static TheoryData<string> CaseNames() => [.. s_cases.Value.Keys];

    private static Case GemmCase(bool fused, int transA, int transB, float alpha, float beta, string cShape)
    {
        string name = string.Create(CultureInfo.InvariantCulture,
            $"{(fused ? "FusedGemm" : "Gemm")} transA={transA} transB={transB} alpha={alpha} beta={beta} C={cShape}");
        var random = new Random(name.Length * 31 + transA * 8 + transB * 4 + (alpha == 1f ? 0 : 2) + (beta == 1f ? 0 : 1));
        var g = NewGraph();
        var a = Random(random, transA == 1 ? [K, M] : [M, K]);
        AddInput(g, "A", a.Shape);
        g.Initializers["B"] = Random(random, transB == 1 ? [N, K] : [K, N]);
        Tensor? c = cShape switch
        {
            "none" => null,
            "N" => Random(random, N),
            "1xN" => Random(random, 1, N),
            "scalar" => Tensor.Scalar(TestData.RandomFloats(random, 1)[0]),
            "MxN" => Random(random, M, N),
            _ => throw new ArgumentException(cShape),
        };
        if (c is not null)
            g.Initializers["C"] = c;
        var node = new Node("gemm_node", fused ? FusedOps.FusedGemm : "Gemm", ["A", "B", c is null ? "" : "C"], ["Y"], fused ? FusedOps.Domain : "")
            .Set(NodeAttribute.Int("transA", transA))
            .Set(NodeAttribute.Int("transB", transB))
            .Set(NodeAttribute.Float("alpha", alpha))
            .Set(NodeAttribute.Float("beta", beta));
        Tensor? residual = null;
        if (fused)
        {
            residual = Random(random, M, N);
            AddInput(g, "R", residual.Shape);
            node.Inputs.Add("R");
            node.Set(NodeAttribute.String(FusedOps.ActivationAttribute, "LeakyRelu"))
                .Set(NodeAttribute.Float(FusedOps.AlphaAttribute, 0.1f))
                .Set(NodeAttribute.Float(FusedOps.BetaAttribute, 0f));
        }
        while (node.Inputs.Count > 0 && node.Inputs[^1].Length == 0)
            node.Inputs.RemoveAt(node.Inputs.Count - 1);
        Finish(g, node, [M, N]);
        bool tunable = transA == 0 && cShape != "MxN";
        return new Case(name, g, node, [a, g.Initializers["B"], c, residual], tunable);
    }

    private static Case MatMulCase(string name, bool fused, int[] aShape, bool bias, bool residual, string activation)
    {
        var random = new Random(name.Length);
        var g = NewGraph();
        var a = Random(random, aShape);
        AddInput(g, "A", aShape);
        g.Initializers["B"] = Random(random, K, N);
        int[] outShape = [.. aShape[..^1], N];
        var node = new Node("matmul_node", fused ? FusedOps.FusedMatMul : "MatMul", ["A", "B"], ["Y"], fused ? FusedOps.Domain : "");
        Tensor? b = null, r = null;
        if (fused)
        {
            b = bias ? Random(random, N) : null;
            if (b is not null)
                g.Initializers["bias"] = b;
            node.Inputs.Add(b is null ? "" : "bias");
            if (residual)
            {
                r = Random(random, outShape);
                AddInput(g, "R", outShape);
                node.Inputs.Add("R");
            }
            node.Set(NodeAttribute.String(FusedOps.ActivationAttribute, activation))
                .Set(NodeAttribute.Float(FusedOps.AlphaAttribute, activation == "LeakyRelu" ? 0.2f : 0f))
                .Set(NodeAttribute.Float(FusedOps.BetaAttribute, 0f));
        }
        while (node.Inputs.Count > 0 && node.Inputs[^1].Length == 0)
            node.Inputs.RemoveAt(node.Inputs.Count - 1);
        Finish(g, node, outShape);
        return new Case(name, g, node, [a, g.Initializers["B"], b, r], Tunable: true);
    }

    private static ModelGraph NewGraph()
    {
        var g = new ModelGraph { Name = "dense-operands" };
        g.Opsets[""] = Opset;
        return g;
    }

    private static void AddInput(ModelGraph g, string name, int[] shape)
    {
        var type = new TensorType(DataType.Float, shape);
        g.Inputs.Add(new GraphValue(name, type));
        g.ValueTypes[name] = type;
    }

    private static void Finish(ModelGraph g, Node node, int[] outShape)
    {
        g.Nodes.Add(node);
        var type = new TensorType(DataType.Float, outShape);
        g.ValueTypes["Y"] = type;
        g.Outputs.Add(new GraphValue("Y", type));
    }

    /// <summary>The next values of <paramref name="random"/> (the shared <see cref="TestData.RandomFloats(System.Random, int)"/>) as a float tensor.</summary>
    private static Tensor Random(Random random, params int[] shape) =>
        Tensor.FromFloats(shape, TestData.RandomFloats(random, checked((int)ShapeMath.ElementCount(shape))));

    // ---- Kernels: one batch for every distinct (workload, epilogue, config, target) of the tunable cases ----

    private static readonly CpuTarget[] Targets = [CpuTargets.Host(2), new CpuTarget(256, 2, "test AVX2")];

    private static readonly Lazy<(BuildResult Build, Dictionary<string, (int Index, string ClassName)> Kernels)> s_kernels = new(BuildKernels);

    private static string KernelKey(DenseWorkload d, Epilogue e, CpuTarget target) =>
        string.Create(CultureInfo.InvariantCulture, $"{d.Key}|{e}|{target.VectorBits}");

    /// <summary>The configuration tested for a workload on a target: seeded, so that tile_k may split K and tile_m leave remainder rows.</summary>
    private static AutoKernel.Generator.Schedules.Config ConfigFor(DenseWorkload d, CpuTarget target)
    {
        var valid = new DenseTemplate().CreateSpace(d, target).EnumerateValid().ToList();
        return valid[new Random(d.M * 1000 + d.N + target.VectorBits).Next(valid.Count)];
    }

    private static (BuildResult, Dictionary<string, (int, string)>) BuildKernels()
    {
        var template = new DenseTemplate();
        var sources = new List<(string ClassName, string Source)>();
        var kernels = new Dictionary<string, (int, string)>(StringComparer.Ordinal);
        foreach (var c in s_cases.Value.Values.Where(c => c.Tunable))
        {
            var d = (DenseWorkload)TaskExtractor.WorkloadOf(c.Graph, c.Node)!;
            var e = TaskExtractor.EpilogueOf(c.Node);
            foreach (var target in Targets)
            {
                string key = KernelKey(d, e, target);
                if (kernels.ContainsKey(key))
                    continue;
                string className = "K" + sources.Count.ToString(CultureInfo.InvariantCulture);
                kernels[key] = (sources.Count, "DenseOperandsTests." + className);
                sources.Add(("DenseOperandsTests." + className, template.Emit(d, e, ConfigFor(d, target), target, "DenseOperandsTests", className)));
            }
        }
        var build = new BatchBuilder().Build(sources);
        return (build, kernels);
    }

    private static ITunedKernel Kernel(DenseWorkload d, Epilogue e, CpuTarget target)
    {
        var (build, kernels) = s_kernels.Value;
        var (index, className) = kernels[KernelKey(d, e, target)];
        Assert.True(build.Errors[index] is null, build.Errors[index]);
        var assembly = new AssemblyLoadContext(null, isCollectible: true).LoadFromAssemblyPath(build.Assemblies[index]!);
        return (ITunedKernel)Activator.CreateInstance(assembly.GetType(className, throwOnError: true)!)!;
    }

    private static unsafe float[] Run(ITunedKernel kernel, float[] input, float[]? residual, int outputLength, WorkerPool pool)
    {
        var x = new float[kernel.InputLength];
        var y = new float[kernel.OutputLength];
        var r = new float[kernel.OutputLength];
        kernel.InputToNative(input, x);
        if (residual is not null)
            kernel.OutputToNative(residual, r);
        Array.Fill(y, float.NaN);
        fixed (float* xp = x, yp = y, rp = r)
            kernel.Run(xp, yp, residual is null ? null : rp, pool);
        var standard = new float[outputLength];
        kernel.OutputFromNative(y, standard);
        return standard;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Dense_kernel_with_the_operands_matches_the_reference_node(string name)
    {
        var c = s_cases.Value[name];
        var workload = TaskExtractor.WorkloadOf(c.Graph, c.Node);
        if (!c.Tunable)
        {
            Assert.Null(workload);
            var error = Assert.Throws<ModelException>(() => DenseOperands.For(c.Graph, c.Node));
            Assert.Contains($"node '{c.Node.Name}'", error.Describe(), StringComparison.Ordinal);
            return;
        }
        var d = Assert.IsType<DenseWorkload>(workload);
        int outputLength = checked((int)ShapeMath.ElementCount(c.Graph.TypeOf("Y")!.Shape));
        Assert.Equal((long)d.M * d.N, outputLength);
        var operands = DenseOperands.For(c.Graph, c.Node);
        var epilogue = TaskExtractor.EpilogueOf(c.Node);
        Assert.Equal(epilogue.Bias, operands.Bias is not null);
        Assert.Equal(d.N * d.K, operands.Weights.Length);
        if (operands.Bias is not null)
            Assert.Equal(d.N, operands.Bias.Length);

        var expected = ReferenceKernels.Run(c.Node, Opset, c.Inputs)[0];
        using var pool = new WorkerPool(2);
        foreach (var target in Targets)
        {
            var kernel = Kernel(d, epilogue, target);
            kernel.Prepare((float[])operands.Weights.Clone(), (float[]?)operands.Bias?.Clone());
            var actual = Run(kernel, c.Inputs[0]!.Floats, c.Inputs[3]?.Floats, outputLength, pool);
            Closeness.AssertClose(expected.Floats, actual, atol: 1e-5, rtol: 1e-5, nanEqualsNaN: true, what: $"{name} on {target.Description}");
        }
    }

    [Fact]
    public void Every_attribute_combination_is_covered_and_only_transA_0_with_a_per_column_C_is_tunable()
    {
        var cases = s_cases.Value.Values.ToList();
        Assert.Equal(2 * 2 * 2 * 2 * 2 * CShapes.Length + 5, cases.Count);
        // transA=0, C in {none, [N], [1,N], scalar}: 4 of the 5 C shapes, for Gemm and FusedGemm, times transB, alpha, beta.
        Assert.Equal(2 * 2 * 2 * 2 * 4 + 5, cases.Count(c => c.Tunable));
        Assert.All(cases.Where(c => c.Node.GetInt("transA", 0) == 1), c => Assert.False(c.Tunable));
        Assert.Equal(cases.Count(c => c.Tunable), TaskExtractor.Extract(Merged(cases)).Sum(t => t.Nodes.Count));
    }

    /// <summary>All cases' nodes in one graph (values renamed per case), for Extract.</summary>
    private static ModelGraph Merged(IReadOnlyList<Case> cases)
    {
        var g = NewGraph();
        for (int i = 0; i < cases.Count; i++)
        {
            string Rename(string v) => v.Length == 0 ? v : $"{v}_{i}";
            var source = cases[i].Graph;
            foreach (var (name, tensor) in source.Initializers)
                g.Initializers[Rename(name)] = tensor;
            foreach (var (name, type) in source.ValueTypes)
                g.ValueTypes[Rename(name)] = type;
            var node = cases[i].Node.Clone();
            node.Name = Rename(node.Name);
            for (int j = 0; j < node.Inputs.Count; j++)
                node.Inputs[j] = Rename(node.Inputs[j]);
            node.Outputs[0] = Rename(node.Outputs[0]);
            g.Nodes.Add(node);
        }
        return g;
    }

    [Fact]
    public void Operands_fold_alpha_into_transposed_weights_and_beta_into_the_bias()
    {
        var c = s_cases.Value["Gemm transA=0 transB=0 alpha=0.5 beta=2 C=1xN"];
        var operands = DenseOperands.For(c.Graph, c.Node);
        var b = c.Graph.Initializers["B"].Floats; // [K,N]
        var cData = c.Graph.Initializers["C"].Floats;
        Assert.Equal(0.5f * b[3 * N + 7], operands.Weights[7 * K + 3]);
        Assert.Equal(2f * cData[11], operands.Bias![11]);

        var scalar = s_cases.Value["Gemm transA=0 transB=1 alpha=1 beta=2 C=scalar"];
        var bias = DenseOperands.For(scalar.Graph, scalar.Node).Bias!;
        Assert.All(bias, v => Assert.Equal(2f * scalar.Graph.Initializers["C"].Floats[0], v));
    }

    [Fact]
    public void Non_dense_nodes_and_computed_operands_are_rejected_with_the_node_named()
    {
        var c = s_cases.Value["Gemm transA=0 transB=1 alpha=1 beta=1 C=N"];
        // B computed at run time.
        var g = c.Graph.Clone();
        var weights = g.Initializers["B"];
        g.Initializers.Remove("B");
        g.ValueTypes["B"] = TensorType.Of(weights);
        Assert.Null(TaskExtractor.WorkloadOf(g, c.Node));
        Assert.Contains("node 'gemm_node' (Gemm", Assert.Throws<ModelException>(() => DenseOperands.For(g, c.Node)).Describe(), StringComparison.Ordinal);

        // C computed at run time.
        var g2 = c.Graph.Clone();
        var cTensor = g2.Initializers["C"];
        g2.Initializers.Remove("C");
        g2.ValueTypes["C"] = TensorType.Of(cTensor);
        Assert.Null(TaskExtractor.WorkloadOf(g2, c.Node));
        Assert.Throws<ModelException>(() => DenseOperands.For(g2, c.Node));

        // C of shape [M,1] varies along the rows.
        var g3 = c.Graph.Clone();
        g3.Initializers["C"] = Tensor.FromFloats([M, 1], new float[M]);
        Assert.Null(TaskExtractor.WorkloadOf(g3, c.Node));

        var relu = new Node("relu_node", "Relu", ["A"], ["Z"]);
        Assert.Contains("node 'relu_node' (Relu", Assert.Throws<ModelException>(() => DenseOperands.For(c.Graph, relu)).Describe(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Through the whole pipeline: what the epilogue-fusion pass makes of Gemm (transB=0, alpha,
    /// beta, C) + Add(residual) + Relu is a tunable FusedGemm whose dense kernel computes what the
    /// unfused graph computes.
    /// </summary>
    [Theory]
    [InlineData(0, 0.5f, 2f, true)]
    [InlineData(1, 1f, 1f, true)]
    [InlineData(0, 1f, 1f, false)]
    public void Fused_pipeline_gemm_runs_on_the_dense_kernel_exactly(int transB, float alpha, float beta, bool withC)
    {
        var random = new Random(5);
        var b = new AutoKernel.Build.Onnx.ModelBuilder("gemm", Opset);
        string x = b.Input("x", DataType.Float, M, K);
        string residual = b.Input("residual", DataType.Float, M, N);
        var inputs = new List<string> { x, b.Initializer("w", Random(random, transB == 1 ? [N, K] : [K, N])) };
        if (withC)
            inputs.Add(b.Initializer("c", Random(random, N)));
        string y = b.Node("Gemm", inputs, a => a.Int("transB", transB).Float("alpha", alpha).Float("beta", beta), name: "gemm");
        if (!withC)
            y = b.Node("Add", [y, b.Initializer("bias", Random(random, 1, N))], name: "bias");
        y = b.Node("Add", [y, residual], name: "residual");
        y = b.Node("Relu", [y], name: "relu");
        b.Output(y);
        var loaded = Graphs.Prepare(b.Build());

        var node = Assert.Single(loaded.Optimized.Nodes);
        Assert.Equal(FusedOps.FusedGemm, node.OpType);
        var d = Assert.IsType<DenseWorkload>(TaskExtractor.WorkloadOf(loaded.Optimized, node));
        var epilogue = TaskExtractor.EpilogueOf(node);
        Assert.True(epilogue.Bias);
        Assert.True(epilogue.Residual);
        var operands = DenseOperands.For(loaded.Optimized, node);

        var feeds = InputGenerator.Create(loaded.Resolved, seed: 3);
        var expected = new Interpreter(loaded.Resolved).Run(feeds)[loaded.Resolved.Outputs[0].Name];
        var template = new DenseTemplate();
        var target = Targets[0];
        string source = template.Emit(d, epilogue, ConfigFor(d, target), target, "DensePipeline", "Kernel");
        using var build = new BatchBuilder().Build([("DensePipeline.Kernel", source)]);
        Assert.True(build.Errors[0] is null, build.Errors[0]);
        var assembly = new AssemblyLoadContext(null, isCollectible: true).LoadFromAssemblyPath(build.Assemblies[0]!);
        var kernel = (ITunedKernel)Activator.CreateInstance(assembly.GetType("DensePipeline.Kernel", throwOnError: true)!)!;
        kernel.Prepare(operands.Weights, operands.Bias);
        using var pool = new WorkerPool(2);
        var actual = Run(kernel, feeds["x"].Floats, feeds["residual"].Floats, M * N, pool);
        Closeness.AssertClose(expected.Floats, actual, atol: 1e-5, rtol: 1e-5, nanEqualsNaN: true);
    }

    /// <summary>
    /// A Gemm whose C is one value per row ([M,1], here with M == N so that its length is N) followed
    /// by a per-column bias Add: fusing must not merge the two into one per-column bias.
    /// </summary>
    [Fact]
    public void Row_varying_C_is_not_merged_with_a_following_bias()
    {
        const int size = 4;
        var random = new Random(9);
        var b = new AutoKernel.Build.Onnx.ModelBuilder("gemm", Opset);
        string x = b.Input("x", DataType.Float, size, K);
        string y = b.Node("Gemm", [x, b.Initializer("w", Random(random, size, K)), b.Initializer("c", Random(random, size, 1))],
            a => a.Int("transB", 1), name: "gemm");
        y = b.Node("Add", [y, b.Initializer("bias", Random(random, size))], name: "bias");
        b.Output(y);
        var loaded = Graphs.Prepare(b.Build());
        foreach (var (name, before, after) in Graphs.RunBoth(loaded))
        {
            Assert.Equal(before.Shape, after.Shape);
            Closeness.AssertClose(before.Floats, after.Floats, atol: 1e-5, rtol: 1e-5, nanEqualsNaN: true, what: name);
        }
        Assert.All(loaded.Optimized.Nodes, n => Assert.Null(TaskExtractor.WorkloadOf(loaded.Optimized, n)));
    }
}
