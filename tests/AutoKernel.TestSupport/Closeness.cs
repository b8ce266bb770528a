using System.Globalization;
using System.Numerics;

namespace AutoKernel.TestSupport;

/// <summary>
/// The one closeness rule of the test projects. An actual value a is close to an expected value e when
/// <list type="bullet">
/// <item>both are finite and |a - e| &lt;= atol + rtol * |e| (numpy.allclose's rule, and the product's
/// AutoKernel.Build.Compare.TensorComparison), computed in double;</item>
/// <item>either is infinite and a == e (infinities are equal when they have the same sign; an infinity
/// is never close to a finite value, however large the tolerance);</item>
/// <item>both are NaN and the caller passed <c>nanEqualsNaN: true</c> (a NaN is never close to a
/// number; by default an expected NaN fails, so a caller that expects none need not say so).</item>
/// </list>
/// Pass atol and rtol by name: <c>atol: 1e-4, rtol: 1e-4</c>. With atol = rtol = 0 the rule is exact
/// equality (with -0 equal to +0).
/// </summary>
public static class Closeness
{
    /// <summary>Whether <paramref name="actual"/> is close to <paramref name="expected"/> by the rule above.</summary>
    public static bool IsClose(double expected, double actual, double atol, double rtol, bool nanEqualsNaN = false)
    {
        if (double.IsNaN(expected) || double.IsNaN(actual))
            return nanEqualsNaN && double.IsNaN(expected) && double.IsNaN(actual);
        if (double.IsInfinity(expected) || double.IsInfinity(actual))
            return actual == expected;
        return Math.Abs(actual - expected) <= atol + rtol * Math.Abs(expected);
    }

    /// <summary>
    /// Null when the arrays have the same length and every element is close; otherwise a message that
    /// starts with <paramref name="what"/> and names the rule, the count of elements not close, the first
    /// such index and both values there (or the two lengths).
    /// </summary>
    public static string? Check(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol, bool nanEqualsNaN = false, string? what = null) =>
        CheckCore(expected, actual, atol, rtol, nanEqualsNaN, what);

    /// <inheritdoc cref="Check(ReadOnlySpan{float}, ReadOnlySpan{float}, double, double, bool, string?)"/>
    public static string? Check(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double atol, double rtol, bool nanEqualsNaN = false, string? what = null) =>
        CheckCore(expected, actual, atol, rtol, nanEqualsNaN, what);

    /// <summary>Fails the test with <see cref="Check(ReadOnlySpan{float}, ReadOnlySpan{float}, double, double, bool, string?)"/>'s message unless every element is close.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol, bool nanEqualsNaN = false, string? what = null)
    {
        if (Check(expected, actual, atol, rtol, nanEqualsNaN, what) is { } message)
            Xunit.Assert.Fail(message);
    }

    /// <inheritdoc cref="AssertClose(ReadOnlySpan{float}, ReadOnlySpan{float}, double, double, bool, string?)"/>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double atol, double rtol, bool nanEqualsNaN = false, string? what = null)
    {
        if (Check(expected, actual, atol, rtol, nanEqualsNaN, what) is { } message)
            Xunit.Assert.Fail(message);
    }

    private static string? CheckCore<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double atol, double rtol, bool nanEqualsNaN, string? what)
        where T : IBinaryFloatingPointIeee754<T>
    {
        if (!(atol >= 0) || !(rtol >= 0))
            throw new ArgumentOutOfRangeException(nameof(atol), $"tolerances must be non-negative, not atol={atol}, rtol={rtol}");
        string prefix = string.IsNullOrEmpty(what) ? "" : what + ": ";
        if (expected.Length != actual.Length)
            return Invariant($"{prefix}expected {expected.Length} elements, got {actual.Length}");
        int bad = 0, first = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            if (IsClose(double.CreateChecked(expected[i]), double.CreateChecked(actual[i]), atol, rtol, nanEqualsNaN))
                continue;
            if (bad++ == 0)
                first = i;
        }
        if (bad == 0)
            return null;
        return Invariant($"{prefix}{bad} of {expected.Length} elements not within |actual - expected| <= {atol:R} + {rtol:R} * |expected|")
            + (nanEqualsNaN ? " (NaN equals NaN)" : "")
            + Invariant($"; first at index {first}: expected {Format(expected[first])}, actual {Format(actual[first])}");
    }

    private static string Format<T>(T value)
        where T : IFormattable => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
