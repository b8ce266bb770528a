using AutoKernel.Build.Tuning;
using AutoKernel.Generator.Schedules;
using static AutoKernel.Build.Tests.Tuning.SyntheticSpaces;

namespace AutoKernel.Build.Tests.Tuning;

/// <summary>
/// <see cref="TaskSpace"/> and <see cref="SpaceSearch"/>: sampling across templates and within a
/// space, one-knob neighbours, and spaces without a valid point. Random draws use fixed seeds;
/// the statistical bounds are several standard deviations wide.
/// </summary>
public sealed class TaskSpaceTests
{
    [Fact]
    public void SamplingPicksATemplateUniformlyWhateverTheSizesOfTheirSpaces()
    {
        // 3 points against 1000: a template-uniform draw lands in the small space half of the
        // time, a size-proportional one 3/1003 of the time (about 12 of 4000 draws).
        var space = new TaskSpace([Grid("small", 1, 3), Grid("large", 3, 10)]);
        var random = new Random(7);
        var counts = new int[3];
        int small = 0;
        const int Draws = 4000;
        for (int i = 0; i < Draws; i++)
        {
            var point = space.Sample(random)!;
            if (point.Space == 0)
            {
                small++;
                counts[point.Index]++;
            }
        }
        // Binomial(4000, 1/2): mean 2000, standard deviation 31.6; the bound is ±6.3 of them.
        Assert.InRange(small, 1800, 2200);
        // Within the small space each of the 3 points has 1/3: mean about 667, deviation about 21.
        Assert.All(counts, c => Assert.InRange(c, 550, 785));
    }

    [Fact]
    public void WithinASpaceSamplingIsUniformOverTheValidPointsAndNeverReturnsAnInvalidOne()
    {
        // 3 x 3 choices, valid when the two differ: 6 valid points, 3 invalid (the diagonal).
        var space = Grid("g", 2, 3, c => c.Choices[0] != c.Choices[1]);
        var random = new Random(11);
        var counts = new Dictionary<(int, int), int>();
        for (int i = 0; i < 6000; i++)
        {
            var c = space.Sample(random)!;
            var key = (c.Choices[0], c.Choices[1]);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        Assert.Equal([(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)], counts.Keys.Order());
        // Each has 1/6 of 6000: mean 1000, standard deviation 28.9.
        Assert.All(counts.Values, c => Assert.InRange(c, 850, 1150));
    }

    [Fact]
    public void ATemplateWithoutAValidPointIsNeverDrawnAndDoesNotHideTheOthers()
    {
        // Drawing the dead template first used to cost one of a few attempts; after enough of them
        // sampling gave up although the other template has valid points.
        var space = new TaskSpace([Grid("dead", 2, 3, _ => false), Grid("alive", 2, 3)]);
        var random = new Random(3);
        for (int i = 0; i < 300; i++)
        {
            var point = space.Sample(random);
            Assert.NotNull(point);
            Assert.Equal(1, point.Space);
        }
    }

    [Fact]
    public void ASpaceWithoutAnyValidPointSamplesNothingAndHasNoNeighbours()
    {
        var space = new TaskSpace([Grid("dead", 2, 3, _ => false), Grid("dead too", 3, 2, _ => false)]);
        var random = new Random(5);
        Assert.Null(space.Sample(random));
        Assert.Null(space.Spaces[0].Sample(random, attempts: 50));
        Assert.Equal(0, space.CountValid());
        Assert.Equal(9 + 8, space.Size);
        // Even from a (decoded, invalid) point: every one-knob move is invalid too.
        Assert.Null(space.Neighbour(new Point(1, space.Spaces[1].Decode(0)), random));
    }

    [Fact]
    public void ANeighbourDiffersInExactlyOneKnobOfTheSameTemplateAndEveryValidOneIsReached()
    {
        // Knobs of 4, 3 and 1 choices; valid when the first two choices differ. Both templates
        // have this structure, so a neighbour in the wrong template would look like a fine point.
        static bool Valid(Config c) => c.Choices[0] != c.Choices[1];
        ConfigSpace Make(string name) =>
            new(name, [Knob.Choice("a", KnobKind.Other, 0, 1, 2, 3), Knob.Choice("b", KnobKind.Other, 0, 1, 2), Knob.Choice("c", KnobKind.Other, 5)], [Valid]);
        var space = new TaskSpace([Make("first"), Make("second")]);
        var from = new Point(1, space.Spaces[1].FromChoices([0, 1, 0]));
        // By hand, from (0, 1, 0): knob a to 1 gives (1, 1, 0), invalid; to 2 or 3 gives (2, 1, 0)
        // and (3, 1, 0). Knob b to 0 gives (0, 0, 0), invalid; to 2 gives (0, 2, 0). Knob c has
        // one choice and cannot move.
        (int, int, int)[] expected = [(0, 2, 0), (2, 1, 0), (3, 1, 0)];
        var random = new Random(9);
        var reached = new HashSet<(int, int, int)>();
        for (int i = 0; i < 500; i++)
        {
            var n = space.Neighbour(from, random)!;
            Assert.Equal(1, n.Space);
            Assert.True(space.Spaces[1].IsValid(n.Config), n.ToString());
            reached.Add((n.Config.Choices[0], n.Config.Choices[1], n.Config.Choices[2]));
        }
        Assert.Equal(expected, reached.Order());
    }

    [Fact]
    public void APointWithNoValidOneKnobMoveHasNoNeighbour()
    {
        // Valid only on the diagonal: from (0, 0) one knob's move gives (1, 0) or (0, 1), both invalid.
        var diagonal = Grid("diagonal", 2, 2, c => c.Choices[0] == c.Choices[1]);
        Assert.Null(diagonal.Neighbour(diagonal.FromChoices([0, 0]), new Random(1)));
        // Knobs of one choice each: nothing can move.
        var fixedSpace = Grid("fixed", 3, 1);
        Assert.Null(fixedSpace.Neighbour(fixedSpace.Decode(0), new Random(1)));
    }

    [Fact]
    public void FindNamesAPointOnlyForAKnownTemplateAndAnIndexInRange()
    {
        var space = new TaskSpace([Grid("a", 2, 3), Grid("b", 1, 4)]);
        // Index 5 of "a": first knob least significant, 5 = 2 + 1 * 3, so choices (2, 1).
        var point = space.Find("a", 5)!;
        Assert.Equal(0, point.Space);
        Assert.Equal([2, 1], point.Config.Choices);
        Assert.Equal(1, space.Find("b", 3)!.Space);
        Assert.Null(space.Find("a", 9));
        Assert.Null(space.Find("a", -1));
        Assert.Null(space.Find("b", 4));
        Assert.Null(space.Find("c", 0));
    }
}
