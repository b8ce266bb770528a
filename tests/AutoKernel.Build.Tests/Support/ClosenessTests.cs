using AutoKernel.TestSupport;

namespace AutoKernel.Build.Tests.Support;

/// <summary>The shared closeness rule at its boundaries, and what its failure message says.</summary>
public sealed class ClosenessTests
{
    [Fact]
    public void The_bound_is_atol_plus_rtol_times_the_expected_magnitude_inclusive()
    {
        // e = 2 (or -2), atol 0.25, rtol 0.125: allowed |a - e| <= 0.25 + 0.125 * 2 = 0.5, all exact in binary.
        foreach (float e in new[] { 2f, -2f })
        {
            Assert.Null(Closeness.Check([e], [e + 0.5f], atol: 0.25, rtol: 0.125));
            Assert.Null(Closeness.Check([e], [e - 0.5f], atol: 0.25, rtol: 0.125));
            Assert.NotNull(Closeness.Check([e], [MathF.BitIncrement(e + 0.5f)], atol: 0.25, rtol: 0.125));
            Assert.NotNull(Closeness.Check([e], [MathF.BitDecrement(e - 0.5f)], atol: 0.25, rtol: 0.125));
        }
        // The relative part scales with the expected value, not the actual one: e = 0 allows atol only.
        Assert.True(Closeness.IsClose(0, 0.25, atol: 0.25, rtol: 0.5));
        Assert.False(Closeness.IsClose(0, Math.BitIncrement(0.25), atol: 0.25, rtol: 0.5));
        Assert.True(Closeness.IsClose(4, 6, atol: 0, rtol: 0.5));      // |6 - 4| <= 0.5 * 4
        Assert.False(Closeness.IsClose(6, 4, atol: 0, rtol: 0.25));    // |4 - 6| > 0.25 * 6 = 1.5
    }

    [Fact]
    public void Zero_tolerance_is_exact_equality_with_signed_zeros_equal()
    {
        Assert.True(Closeness.IsClose(0.1, 0.1, atol: 0, rtol: 0));
        Assert.True(Closeness.IsClose(-0.0, 0.0, atol: 0, rtol: 0));
        Assert.False(Closeness.IsClose(0.1, Math.BitIncrement(0.1), atol: 0, rtol: 0));
    }

    [Fact]
    public void NaN_equals_NaN_only_when_the_caller_says_so()
    {
        Assert.False(Closeness.IsClose(double.NaN, double.NaN, atol: 1, rtol: 1));
        Assert.True(Closeness.IsClose(double.NaN, double.NaN, atol: 0, rtol: 0, nanEqualsNaN: true));
        foreach (bool nanEqualsNaN in new[] { false, true })
        {
            Assert.False(Closeness.IsClose(double.NaN, 1, atol: 1e300, rtol: 1, nanEqualsNaN));
            Assert.False(Closeness.IsClose(1, double.NaN, atol: 1e300, rtol: 1, nanEqualsNaN));
        }
        Assert.NotNull(Closeness.Check([float.NaN], [float.NaN], atol: 1, rtol: 1));
        Assert.Null(Closeness.Check([float.NaN], [float.NaN], atol: 0, rtol: 0, nanEqualsNaN: true));
    }

    [Fact]
    public void Infinities_are_equal_when_they_have_the_same_sign_and_never_close_to_a_number()
    {
        Assert.True(Closeness.IsClose(double.PositiveInfinity, double.PositiveInfinity, atol: 0, rtol: 0));
        Assert.True(Closeness.IsClose(double.NegativeInfinity, double.NegativeInfinity, atol: 0, rtol: 0));
        Assert.False(Closeness.IsClose(double.PositiveInfinity, double.NegativeInfinity, atol: 1e300, rtol: 1));
        // With an infinite expected value the relative bound is infinite too; the rule still refuses a finite actual.
        Assert.False(Closeness.IsClose(double.PositiveInfinity, double.MaxValue, atol: 0, rtol: 1));
        Assert.False(Closeness.IsClose(double.MaxValue, double.PositiveInfinity, atol: 1e300, rtol: 1));
        Assert.Null(Closeness.Check([float.NegativeInfinity], [float.NegativeInfinity], atol: 0, rtol: 0));
        Assert.NotNull(Closeness.Check([float.PositiveInfinity], [float.MaxValue], atol: 0, rtol: 1));
    }

    [Fact]
    public void The_message_names_the_count_the_first_bad_index_and_both_values()
    {
        string? message = Closeness.Check([0f, 1f, 2f, 3f, 4f], [0f, 1.5f, 2f, 3.25f, 4f], atol: 0.1, rtol: 0, nanEqualsNaN: true, what: "conv 3x3");
        Assert.Equal("conv 3x3: 2 of 5 elements not within |actual - expected| <= 0.1 + 0 * |expected| (NaN equals NaN); first at index 1: expected 1, actual 1.5", message);
        Assert.Equal("expected 2 elements, got 3", Closeness.Check([1.0, 2.0], [1.0, 2.0, 3.0], atol: 1, rtol: 1));
        // Floats are printed as floats (shortest round-trip), not as the doubles they widen to.
        Assert.EndsWith("expected 0.1, actual 0.2", Closeness.Check([0.1f], [0.2f], atol: 0, rtol: 0), StringComparison.Ordinal);
    }

    [Fact]
    public void AssertClose_fails_the_test_with_that_message_and_passes_silently_otherwise()
    {
        Closeness.AssertClose([1f, 2f], [1f, 2.0001f], atol: 1e-3, rtol: 0);
        Closeness.AssertClose([1.0, double.NaN], [1.0, double.NaN], atol: 0, rtol: 0, nanEqualsNaN: true);
        var failure = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Closeness.AssertClose([1.0], [2.0], atol: 0.5, rtol: 0, what: "sum"));
        Assert.Equal("sum: 1 of 1 elements not within |actual - expected| <= 0.5 + 0 * |expected|; first at index 0: expected 1, actual 2", failure.Message);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Closeness.AssertClose([1f], [float.NaN], atol: 1, rtol: 1));
    }

    [Fact]
    public void Negative_or_NaN_tolerances_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Closeness.Check([1f], [1f], atol: -1e-9, rtol: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Closeness.Check([1.0], [1.0], atol: 0, rtol: double.NaN));
    }
}
