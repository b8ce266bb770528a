using AutoKernel.TestSupport;

namespace AutoKernel.Build.Tests.Support;

/// <summary>The shared seeded random arrays: their documented draw, their range and their order.</summary>
public sealed class TestDataTests
{
    [Fact]
    public void Element_i_is_the_ith_draw_scaled_to_minus_one_one()
    {
        // The documented definition, written out: (float)(NextDouble() * 2 - 1) for each draw in order.
        var random = new Random(42);
        var expected = new float[64];
        for (int i = 0; i < expected.Length; i++)
            expected[i] = (float)(random.NextDouble() * 2 - 1);
        Assert.Equal(expected, TestData.RandomFloats(42, 64));
        Assert.Equal(expected, TestData.RandomFloats(new Random(42), 64));
    }

    [Fact]
    public void Values_cover_minus_one_to_one_and_stay_inside()
    {
        var values = TestData.RandomFloats(7, 10_000);
        Assert.All(values, v => Assert.True(v >= -1f && v < 1f, $"{v}"));
        Assert.True(values.Min() < -0.99f && values.Max() > 0.99f, $"range [{values.Min()}, {values.Max()}]");
        Assert.NotEqual(values, TestData.RandomFloats(8, 10_000));
    }

    [Fact]
    public void Arrays_from_one_generator_continue_its_sequence()
    {
        var random = new Random(3);
        float[] first = TestData.RandomFloats(random, 5), second = TestData.RandomFloats(random, 7);
        Assert.Equal(TestData.RandomFloats(3, 12), first.Concat(second).ToArray());
        Assert.Empty(TestData.RandomFloats(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TestData.RandomFloats(3, -1));
    }
}
