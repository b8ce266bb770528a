namespace AutoKernel.Build.Zoo;

/// <summary>
/// Fast deterministic random numbers for synthetic weights. The state of a xoshiro256**
/// generator is drawn from <see cref="Random"/>(seed), so the same seed gives the same weights on
/// every run and platform; filling 138 million VGG16 weights takes well under a second.
/// </summary>
internal sealed class WeightRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public WeightRandom(int seed)
    {
        var random = new Random(seed);
        do
        {
            _s0 = (ulong)random.NextInt64();
            _s1 = (ulong)random.NextInt64();
            _s2 = (ulong)random.NextInt64();
            _s3 = (ulong)random.NextInt64();
        }
        while ((_s0 | _s1 | _s2 | _s3) == 0);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A float uniform in [0, 1).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Fills <paramref name="values"/> uniformly from [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public void FillUniform(Span<float> values, float low, float high)
    {
        float scale = (high - low) * (1.0f / (1 << 24));
        for (int i = 0; i < values.Length; i++)
            values[i] = low + (NextUInt64() >> 40) * scale;
    }
}
