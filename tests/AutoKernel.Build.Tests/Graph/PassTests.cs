using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Graph.Passes;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Tests.Support;
using AutoKernel.TestSupport;

namespace AutoKernel.Build.Tests.Graph;

/// <summary>Each pass does its rewrite, and the graph computes the same outputs before and after.</summary>
public sealed class PassTests
{
    private static void AssertSameResults(LoadedModel loaded, double rtol = 1e-4, double atol = 1e-5)
    {
        foreach (var (name, before, after) in Graphs.RunBoth(loaded))
        {
            var result = TensorComparison.Compare(after, before, rtol, atol);
            Assert.True(result.Passed, $"output '{name}': {result}");
        }
    }

    private static Dictionary<string, int> OpCounts(ModelGraph g) =>
        g.Nodes.GroupBy(n => n.OpType).ToDictionary(x => x.Key, x => x.Count());

    private static string BatchNorm(ModelBuilder b, string x, int channels, int seed)
    {
        var random = new Random(seed);
        // Uniform in [lo, hi]: the shared [-1, 1) values scaled (variances and scales stay positive).
        float[] Values(float lo, float hi) => [.. TestData.RandomFloats(random, channels).Select(u => lo + (hi - lo) * (u + 1) / 2)];
        string scale = b.Initializer($"bn{seed}.scale", Tensor.FromFloats([channels], Values(0.5f, 1.5f)));
        string bias = b.Initializer($"bn{seed}.bias", Tensor.FromFloats([channels], Values(-0.5f, 0.5f)));
        string mean = b.Initializer($"bn{seed}.mean", Tensor.FromFloats([channels], Values(-0.5f, 0.5f)));
        string var = b.Initializer($"bn{seed}.var", Tensor.FromFloats([channels], Values(0.5f, 1.5f)));
        return b.Node("BatchNormalization", [x, scale, bias, mean, var], a => a.Float("epsilon", 1e-3f), name: $"bn{seed}");
    }

    [Fact]
    public void Conv_batchnorm_relu_residual_fuse_into_one_node()
    {
        var b = new ModelBuilder("block", 17);
        string x = b.Input("x", DataType.Float, 1, 8, 10, 10);
        string w1 = b.Initializer("w1", Graphs.RandomFloats(1, 8, 8, 3, 3));
        string w2 = b.Initializer("w2", Graphs.RandomFloats(2, 8, 8, 3, 3));
        string h = b.Node("Relu", [BatchNorm(b, b.Node("Conv", [x, w1], a => a.Ints("pads", 1, 1, 1, 1), name: "conv1"), 8, 1)], name: "relu1");
        string y = BatchNorm(b, b.Node("Conv", [h, w2], a => a.Ints("pads", 1, 1, 1, 1), name: "conv2"), 8, 2);
        string sum = b.Node("Add", [y, x], name: "add");
        b.Output(b.Node("Relu", [sum], name: "relu2"));
        var loaded = Graphs.Prepare(b.Build());

        var counts = OpCounts(loaded.Optimized);
        Assert.Equal(new Dictionary<string, int> { ["FusedConv"] = 2 }, counts);
        var second = loaded.Optimized.Nodes[1];
        Assert.Equal("Relu", second.GetString("activation", ""));
        Assert.Equal(x, second.Inputs[3]);
        Assert.Contains(loaded.Report.Entries, e => e.Pass == "fold-batchnorm" && e.Summary.Contains("Conv+BatchNormalization 2"));
        AssertSameResults(loaded);
    }

    [Fact]
    public void Residual_computed_after_the_conv_keeps_topological_order()
    {
        // The export order puts the shortcut branch between conv2 and the Add: the fused node must
        // run after the shortcut, at the Add's place.
        var b = new ModelBuilder("downsample", 17);
        string x = b.Input("x", DataType.Float, 1, 4, 8, 8);
        string w1 = b.Initializer("w1", Graphs.RandomFloats(1, 8, 4, 3, 3));
        string wd = b.Initializer("wd", Graphs.RandomFloats(2, 8, 4, 1, 1));
        string main = b.Node("Conv", [x, w1], a => a.Ints("pads", 1, 1, 1, 1).Ints("strides", 2, 2), name: "conv");
        string shortcut = b.Node("Conv", [x, wd], a => a.Ints("strides", 2, 2), name: "downsample");
        b.Output(b.Node("Relu", [b.Node("Add", [main, shortcut], name: "add")], name: "relu"));
        var loaded = Graphs.Prepare(b.Build());

        Assert.Equal(["downsample", "conv"], loaded.Optimized.Nodes.Select(n => n.Name));
        Assert.Equal(shortcut, loaded.Optimized.Nodes[1].Inputs[3]);
        AssertSameResults(loaded);
    }

