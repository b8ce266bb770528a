using System.Globalization;
using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Reference;

/// <summary>
/// Plain, multi-threaded reference implementations of every supported operator: the oracle that
/// generated kernels are checked against. Operators are keyed by (domain, op type); the default
/// domain is "" (or "ai.onnx"), the fused operators live in <see cref="FusedOps.Domain"/>.
/// </summary>
public static class ReferenceKernels
{
    private delegate Tensor[] Kernel(OpContext c);

    private static readonly Dictionary<string, Kernel> Onnx = new(StringComparer.Ordinal)
    {
        // Elementwise arithmetic and comparison.
        ["Add"] = Elementwise.Add,
        ["Sub"] = Elementwise.Sub,
        ["Mul"] = Elementwise.Mul,
        ["Div"] = Elementwise.Div,
        ["Mod"] = Elementwise.Mod,
        ["Pow"] = Elementwise.Pow,
        ["Min"] = Elementwise.Min,
        ["Max"] = Elementwise.Max,
        ["Mean"] = Elementwise.Mean,
        ["Sum"] = Elementwise.Sum,
        ["Equal"] = Elementwise.Equal,
        ["Less"] = Elementwise.Less,
        ["Greater"] = Elementwise.Greater,
        ["LessOrEqual"] = Elementwise.LessOrEqual,
        ["GreaterOrEqual"] = Elementwise.GreaterOrEqual,
        ["Not"] = Elementwise.Not,
        ["And"] = Elementwise.And,
        ["Or"] = Elementwise.Or,
        ["Xor"] = Elementwise.Xor,
        ["Where"] = Elementwise.Where,
        ["PRelu"] = Elementwise.PRelu,
        ["Cast"] = Elementwise.Cast,
        // Unary math.
        ["Neg"] = Elementwise.Neg,
        ["Abs"] = Elementwise.Abs,
        ["Sqrt"] = c => Elementwise.UnaryMath(c, Math.Sqrt),
        ["Exp"] = c => Elementwise.UnaryMath(c, Math.Exp),
        ["Log"] = c => Elementwise.UnaryMath(c, Math.Log),
        ["Reciprocal"] = c => Elementwise.UnaryMath(c, v => 1 / v),
        ["Floor"] = c => Elementwise.UnaryMath(c, Math.Floor),
        ["Ceil"] = c => Elementwise.UnaryMath(c, Math.Ceiling),
        ["Erf"] = c => Elementwise.UnaryMath(c, Elementwise.Erf),
        ["Softsign"] = c => Elementwise.UnaryMath(c, v => v / (1 + Math.Abs(v))),
        // Activations (float through Graph.Activations, as fused epilogues do).
        ["Relu"] = Elementwise.Activation,
        ["Clip"] = Elementwise.Activation,
        ["LeakyRelu"] = Elementwise.Activation,
        ["Sigmoid"] = Elementwise.Activation,
        ["HardSigmoid"] = Elementwise.Activation,
        ["HardSwish"] = Elementwise.Activation,
        ["Tanh"] = Elementwise.Activation,
        ["Elu"] = Elementwise.Activation,
        ["Selu"] = Elementwise.Activation,
        ["Softplus"] = Elementwise.Activation,
        // Matrix products and convolutions.
        ["Gemm"] = MatrixMultiply.GemmOp,
        ["MatMul"] = MatrixMultiply.MatMulOp,
        ["Conv"] = Convolution.Conv,
        ["ConvTranspose"] = Convolution.ConvTranspose,
        // Pooling.
        ["MaxPool"] = Pooling.MaxPool,
        ["AveragePool"] = Pooling.AveragePool,
        ["GlobalAveragePool"] = Pooling.GlobalAveragePool,
        ["GlobalMaxPool"] = Pooling.GlobalMaxPool,
        // Normalization.
        ["BatchNormalization"] = Normalization.BatchNormalization,
        ["InstanceNormalization"] = Normalization.InstanceNormalization,
        ["LayerNormalization"] = Normalization.LayerNormalization,
        ["RMSNormalization"] = Normalization.RmsNormalization,
        ["LRN"] = Normalization.Lrn,
        ["Softmax"] = Normalization.Softmax,
        ["LogSoftmax"] = Normalization.LogSoftmax,
        // Reductions.
        ["ReduceMean"] = Reduction.ReduceMean,
        ["ReduceSum"] = Reduction.ReduceSum,
        ["ReduceMax"] = Reduction.ReduceMax,
        ["ReduceMin"] = Reduction.ReduceMin,
        ["ReduceProd"] = Reduction.ReduceProd,
        ["ReduceL1"] = Reduction.ReduceL1,
        ["ReduceL2"] = Reduction.ReduceL2,
        ["ReduceLogSum"] = Reduction.ReduceLogSum,
        ["ReduceLogSumExp"] = Reduction.ReduceLogSumExp,
        ["ReduceSumSquare"] = Reduction.ReduceSumSquare,
        ["ArgMax"] = Reduction.ArgMax,
        ["ArgMin"] = Reduction.ArgMin,
        // Shapes and data movement.
        ["Identity"] = Shapes.Identity,
        ["Dropout"] = Shapes.Dropout,
        ["Flatten"] = Shapes.Flatten,
        ["Reshape"] = Shapes.Reshape,
        ["Transpose"] = Shapes.Transpose,
        ["Concat"] = Shapes.Concat,
        ["Split"] = Shapes.Split,
        ["Slice"] = Shapes.Slice,
        ["Pad"] = Shapes.Pad,
        ["Squeeze"] = Shapes.Squeeze,
        ["Unsqueeze"] = Shapes.Unsqueeze,
        ["Gather"] = Shapes.Gather,
        ["Shape"] = Shapes.Shape,
        ["Size"] = Shapes.Size,
        ["Constant"] = Shapes.Constant,
        ["ConstantOfShape"] = Shapes.ConstantOfShape,
        ["Expand"] = Shapes.Expand,
        ["Tile"] = Shapes.Tile,
        ["Range"] = Shapes.Range,
        ["DepthToSpace"] = Shapes.DepthToSpace,
        ["SpaceToDepth"] = Shapes.SpaceToDepth,
        ["Resize"] = Resize.ResizeOp,
        ["Upsample"] = Resize.Upsample,
        // New in opsets 23 and 24.
        ["Swish"] = Elementwise.Activation,
    };

