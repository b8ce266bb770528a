using AutoKernel.Build.Measure;

namespace AutoKernel.Build.Tests.Measure;

/// <summary>
/// The runner's correctness check: |actual − expected| ≤ 1e-3 + 1e-3·|expected|, in double. The
/// bound, 0.001·(1 + |e|) rounded to a double, is in practice never the difference of two floats,
/// so the boundary cases are the two adjacent floats on either side of it (values worked out by
/// hand from the floats' bit patterns; each comment gives diff − bound).
/// </summary>
public sealed class CompareTests
{
    private static string? Compare(float actual, float expected) => RunnerHost.Compare([actual], [expected]);

    [Theory]
    // expected 0: the bound is atol alone, 0.001. The float nearest 0.001 is 1.00000005e-3, 4.7e-11 over.
    [InlineData(0f, 0.0009999999310821295f, true)] // −6.9e-11
    [InlineData(0f, 0.0010000000474974513f, false)] // +4.7e-11
    [InlineData(0f, -0.0009999999310821295f, true)]
    [InlineData(0f, -0.0010000000474974513f, false)]
    // expected 1: bound 0.002; floats near 1 are 1.19e-7 apart.
    [InlineData(1f, 1.0019999742507935f, true)] // −2.6e-8
    [InlineData(1f, 1.002000093460083f, false)] // +9.3e-8
    [InlineData(1f, 0.9980000257492065f, true)] // −2.6e-8
    [InlineData(1f, 0.9979999661445618f, false)] // +3.4e-8
    // expected ±1000: the relative part dominates, bound 1.001; floats near 1000 are 6.1e-5 apart.
    [InlineData(1000f, 1001.0009765625f, true)] // −2.3e-5
    [InlineData(1000f, 1001.0010375976562f, false)] // +3.8e-5
    [InlineData(-1000f, -1001.0009765625f, true)]
    [InlineData(-1000f, -1001.0010375976562f, false)]
    public void The_tolerance_includes_the_last_float_inside_it_and_excludes_the_first_outside(float expected, float actual, bool matches) =>
        Assert.Equal(matches, Compare(actual, expected) is null);

    [Theory]
    [InlineData(float.NaN, 0f)] // an output the kernel never wrote (the runner fills the output with NaN first)
    [InlineData(0f, float.NaN)] // a NaN reference cannot vouch for any output
    [InlineData(float.NaN, float.NaN)]
    [InlineData(float.PositiveInfinity, 0f)]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(float.PositiveInfinity, float.MaxValue)] // overflow is not within a relative tolerance of MaxValue
    [InlineData(0f, float.PositiveInfinity)] // an infinite reference: its bound is infinite, but only the same infinity matches
    [InlineData(float.MaxValue, float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity, float.PositiveInfinity)]
    [InlineData(float.PositiveInfinity, float.NegativeInfinity)]
    public void NaN_and_infinities_are_misses(float actual, float expected) =>
        Assert.NotNull(Compare(actual, expected));

    [Theory]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    [InlineData(float.MaxValue)]
    [InlineData(0f)]
    public void A_value_equal_to_the_reference_matches(float value) =>
        Assert.Null(Compare(value, value));

    [Fact]
    public void The_message_counts_the_misses_and_names_the_worst()
    {
        // Misses at 1 (by 0.5 − 0.0013), 3 (by 2 − 0.003) and 4 (0.0011 against a bound of 0.001:
        // by 1e-4); index 3 is the furthest past its bound.
        float[] expected = [0f, 0.3f, 1f, 1f, 0f];
        float[] actual = [0.0005f, 0.8f, 1.001f, 3f, 0.0011f];
        Assert.Equal(
            "3 of 5 outputs differ from the reference (rtol 0.001, atol 0.001); worst at 3: got 3, expected 1",
            RunnerHost.Compare(actual, expected));
    }

    [Fact]
    public void The_first_NaN_is_the_worst_miss()
    {
        float[] expected = [0f, 0f, 0f, 0f];
        float[] actual = [1e30f, float.NaN, float.PositiveInfinity, float.NaN];
        Assert.Equal(
            "4 of 4 outputs differ from the reference (rtol 0.001, atol 0.001); worst at 1: got NaN, expected 0",
            RunnerHost.Compare(actual, expected));
    }

    [Fact]
    public void Outputs_of_another_length_are_a_miss()
    {
        Assert.Equal("2 outputs, the reference has 3", RunnerHost.Compare([0f, 0f], [0f, 0f, 0f]));
        Assert.Null(RunnerHost.Compare([], []));
    }
}
