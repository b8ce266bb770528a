namespace AutoKernel.Build.Compare;

using AutoKernel.Build.Graph;

/// <summary>Element-wise closeness as numpy.allclose defines it: |a - e| &lt;= atol + rtol * |e|.</summary>
public sealed record ComparisonResult(double MaxAbsError, double MaxRelError, int Mismatches, int Count, string? ShapeError)
{
    public bool Passed => ShapeError is null && Mismatches == 0;

    public override string ToString() => ShapeError ?? FormattableString.Invariant(
        $"max abs err {MaxAbsError:E2}  max rel err {MaxRelError:E2}  {(Passed ? "ok" : $"FAIL ({Mismatches} of {Count} elements beyond tolerance)")}");
}

public static class TensorComparison
{
    public const double DefaultRtol = 1e-3;
    public const double DefaultAtol = 1e-4;

    public static ComparisonResult Compare(Tensor actual, Tensor expected, double rtol = DefaultRtol, double atol = DefaultAtol)
    {
        if (actual.Type != expected.Type)
            return new(double.NaN, double.NaN, actual.Length, actual.Length, $"type {actual.Type.Name()} differs from expected {expected.Type.Name()}");
        if (!ShapeMath.SameShape(actual.Shape, expected.Shape))
            return new(double.NaN, double.NaN, actual.Length, actual.Length, $"shape {ShapeMath.Format(actual.Shape)} differs from expected {ShapeMath.Format(expected.Shape)}");
        if (!actual.Type.IsFloatingPoint())
            return CompareIntegers(actual, expected);
        double maxAbs = 0, maxRel = 0;
        int mismatches = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual.GetDouble(i);
            double e = expected.GetDouble(i);
            if (double.IsNaN(a) && double.IsNaN(e) || a == e)
                continue; // equal infinities and NaNs agree
            double abs = Math.Abs(a - e);
            // Unequal values where either side is NaN or infinite never agree (an infinite expected
            // value would otherwise make the relative tolerance infinite too).
            if (double.IsNaN(abs) || !double.IsFinite(a) || !double.IsFinite(e))
                abs = double.PositiveInfinity;
            double rel = abs / Math.Max(Math.Abs(e), double.Epsilon);
            maxAbs = Math.Max(maxAbs, abs);
            maxRel = Math.Max(maxRel, rel);
            if (double.IsPositiveInfinity(abs) || !(abs <= atol + rtol * Math.Abs(e)))
                mismatches++;
        }
        return new(maxAbs, maxRel, mismatches, actual.Length, null);
    }

    /// <summary>
    /// Integers and bools must be equal, compared as int64 (through double, int64 values past 2^53
    /// that differ by one would compare equal); the errors are reported as doubles.
    /// </summary>
    private static ComparisonResult CompareIntegers(Tensor actual, Tensor expected)
    {
        double maxAbs = 0, maxRel = 0;
        int mismatches = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            long a = actual.GetInt64(i), e = expected.GetInt64(i);
            if (a == e)
                continue;
            mismatches++;
            double abs = Math.Abs((double)a - e);
            maxAbs = Math.Max(maxAbs, abs);
            maxRel = Math.Max(maxRel, abs / Math.Max(Math.Abs((double)e), double.Epsilon));
        }
        return new(maxAbs, maxRel, mismatches, actual.Length, null);
    }
}
