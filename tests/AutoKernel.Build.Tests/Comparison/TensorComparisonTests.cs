using AutoKernel.Build.Compare;
using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Tests.Comparison;

/// <summary>The allclose rule behind `run --compare` and every oracle test.</summary>
public sealed class TensorComparisonTests
{
    private static Tensor T(params float[] v) => Tensor.FromFloats([v.Length], v);

    [Fact]
    public void Within_atol_plus_rtol_times_expected_passes_and_beyond_fails()
    {
        var expected = T(100f, 0f, -2f);
        Assert.True(TensorComparison.Compare(T(100.1f, 0.00005f, -2.001f), expected, rtol: 1e-3, atol: 1e-4).Passed);

        var result = TensorComparison.Compare(T(100.2f, 0.0002f, -2f), expected, rtol: 1e-3, atol: 1e-4);
        Assert.False(result.Passed);
        Assert.Equal(2, result.Mismatches);
        Assert.Equal(0.2, result.MaxAbsError, 1e-4);
        Assert.Contains("FAIL (2 of 3", result.ToString());
    }

    [Fact]
    public void Nan_against_a_number_fails_and_equal_specials_pass()
    {
        Assert.False(TensorComparison.Compare(T(float.NaN), T(1f)).Passed);
        Assert.True(TensorComparison.Compare(T(float.NaN, float.PositiveInfinity), T(float.NaN, float.PositiveInfinity)).Passed);
        Assert.False(TensorComparison.Compare(T(float.PositiveInfinity), T(float.NegativeInfinity)).Passed);
    }

    [Fact]
    public void Shapes_must_match()
    {
        var r = TensorComparison.Compare(Tensor.FromFloats([2, 1], [1, 2]), Tensor.FromFloats([2], [1, 2]));
        Assert.False(r.Passed);
        Assert.Contains("shape [2,1] differs from expected [2]", r.ToString());
    }
}
