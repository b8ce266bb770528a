namespace AutoKernel.TestSupport;

/// <summary>Seeded pseudo-random test inputs: the same seed gives the same values on every machine and run.</summary>
public static class TestData
{
    /// <summary>
    /// <paramref name="length"/> floats uniform in [-1, 1), drawn from <paramref name="random"/> in
    /// order: element i is (float)(NextDouble() * 2 - 1) of the i-th draw. Callers that fill several
    /// arrays from one generator get a sequence that depends only on its seed and the call order.
    /// </summary>
    public static float[] RandomFloats(Random random, int length)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary><see cref="RandomFloats(Random, int)"/> from a fresh <c>new Random(seed)</c>.</summary>
    public static float[] RandomFloats(int seed, int length) => RandomFloats(new Random(seed), length);
}
