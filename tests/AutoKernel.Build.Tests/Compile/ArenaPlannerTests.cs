using AutoKernel.Build.Compile;

namespace AutoKernel.Build.Tests.Compile;

public sealed class ArenaPlannerTests
{
    private static List<ArenaRequest> RandomRequests(Random random, int count, int steps)
    {
        var requests = new List<ArenaRequest>();
        for (int id = 0; id < count; id++)
        {
            int first = random.Next(steps);
            int last = first + (random.Next(4) == 0 ? random.Next(steps - first) : random.Next(Math.Min(3, steps - first)));
            long floats = random.Next(6) switch
            {
                0 => 0,
                1 => random.Next(1, 17),
                2 => 16 * random.Next(1, 9),
                3 => random.Next(1, 100_000),
                _ => random.Next(1, 2_000),
            };
            requests.Add(new ArenaRequest(id * 3 + 1, floats, first, last));
        }
        return requests;
    }

    /// <summary>Property: random lifetimes and sizes never give two live buffers overlapping memory; every offset is 64-byte aligned and inside the arena.</summary>
    [Fact]
    public void Buffers_live_at_the_same_time_never_overlap_and_offsets_are_aligned()
    {
        var random = new Random(20261201);
        for (int trial = 0; trial < 400; trial++)
        {
            var requests = RandomRequests(random, random.Next(1, 60), random.Next(1, 40));
            var (offsets, arena) = ArenaPlanner.Plan(requests);
            Assert.Equal(requests.Count, offsets.Count);
            long peak = 0;
            foreach (var r in requests)
            {
                long offset = offsets[r.Id];
                Assert.True(offset >= 0 && offset % ArenaPlanner.AlignFloats == 0, $"trial {trial}: buffer {r.Id} at {offset}");
                Assert.True(offset + r.Floats <= arena, $"trial {trial}: buffer {r.Id} ends at {offset + r.Floats}, past the arena ({arena})");
            }
            for (int i = 0; i < requests.Count; i++)
            {
                for (int j = i + 1; j < requests.Count; j++)
                {
                    var (a, b) = (requests[i], requests[j]);
                    bool live = a.FirstStep <= b.LastStep && b.FirstStep <= a.LastStep;
                    if (!live || a.Floats == 0 || b.Floats == 0)
                        continue;
                    long a0 = offsets[a.Id], b0 = offsets[b.Id];
                    Assert.True(a0 + a.Floats <= b0 || b0 + b.Floats <= a0,
                        $"trial {trial}: buffers {a.Id} [{a0}, {a0 + a.Floats}) steps {a.FirstStep}-{a.LastStep} and {b.Id} [{b0}, {b0 + b.Floats}) steps {b.FirstStep}-{b.LastStep} overlap");
                }
            }
            // Never worse than no reuse at all, never better than the most memory live at one step.
            Assert.True(arena <= requests.Sum(r => ArenaPlanner.Align(r.Floats)));
            for (int step = 0; step < 40; step++)
                peak = Math.Max(peak, requests.Where(r => r.FirstStep <= step && step <= r.LastStep).Sum(r => ArenaPlanner.Align(r.Floats)));
            Assert.True(arena >= peak);
        }
    }

    [Fact]
    public void The_plan_is_deterministic_whatever_the_order_of_the_requests()
    {
        var random = new Random(7);
        var requests = RandomRequests(random, 50, 30);
        var (offsets, arena) = ArenaPlanner.Plan(requests);
        var shuffled = requests.OrderBy(_ => random.Next()).ToList();
        var (again, arena2) = ArenaPlanner.Plan(shuffled);
        Assert.Equal(arena, arena2);
        Assert.All(requests, r => Assert.Equal(offsets[r.Id], again[r.Id]));
    }

    [Fact]
    public void Buffers_with_disjoint_lifetimes_share_memory_and_a_gap_between_two_buffers_is_used()
    {
        var (offsets, arena) = ArenaPlanner.Plan([new(0, 100, 0, 1), new(1, 100, 2, 3)]);
        Assert.Equal(offsets[0], offsets[1]);
        Assert.Equal(112, arena);
        // 0 and 2 live throughout; 1 lives early, 3 late: 3 reuses the place of 1, and 2 goes above both.
        var (o, _) = ArenaPlanner.Plan([new(0, 64, 0, 9), new(1, 48, 0, 1), new(2, 32, 0, 9), new(3, 40, 5, 6)]);
        Assert.Equal(0, o[0]);
        Assert.Equal(64, o[1]);
        Assert.Equal(112, o[2]);
        Assert.Equal(64, o[3]);
    }
}