    private static readonly Dictionary<string, Kernel> Fused = new(StringComparer.Ordinal)
    {
        [FusedOps.FusedConv] = FusedKernels.FusedConv,
        [FusedOps.FusedGemm] = FusedKernels.FusedGemm,
        [FusedOps.FusedMatMul] = FusedKernels.FusedMatMul,
    };

    public static bool IsSupported(string domain, string opType) =>
        Table(domain)?.ContainsKey(opType) ?? false;

    /// <summary>Sorted op type names of both domains.</summary>
    public static IReadOnlyList<string> SupportedOperators { get; } =
        [.. Onnx.Keys.Concat(Fused.Keys).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Runs one node. <paramref name="inputs"/>[i] is null where the optional input is absent;
    /// <paramref name="opset"/> is the model's default-domain opset. Returns one tensor per node
    /// output (trailing outputs the node does not name may be left out). Every problem with the
    /// node throws a <see cref="ModelException"/> carrying the node and opset.
    /// </summary>
    public static Tensor[] Run(Node node, int opset, Tensor?[] inputs)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(inputs);
        var kernel = Table(node.Domain) is { } table && table.TryGetValue(node.OpType, out var k) ? k
            : throw new ModelException(node.Domain is "" or "ai.onnx"
                ? $"operator {node.OpType} is not supported"
                : $"operator {node.Domain}:{node.OpType} is not supported") { Node = node, Opset = opset };
        var context = new OpContext(node, opset, inputs);
        Tensor[] outputs;
        try
        {
            outputs = kernel(context);
        }
        catch (ModelException e)
        {
            e.Node ??= node;
            if (e.Opset == 0)
                e.Opset = opset;
            throw;
        }
        catch (ArithmeticException e)
        {
            // Integer division by zero or overflow in integer arithmetic.
            throw new ModelException($"{node.OpType}: {e.Message}", e) { Node = node, Opset = opset };
        }
        if (outputs.Length > node.Outputs.Count)
            outputs = outputs[..node.Outputs.Count];
        for (int i = outputs.Length; i < node.Outputs.Count; i++)
        {
            if (node.Outputs[i].Length > 0)
                throw new ModelException(string.Create(CultureInfo.InvariantCulture, $"{node.OpType} output {i} is not supported"))
                { Node = node, Opset = opset };
        }
        return outputs;
    }

    private static Dictionary<string, Kernel>? Table(string domain) => domain switch
    {
        "" or "ai.onnx" => Onnx,
        FusedOps.Domain => Fused,
        _ => null,
    };
}

/// <summary>
/// The fused operators: the base kernel (with its bias), then the residual add (same shape as the
/// output), then the activation from <see cref="FusedOps.ActivationOf"/>.
/// </summary>
internal static class FusedKernels
{
    public static Tensor[] FusedConv(OpContext c) => [Epilogue(c, Convolution.ConvCore(c))];

    public static Tensor[] FusedGemm(OpContext c) => [Epilogue(c, MatrixMultiply.GemmCore(c))];

    public static Tensor[] FusedMatMul(OpContext c)
    {
        var y = MatrixMultiply.MatMulCore(c);
        if (c.Optional(2, DataType.Float) is Tensor bias)
        {
            if (bias.Rank != 1 || y.Rank == 0 || bias.Shape[0] != y.Shape[^1])
                throw c.Fail($"FusedMatMul bias {ShapeMath.Format(bias.Shape)} does not match output {ShapeMath.Format(y.Shape)}");
            y = Elementwise.AddTensors(c, y, bias);
        }
        return [Epilogue(c, y)];
    }

    private static Tensor Epilogue(OpContext c, Tensor y)
    {
        var data = y.Floats;
        if (c.Optional(FusedOps.ResidualInput, DataType.Float) is Tensor residual)
        {
            if (!ShapeMath.SameShape(residual.Shape, y.Shape))
                throw c.Fail($"{c.Op} residual {ShapeMath.Format(residual.Shape)} does not match output {ShapeMath.Format(y.Shape)}");
            var r = residual.Floats;
            for (int i = 0; i < data.Length; i++)
                data[i] += r[i];
        }
        var activation = FusedOps.ActivationOf(c.Node);
        if (!activation.IsNone)
        {
            if (!Activations.Fusable.Contains(activation.Kind))
                throw c.Fail($"{c.Op} activation '{activation.Kind}' is not supported");
            for (int i = 0; i < data.Length; i++)
                data[i] = activation.Apply(data[i]);
        }
        return y;
    }
}
