using static AutoKernel.Build.Tests.Reference.RefTest;

namespace AutoKernel.Build.Tests.Reference;

public class NormalizationTests
{
    private static float[] SoftmaxOf(params double[] v)
    {
        double max = v.Max();
        double sum = v.Sum(x => Math.Exp(x - max));
        return v.Select(x => (float)(Math.Exp(x - max) / sum)).ToArray();
    }

    [Fact]
    public void SoftmaxOpset11CoercesTo2D()
    {
        // [1,2,2], axis 1: before opset 13 the softmax runs over all 4 elements (axes 1 and 2 together).
        var x = F([1, 2, 2], 1, 2, 3, 4);
        Close(SoftmaxOf(1, 2, 3, 4), Run("Softmax", 11, [x], Int("axis", 1)));
        // Default axis 1 as well.
        Close(SoftmaxOf(1, 2, 3, 4), Run("Softmax", 11, [x]));
    }

    [Fact]
    public void SoftmaxOpset13IsPerAxis()
    {
        var x = F([1, 2, 2], 1, 2, 3, 4);
        // axis 1: pairs (1,3) and (2,4).
        var a = SoftmaxOf(1, 3);
        var b = SoftmaxOf(2, 4);
        Close([a[0], b[0], a[1], b[1]], Run("Softmax", 13, [x], Int("axis", 1)));
        // Default axis -1: pairs (1,2) and (3,4).
        var c = SoftmaxOf(1, 2);
        Close([c[0], c[1], c[0], c[1]], Run("Softmax", 13, [x]));
    }

    [Fact]
    public void LogSoftmaxBothForms()
    {
        var x = F([2, 3], 1, 2, 3, 1, 1, 1);
        var y = Run("LogSoftmax", 11, [x]);
        var s = SoftmaxOf(1, 2, 3);
        Close([MathF.Log(s[0]), MathF.Log(s[1]), MathF.Log(s[2]), -MathF.Log(3), -MathF.Log(3), -MathF.Log(3)], y);
        var z = Run("LogSoftmax", 13, [x], Int("axis", 0));
        var p = SoftmaxOf(1, 1);
        Close([MathF.Log(p[0]), MathF.Log(SoftmaxOf(2, 1)[0]), MathF.Log(SoftmaxOf(3, 1)[0]), MathF.Log(p[1]), MathF.Log(SoftmaxOf(2, 1)[1]), MathF.Log(SoftmaxOf(3, 1)[1])], z);
    }

    [Fact]
    public void BatchNormalizationInference()
    {
        // channel 0: scale 2, bias 1, mean 1, var 4 -> y = 2*(x-1)/2 + 1 = x; channel 1: scale 1, bias 0, mean 0, var 0.25 -> 2x.
        var x = F([1, 2, 2], 3, 5, 1, -1);
        var y = Run("BatchNormalization", [x, F([2], 2, 1), F([2], 1, 0), F([2], 1, 0), F([2], 4, 0.25f)], Float("epsilon", 0));
        Close([3, 5, 2, -2], y);
    }

    [Fact]
    public void InstanceNormalizationPerPlane()
    {
        var x = F([1, 2, 2], 1, 3, 10, 20);
        var y = Run("InstanceNormalization", [x, F([2], 1, 2), F([2], 0, 1)], Float("epsilon", 0));
        Close([-1, 1, -1, 3], y);
    }

    [Fact]
    public void LayerNormalizationLastAxis()
    {
        // Rows [1,3] and [2,6] both normalize to [-1,1]; then scale [1,2] and bias [0,1].
        var y = Run("LayerNormalization", [F([2, 2], 1, 3, 2, 6), F([2], 1, 2), F([2], 0, 1)], Float("epsilon", 0));
        Close([-1, 3, -1, 3], y);
    }

    [Fact]
    public void LrnAcrossChannels()
    {
        // 3 channels, size 3: channel 1 sums all three squares; channels 0 and 2 sum two.
        var x = F([1, 3, 1, 1], 1, 2, 3);
        float alpha = 0.3f, beta = 0.75f, bias = 2f;
        var y = Run("LRN", [x], Int("size", 3), Float("alpha", alpha), Float("beta", beta), Float("bias", bias));
        double Norm(double sq) => Math.Pow(bias + alpha / 3.0 * sq, beta);
        Close([(float)(1 / Norm(1 + 4)), (float)(2 / Norm(1 + 4 + 9)), (float)(3 / Norm(4 + 9))], y);
    }
}
