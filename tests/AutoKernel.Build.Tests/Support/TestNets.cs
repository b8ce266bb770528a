using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;

namespace AutoKernel.Build.Tests.Support;

/// <summary>Small hand-made networks for compile, run and benchmark tests.</summary>
public static class TestNets
{
    /// <summary>
    /// Conv+Relu, a 1x1 conv with a residual, Flatten, Gemm: tuned kernels in blocked layouts, a
    /// layout transform before the view, and a dense layer. Input "image" [1,3,10,12], 7 outputs.
    /// </summary>
    public static ModelProto SmallConvNet(int seed = 3, int channels = 16)
    {
        var b = new ModelBuilder("small");
        var r = new Random(seed);
        Tensor W(params int[] shape) => Graphs.RandomFloats(r.Next(), shape);
        string x = b.Input("image", DataType.Float, 1, 3, 10, 12);
        string c1 = b.Node("Conv", [x, b.Initializer("w1", W(channels, 3, 3, 3)), b.Initializer("b1", W(channels))], a => a.Ints("pads", 1, 1, 1, 1).Ints("kernel_shape", 3, 3));
        string r1 = b.Node("Relu", [c1]);
        string c2 = b.Node("Conv", [r1, b.Initializer("w2", W(channels, channels, 1, 1))], a => a.Ints("kernel_shape", 1, 1));
        string sum = b.Node("Add", [c2, r1]);
        string flat = b.Node("Flatten", [sum], a => a.Int("axis", 1));
        b.Output(b.Node("Gemm", [flat, b.Initializer("w3", W(7, channels * 10 * 12)), b.Initializer("b3", W(7))], a => a.Int("transB", 1)));
        return b.Build();
    }
}
