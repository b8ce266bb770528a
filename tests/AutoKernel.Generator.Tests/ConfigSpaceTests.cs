using AutoKernel.Generator.Schedules;

namespace AutoKernel.Generator.Tests;

public sealed class ConfigSpaceTests
{
    [Fact]
    public void Split_lists_every_ordered_factorization()
    {
        var knob = Knob.Split("tile", 12, 2);
        Assert.Equal(["[1, 12]", "[2, 6]", "[3, 4]", "[4, 3]", "[6, 2]", "[12, 1]"], Enumerable.Range(0, knob.Count).Select(knob.Describe));
        var three = Knob.Split("tile", 8, 3);
        Assert.Equal(10, three.Count); // compositions of 2^3 into three ordered power-of-two factors
        Assert.All(Enumerable.Range(0, three.Count), i => Assert.Equal(8, three[i][0] * three[i][1] * three[i][2]));
        var vectorInner = Knob.Split("oc", 64, 2, inner => inner % 16 == 0);
        Assert.Equal(["[1, 64]", "[2, 32]", "[4, 16]"], Enumerable.Range(0, vectorInner.Count).Select(vectorInner.Describe));
    }

    [Fact]
    public void Index_round_trips_and_is_mixed_radix()
    {
        var space = new ConfigSpace("t", [Knob.Split("a", 6, 2), Knob.Choice("b", KnobKind.Annotate, 0, 1, 2), Knob.Reorder("c", [0, 1], [1, 0])]);
        Assert.Equal(4 * 3 * 2, space.Size);
        for (long i = 0; i < space.Size; i++)
        {
            var c = space.Decode(i);
            Assert.Equal(i, c.Index);
            Assert.Equal(i, space.Encode(c.Choices));
        }
        var point = space.Decode(1 + 4 * 2 + 12 * 1);
        Assert.Equal([2, 3], point["a"]);
        Assert.Equal(2, point.Value("b"));
        Assert.Equal([1, 0], point["c"]);
        Assert.Equal("a=[2, 3] b=2 c=[1, 0]", point.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => space.Decode(space.Size));
    }

    [Fact]
    public void Constraints_filter_valid_points()
    {
        var space = new ConfigSpace(
            "t",
            [Knob.Split("m", 8, 2), Knob.Split("n", 8, 2)],
            [c => c["m"][1] * c["n"][1] <= 8]);
        var valid = space.EnumerateValid().ToList();
        Assert.All(valid, c => Assert.True(c["m"][1] * c["n"][1] <= 8));
        Assert.Equal(10, valid.Count); // pairs of powers of two (2^a, 2^b), a,b in 0..3, with a + b <= 3
        Assert.False(space.IsValid(space.FromChoices([0, 0]))); // inner factors 8 x 8
    }
}