    [Fact]
    public void Constant_add_becomes_the_bias_and_clip_the_activation()
    {
        var b = new ModelBuilder("bias", 17);
        string x = b.Input("x", DataType.Float, 1, 3, 6, 6);
        string w = b.Initializer("w", Graphs.RandomFloats(1, 5, 3, 3, 3));
        string bias = b.Initializer("b", Graphs.RandomFloats(2, 5));
        string extra = b.Initializer("extra", Graphs.RandomFloats(3, 1, 5, 1, 1));
        string lo = b.Initializer("lo", Tensor.Scalar(0f));
        string hi = b.Initializer("hi", Tensor.Scalar(0.25f));
        string y = b.Node("Add", [b.Node("Conv", [x, w, bias], name: "conv"), extra], name: "add");
        b.Output(b.Node("Clip", [y, lo, hi], name: "clip"));
        var loaded = Graphs.Prepare(b.Build());

        var node = Assert.Single(loaded.Optimized.Nodes);
        Assert.Equal("FusedConv", node.OpType);
        Assert.Equal("", node.Input(3));
        Assert.Equal(0f, node.GetFloat("activation_alpha", -1));
        Assert.Equal(0.25f, node.GetFloat("activation_beta", -1));
        AssertSameResults(loaded);
    }

    [Fact]
    public void Gemm_and_matmul_epilogues()
    {
        var b = new ModelBuilder("dense", 17);
        string x = b.Input("x", DataType.Float, 2, 16);
        string w = b.Initializer("w", Graphs.RandomFloats(1, 8, 16));
        string c = b.Initializer("c", Graphs.RandomFloats(2, 8));
        string h = b.Node("Sigmoid", [b.Node("Gemm", [x, w, c], a => a.Int("transB", 1), name: "fc1")], name: "sig");
        string w2 = b.Initializer("w2", Graphs.RandomFloats(3, 8, 4));
        string b2 = b.Initializer("b2", Graphs.RandomFloats(4, 4));
        string y = b.Node("Add", [b.Node("MatMul", [h, w2], name: "fc2"), b2], name: "bias");
        b.Output(b.Node("LeakyRelu", [y], a => a.Float("alpha", 0.2f), name: "act"));
        var loaded = Graphs.Prepare(b.Build());

        Assert.Equal(["FusedGemm", "FusedMatMul"], loaded.Optimized.Nodes.Select(n => n.OpType));
        Assert.Equal(0.2f, loaded.Optimized.Nodes[1].GetFloat("activation_alpha", 0));
        AssertSameResults(loaded);
    }

    [Fact]
    public void Value_read_twice_is_not_fused()
    {
        var b = new ModelBuilder("branch", 17);
        string x = b.Input("x", DataType.Float, 1, 3, 6, 6);
        string w = b.Initializer("w", Graphs.RandomFloats(1, 3, 3, 1, 1));
        string y = b.Node("Conv", [x, w], name: "conv");
        b.Output(b.Node("Relu", [y], name: "relu"));
        b.Output(b.Node("Sigmoid", [y], name: "sigmoid"));
        var loaded = Graphs.Prepare(b.Build());
        Assert.Equal(["Conv", "Relu", "Sigmoid"], loaded.Optimized.Nodes.Select(n => n.OpType));
        AssertSameResults(loaded);
    }

    [Fact]
    public void Identity_and_dropout_are_removed_and_graph_output_names_survive()
    {
        var b = new ModelBuilder("identity", 17);
        string x = b.Input("x", DataType.Float, 2, 3);
        string h = b.Node("Identity", [b.Node("Relu", [x], name: "relu")], name: "id");
        string d = b.Node("Dropout", [b.Node("Tanh", [h], name: "tanh")], name: "drop");
        b.Output(b.Node("Identity", [d], name: "out", output: "result"));
        var loaded = Graphs.Prepare(b.Build());

        Assert.Equal(["Relu", "Tanh"], loaded.Optimized.Nodes.Select(n => n.OpType));
        Assert.Equal("result", loaded.Optimized.Outputs[0].Name);
        Assert.Equal("result", loaded.Optimized.Nodes[^1].Outputs[0]);
        AssertSameResults(loaded);
    }

