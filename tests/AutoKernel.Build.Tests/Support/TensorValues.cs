using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Tests.Support;

/// <summary>Tensor contents in the forms the shared closeness rule (AutoKernel.TestSupport.Closeness) takes.</summary>
public static class TensorValues
{
    /// <summary>Every element as a double: exact for every float type and for integers up to 2^53.</summary>
    public static double[] Doubles(Tensor t) => [.. Enumerable.Range(0, t.Length).Select(t.GetDouble)];
}