    [Fact]
    public void Shape_gather_concat_reshape_chain_folds_away()
    {
        // What torch.flatten / x.view(x.size(0), -1) export to.
        var b = new ModelBuilder("flatten", 13);
        string x = b.Input("x", DataType.Float, 2, 3, 4, 4);
        string shape = b.Node("Shape", [x], name: "shape");
        string zero = b.Initializer("zero", Tensor.Scalar(0L));
        string n = b.Node("Gather", [shape, zero], a => a.Int("axis", 0), name: "gather");
        string axes = b.Initializer("axes", Tensor.Vector(0));
        string n1 = b.Node("Unsqueeze", [n, axes], name: "unsqueeze");
        string minusOne = b.Initializer("minus_one", Tensor.Vector(-1));
        string target = b.Node("Concat", [n1, minusOne], a => a.Int("axis", 0), name: "concat");
        b.Output(b.Node("Reshape", [x, target], name: "reshape"));
        var loaded = Graphs.Prepare(b.Build());

        Assert.Equal(["Reshape"], loaded.Optimized.Nodes.Select(n => n.OpType));
        Assert.Equal([2, 48], loaded.Optimized.Outputs[0].Type.Shape);
        Assert.Contains(loaded.Report.Entries, e => e.Pass == "fold-constants" && e.Summary.StartsWith("folded 4", StringComparison.Ordinal));
        AssertSameResults(loaded);
    }

    [Fact]
    public void Constant_of_shape_weights_fold()
    {
        var b = new ModelBuilder("cos", 17);
        string x = b.Input("x", DataType.Float, 1, 2, 4, 4);
        string shape = b.Initializer("wshape", Tensor.Vector(3, 2, 1, 1));
        string w = b.Node("ConstantOfShape", [shape], a => a.Tensor("value", Tensor.FromFloats([1], [0.5f])), name: "make_w");
        b.Output(b.Node("Conv", [x, w], name: "conv"));
        var loaded = Graphs.Prepare(b.Build());
        Assert.Equal(["Conv"], loaded.Optimized.Nodes.Select(n => n.OpType));
        Assert.Equal([3, 2, 1, 1], loaded.Optimized.Initializers[loaded.Optimized.Nodes[0].Inputs[1]].Shape);
        AssertSameResults(loaded);
    }

    [Fact]
    public void Legacy_opset6_broadcast_is_normalized()
    {
        var b = new ModelBuilder("legacy", 6);
        string x = b.Input("x", DataType.Float, 2, 3, 4, 5);
        string c = b.Initializer("c", Graphs.RandomFloats(1, 3));
        b.Output(b.Node("Add", [x, c], a => a.Int("broadcast", 1).Int("axis", 1), name: "add"));
        var loaded = Graphs.Prepare(b.Build());
        var inputs = Compare.InputGenerator.Create(loaded.Optimized, 3);
        var y = new AutoKernel.Build.Reference.Interpreter(loaded.Optimized).Run(inputs)[loaded.Optimized.Outputs[0].Name];
        float[] xs = inputs["x"].Floats;
        float[] cs = loaded.Resolved.Initializers[c].Floats;
        for (int i = 0; i < xs.Length; i++)
            Assert.Equal(xs[i] + cs[i / 20 % 3], y.Floats[i]);
    }

    /// <summary>The optimized graph against ONNX Runtime running the original model.</summary>
    private static void AssertMatchesOrt(ModelBuilder b, LoadedModel loaded)
    {
        var inputs = Compare.InputGenerator.Create(loaded.Optimized, seed: 4);
        var expected = OrtRunner.Run(b.ToBytes(), inputs);
        var actual = new AutoKernel.Build.Reference.Interpreter(loaded.Optimized).Run(inputs);
        foreach (var o in loaded.Optimized.Outputs)
        {
            var r = TensorComparison.Compare(actual[o.Name], expected[o.Name]);
            Assert.True(r.Passed, $"{o.Name} vs ONNX Runtime: {r}");
        }
    }

    /// <summary>
    /// A BatchNormalization whose scale s = gamma / sqrt(var + eps) is exact in float: var + eps = 4,
    /// so s = gamma / 2, and shift = beta - mean * s.
    /// </summary>
    private static string ExactBatchNorm(ModelBuilder b, string x, float[] gamma, float[] beta, float[] mean)
    {
        int c = gamma.Length;
        return b.Node("BatchNormalization",
            [x, b.Initializer("bn.scale", Tensor.FromFloats([c], gamma)), b.Initializer("bn.bias", Tensor.FromFloats([c], beta)),
             b.Initializer("bn.mean", Tensor.FromFloats([c], mean)), b.Initializer("bn.var", Tensor.FromFloats([c], [.. Enumerable.Repeat(3.75f, c)]))],
            a => a.Float("epsilon", 0.25f), name: "bn");
    }

    [Fact]
    public void Batchnorm_folds_into_gemm_with_untransposed_b_column_by_column()
    {
        // Y = 0.5 * X W + 2 * C with W [K=3, N=2]: output column n is scaled by s[n].
        // s = [2, 1] / 2 = [1, 0.5]; shift = [0.5, -1] - [1, 2] * s = [-0.5, -2].
        // W' = [[1*1, 2*0.5], [3*1, 4*0.5], [5*1, 6*0.5]] = [[1, 1], [3, 2], [5, 3]];
        // bias' = 2 * C * s + shift = [2*4*1 - 0.5, 2*8*0.5 - 2] = [7.5, 6], and beta becomes 1.
        var b = new ModelBuilder("gemm_bn", 17);
        string x = b.Input("x", DataType.Float, 2, 3);
        string w = b.Initializer("w", Tensor.FromFloats([3, 2], [1, 2, 3, 4, 5, 6]));
        string c = b.Initializer("c", Tensor.FromFloats([2], [4, 8]));
        string y = b.Node("Gemm", [x, w, c], a => a.Float("alpha", 0.5f).Float("beta", 2f).Int("transB", 0), name: "gemm");
        b.Output(ExactBatchNorm(b, y, gamma: [2, 1], beta: [0.5f, -1], mean: [1, 2]));
        var loaded = Graphs.Prepare(b.Build());

        var gemm = Assert.Single(loaded.Optimized.Nodes);
        Assert.Equal("Gemm", gemm.OpType);
        Assert.Equal([x, "w_bn", "gemm_bias_bn"], gemm.Inputs);
        Assert.Equal([3, 2], loaded.Optimized.Initializers["w_bn"].Shape);
        Assert.Equal([1f, 1, 3, 2, 5, 3], loaded.Optimized.Initializers["w_bn"].Floats);
        Assert.Equal([7.5f, 6], loaded.Optimized.Initializers["gemm_bias_bn"].Floats);
        Assert.Equal(0.5f, gemm.GetFloat("alpha", 0));
        Assert.Equal(1f, gemm.GetFloat("beta", 0));
        Assert.Equal(0, gemm.GetInt("transB", -1));
        // The unfolded weights and the BN parameters are gone.
        Assert.Equal(["gemm_bias_bn", "w_bn"], loaded.Optimized.Initializers.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(loaded.Report.Entries, e => e.Pass == BatchNormFolding.Name && e.Summary == "folded 1 (Gemm+BatchNormalization 1)");
        AssertSameResults(loaded);
        AssertMatchesOrt(b, loaded);
    }

    [Fact]
    public void Batchnorm_folds_into_gemm_with_untransposed_b_and_one_output_column()
    {
        // N = 1: W [3, 1], s = [1] / 2 = [0.5], shift = [1] - [2] * 0.5 = [0]; no C, so bias' = shift.
        var b = new ModelBuilder("gemm_bn_1", 17);
        string x = b.Input("x", DataType.Float, 4, 3);
        string w = b.Initializer("w", Tensor.FromFloats([3, 1], [1, 2, 3]));
        string y = b.Node("Gemm", [x, w], name: "gemm");
        b.Output(ExactBatchNorm(b, y, gamma: [1], beta: [1], mean: [2]));
        var loaded = Graphs.Prepare(b.Build());

        var gemm = Assert.Single(loaded.Optimized.Nodes);
        Assert.Equal([x, "w_bn", "gemm_bias_bn"], gemm.Inputs);
        Assert.Equal([0.5f, 1, 1.5f], loaded.Optimized.Initializers["w_bn"].Floats);
        Assert.Equal([0f], loaded.Optimized.Initializers["gemm_bias_bn"].Floats);
        AssertSameResults(loaded);
        AssertMatchesOrt(b, loaded);
    }

    [Fact]
    public void Batchnorm_folds_into_grouped_conv_transpose_by_output_channel()
    {
        // group 2, W [Cin=2, Cout/group=2, 1, 2] = 1..8: input channel ci is group ci, so
        // W[ci, co] feeds output channel 2 * ci + co. s = [2, 1, 4, 0.5] / 2 = [1, 0.5, 2, 0.25];
        // shift = 0 - [1, 2, -1, 4] * s = [-1, -1, 2, -1].
        // W' = [1,2]*1, [3,4]*0.5, [5,6]*2, [7,8]*0.25 = [1,2, 1.5,2, 10,12, 1.75,2];
        // bias' = [1, 2, 3, 4] * s + shift = [1-1, 1-1, 6+2, 1-1] = [0, 0, 8, 0].
        var b = new ModelBuilder("convt_bn", 17);
        string x = b.Input("x", DataType.Float, 1, 2, 3, 3);
        string w = b.Initializer("w", Tensor.FromFloats([2, 2, 1, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
        string bias = b.Initializer("b", Tensor.FromFloats([4], [1, 2, 3, 4]));
        string y = b.Node("ConvTranspose", [x, w, bias], a => a.Int("group", 2), name: "convt");
        b.Output(ExactBatchNorm(b, y, gamma: [2, 1, 4, 0.5f], beta: [0, 0, 0, 0], mean: [1, 2, -1, 4]));
        var loaded = Graphs.Prepare(b.Build());

        var convt = Assert.Single(loaded.Optimized.Nodes);
        Assert.Equal("ConvTranspose", convt.OpType);
        Assert.Equal([x, "w_bn", "convt_bias_bn"], convt.Inputs);
        Assert.Equal([2, 2, 1, 2], loaded.Optimized.Initializers["w_bn"].Shape);
        Assert.Equal([1f, 2, 1.5f, 2, 10, 12, 1.75f, 2], loaded.Optimized.Initializers["w_bn"].Floats);
        Assert.Equal([0f, 0, 8, 0], loaded.Optimized.Initializers["convt_bias_bn"].Floats);
        Assert.Equal([1, 4, 3, 4], loaded.Optimized.Outputs[0].Type.Shape);
        AssertSameResults(loaded);
        AssertMatchesOrt(b, loaded);
    }

    [Fact]
    public void Dead_nodes_their_initializers_and_unread_optional_outputs_are_removed()
    {
        // Live: x -> MaxPool (Indices unread) -> Neg -> "pooled"; x -> Sigmoid -> Mul(keep) -> "scaled".
        // Dead: Tanh -> Mul(by "dead_c", read by nothing else) -> Abs, ending nowhere; "unused" read by nobody.
        var b = new ModelBuilder("dead", 17);
        string x = b.Input("x", DataType.Float, 1, 2, 4, 4);
        string keep = b.Initializer("keep", Tensor.Scalar(3f));
        string deadC = b.Initializer("dead_c", Tensor.Scalar(2f));
        b.Initializer("unused", Tensor.Scalar(7f));
        string[] pool = b.Node("MaxPool", [x], 2, a => a.Ints("kernel_shape", 2, 2).Ints("strides", 2, 2), name: "pool");
        string t = b.Node("Tanh", [x], name: "tanh");
        string m = b.Node("Mul", [t, deadC], name: "dead_mul");
        b.Node("Abs", [m], name: "abs");
        b.Output(b.Node("Neg", [pool[0]], name: "neg", output: "pooled"));
        b.Output(b.Node("Mul", [b.Node("Sigmoid", [x], name: "sigmoid"), keep], name: "mul", output: "scaled"));
        var loaded = Graphs.Prepare(b.Build());

        var g = loaded.Optimized;
        Assert.Equal(["pool", "neg", "sigmoid", "mul"], g.Nodes.Select(n => n.Name));
        Assert.Equal([pool[0]], g.Nodes[0].Outputs);
        Assert.Null(g.TypeOf(pool[1]));
        Assert.Null(g.TypeOf(t));
        Assert.Null(g.TypeOf(m));
        Assert.Equal(["keep"], g.Initializers.Keys);
        Assert.Contains(loaded.Report.Entries, e => e.Pass == DeadCodeElimination.Name && e.Summary == "removed 5 (initializer 2, Abs 1, Mul 1, Tanh 1)");
        // The resolved graph still has them all: only the pass removed anything.
        Assert.Equal(["pool", "tanh", "dead_mul", "abs", "neg", "sigmoid", "mul"], loaded.Resolved.Nodes.Select(n => n.Name));
        Assert.Equal(2, loaded.Resolved.Nodes[0].Outputs.Count);
        AssertMatchesOrt(b, loaded);
    }

    [Fact]
    public void Dead_code_elimination_keeps_a_graph_with_nothing_dead_as_it_is()
    {
        var b = new ModelBuilder("alive", 17);
        string x = b.Input("x", DataType.Float, 2, 3);
        b.Output(b.Node("Neg", [b.Node("Abs", [x], name: "abs")], name: "neg"));
        var graph = Graphs.Prepare(b.Build()).Resolved.Clone();
        var report = new PassReport();
        DeadCodeElimination.Run(graph, report);
        Assert.Equal(["abs", "neg"], graph.Nodes.Select(n => n.Name));
        Assert.Equal((DeadCodeElimination.Name, "nothing to do"), Assert.Single(report.Entries));
    }
}
