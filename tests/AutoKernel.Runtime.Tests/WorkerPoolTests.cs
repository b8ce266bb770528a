using AutoKernel.Runtime.Threading;

using AutoKernel.Runtime;

namespace AutoKernel.Runtime.Tests;

public sealed class WorkerPoolTests
{
    /// <summary>Bounds a hang only: every wait below ends as soon as what it waits for happens.</summary>
    private static readonly TimeSpan HangBound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Holds every thread that enters until <paramref name="expected"/> distinct threads have
    /// entered, so a test sees all of a pool's threads take part however loaded the machine is
    /// (a pool that never hands work to a worker leaves the caller waiting: <see cref="TimedOut"/>).
    /// </summary>
    private sealed class AllThreadsMeet(int expected)
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> _ids = new();
        private readonly ManualResetEventSlim _met = new();
        private volatile bool _timedOut;

        public int Distinct => _ids.Count;

        public bool TimedOut => _timedOut;

        public void Enter()
        {
            if (_ids.TryAdd(Environment.CurrentManagedThreadId, true) && _ids.Count >= expected)
                _met.Set();
            if (!_met.Wait(HangBound))
            {
                // Fail, and let the rest of the loop run through instead of waiting again.
                _timedOut = true;
                _met.Set();
            }
        }
    }

    /// <summary>Runs <paramref name="count"/> iterations and returns how often each index ran.</summary>
    private static int[] Hits(WorkerPool pool, int count)
    {
        var hits = new int[count];
        pool.For(count, hits, static (h, i) => Interlocked.Increment(ref h[i]));
        return hits;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    [InlineData(4, 3)]
    [InlineData(4, 1000)]
    public void Every_iteration_runs_exactly_once(int threads, int count)
    {
        using var pool = new WorkerPool(threads);
        for (int round = 0; round < 50; round++)
        {
            Assert.Equal(Enumerable.Repeat(1, count), Hits(pool, count));
            // The delegate overload maps the same indices.
            var seen = new int[count];
            pool.For(count, i => Interlocked.Increment(ref seen[i]));
            Assert.Equal(Enumerable.Repeat(1, count), seen);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void No_iterations_run_for_a_count_below_one(int count)
    {
        using var pool = new WorkerPool(2);
        int calls = 0;
        pool.For(count, i => Interlocked.Increment(ref calls));
        Assert.Equal(0, calls);
    }

    [Fact]
    public void Work_spreads_over_all_the_threads()
    {
        using var pool = new WorkerPool(3);
        var meet = new AllThreadsMeet(3);
        var hits = new int[300];
        pool.For(300, i =>
        {
            meet.Enter();
            Interlocked.Increment(ref hits[i]);
        });
        Assert.False(meet.TimedOut, $"only {meet.Distinct} of 3 threads took part within {HangBound.TotalSeconds} s");
        Assert.Equal(3, meet.Distinct);
        Assert.Equal(Enumerable.Repeat(1, 300), hits);
    }

    [Fact]
    public void The_first_exception_propagates_and_the_pool_keeps_working()
    {
        using var pool = new WorkerPool(2);
        var e = Assert.Throws<InvalidOperationException>(() => pool.For(100, i =>
        {
            if (i == 37)
                throw new InvalidOperationException("boom");
        }));
        Assert.Equal("boom", e.Message);
        Assert.Equal(Enumerable.Repeat(1, 10), Hits(pool, 10));
    }

    [Fact]
    public void Nested_for_runs_inline_instead_of_deadlocking()
    {
        using var pool = new WorkerPool(2);
        var hits = new int[8 * 8];
        var outerThreads = new int[8];
        var innerThreads = new int[8 * 8];
        pool.For(8, i =>
        {
            outerThreads[i] = Environment.CurrentManagedThreadId;
            pool.For(8, j =>
            {
                Interlocked.Increment(ref hits[i * 8 + j]);
                innerThreads[i * 8 + j] = Environment.CurrentManagedThreadId;
            });
        });
        Assert.Equal(Enumerable.Repeat(1, 64), hits);
        // Inline: each inner iteration ran on the thread of its outer iteration.
        for (int k = 0; k < 64; k++)
            Assert.Equal(outerThreads[k / 8], innerThreads[k]);
    }

    [Fact]
    public void Workers_that_went_to_sleep_wake_for_the_next_job()
    {
        using var pool = new WorkerPool(2, spinIterations: 1);
        for (int round = 0; round < 3; round++)
        {
            // Wait (no fixed sleep) until the worker has stopped spinning and blocks.
            Assert.True(SpinWait.SpinUntil(() => pool.SleepingWorkers == 1, HangBound), "the worker never went to sleep");
            var meet = new AllThreadsMeet(2);
            var hits = new int[200];
            pool.For(200, i =>
            {
                meet.Enter();
                Interlocked.Increment(ref hits[i]);
            });
            Assert.False(meet.TimedOut, $"round {round}: the sleeping worker did not wake within {HangBound.TotalSeconds} s");
            Assert.Equal(2, meet.Distinct);
            Assert.Equal(Enumerable.Repeat(1, 200), hits);
        }
    }

    [Fact]
    public void Concurrent_callers_are_serialized()
    {
        // Every iteration takes a ticket from one counter. Serialized calls take disjoint, contiguous
        // ranges of tickets: [first, first + count) for a call of count iterations.
        using var pool = new WorkerPool(2);
        const int Calls = 4 * 100, Count = 50;
        int ticket = -1;
        var tickets = new int[Calls][];
        var hits = new int[Calls][];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, caller =>
        {
            for (int r = 0; r < 100; r++)
            {
                int call = caller * 100 + r;
                var mine = tickets[call] = new int[Count];
                var hit = hits[call] = new int[Count];
                pool.For(Count, i =>
                {
                    mine[i] = Interlocked.Increment(ref ticket);
                    Interlocked.Increment(ref hit[i]);
                    Thread.SpinWait(100);
                });
            }
        });
        Assert.Equal(Calls * Count - 1, ticket);
        for (int call = 0; call < Calls; call++)
        {
            Assert.Equal(Enumerable.Repeat(1, Count), hits[call]);
            int first = tickets[call].Min();
            Assert.True(first % Count == 0 && tickets[call].Max() == first + Count - 1,
                $"call {call} took tickets {first}..{tickets[call].Max()}: its iterations interleaved with another call's");
        }
    }

    [Fact]
    public void After_dispose_for_throws_and_a_second_dispose_does_nothing()
    {
        var pool = new WorkerPool(3, spinIterations: 1);
        Assert.True(SpinWait.SpinUntil(() => pool.SleepingWorkers == 2, HangBound), "the workers never went to sleep");
        // Dispose joins the workers: it returns only once they have woken and ended.
        var disposer = new Thread(pool.Dispose) { IsBackground = true };
        disposer.Start();
        Assert.True(disposer.Join(HangBound), "Dispose did not return: a worker did not end");
        int calls = 0;
        Assert.Throws<ObjectDisposedException>(() => pool.For(10, i => Interlocked.Increment(ref calls)));
        Assert.Throws<ObjectDisposedException>(() => pool.For(1, 0, static (_, _) => { }));
        Assert.Throws<ObjectDisposedException>(() => pool.For(0, i => Interlocked.Increment(ref calls)));
        Assert.Equal(0, calls);
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.For(10, i => Interlocked.Increment(ref calls)));
    }

    /// <summary>
    /// Disposed before its workers have even started: a worker that first runs after Dispose must
    /// still see it and end. (It used to take the generation Dispose had already advanced as its
    /// starting point, wait for a newer one that never came, and hang Dispose's join; a kernel test
    /// that made a pool for one tiny run hung CI that way.)
    /// </summary>
    [Fact]
    public void A_pool_disposed_before_its_workers_start_disposes()
    {
        var disposer = new Thread(() =>
        {
            for (int i = 0; i < 200; i++)
                new WorkerPool(3).Dispose();
        }) { IsBackground = true };
        disposer.Start();
        Assert.True(disposer.Join(HangBound), "Dispose did not return: a worker that started late never ended");
    }

    [Fact]
    public void A_pool_of_one_thread_runs_on_the_caller_and_disposes()
    {
        var pool = new WorkerPool(1);
        int caller = Environment.CurrentManagedThreadId;
        var threads = new int[20];
        pool.For(20, i => threads[i] = Environment.CurrentManagedThreadId);
        Assert.All(threads, t => Assert.Equal(caller, t));
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.For(20, i => { }));
    }
}

/// <summary>
/// For allocates nothing per call in steady state (the job objects are reused), and reuse keeps it
/// correct under concurrent callers, several pools sharing state types, nesting and exceptions.
/// Not run in parallel with other tests: the allocation checks count every thread's allocations.
/// </summary>
[Collection(nameof(WorkerPoolReuseTests))]
[CollectionDefinition(nameof(WorkerPoolReuseTests), DisableParallelization = true)]
public sealed class WorkerPoolReuseTests
{
    private struct Sums
    {
        public long[] Cells;
        public int Scale;
    }

    private sealed class Call
    {
        public int[] Hits = [];
        public volatile bool Returned;
        public int Late;
    }

    /// <summary>The fewest bytes any thread allocated over one round of <paramref name="round"/>, over several rounds.</summary>
    private static long FewestBytesPerRound(Action round)
    {
        round();
        long fewest = long.MaxValue;
        for (int r = 0; r < 7; r++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            round();
            fewest = Math.Min(fewest, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        return fewest;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void For_allocates_nothing_per_call_with_several_threads(int threads)
    {
        using var pool = new WorkerPool(threads);
        var sums = new Sums { Cells = new long[64], Scale = 3 };
        var array = new long[64];
        long bytes = FewestBytesPerRound(() =>
        {
            for (int call = 0; call < 500; call++)
            {
                pool.For(64, sums, static (s, i) => s.Cells[i] += s.Scale);
                pool.For(17, array, static (a, i) => a[i]++);
            }
        });
        Assert.Equal(0, bytes);
        Assert.All(sums.Cells, c => Assert.Equal(3L * 500 * 8, c));
        Assert.All(array.Take(17), c => Assert.Equal(500L * 8, c));
    }

    [Fact]
    public void For_allocates_nothing_after_an_exception_and_the_pool_keeps_working()
    {
        using var pool = new WorkerPool(2);
        var cells = new long[100];
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var e = Assert.Throws<InvalidOperationException>(() => pool.For(100, (cells, attempt), static (s, i) =>
            {
                if (i == 10 + s.attempt)
                    throw new InvalidOperationException("boom " + s.attempt);
            }));
            Assert.Equal("boom " + attempt, e.Message);
        }
        long bytes = FewestBytesPerRound(() =>
        {
            for (int call = 0; call < 300; call++)
                pool.For(100, (cells, 0), static (s, i) => s.cells[i]++);
        });
        Assert.Equal(0, bytes);
        Assert.All(cells, c => Assert.Equal(300L * 8, c));
    }

    [Fact]
    public void Concurrent_callers_on_two_pools_that_share_state_types_run_each_iteration_once_and_never_late()
    {
        using var first = new WorkerPool(2, spinIterations: 50);
        using var second = new WorkerPool(3, spinIterations: 50);
        int failures = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, caller =>
        {
            var random = new Random(caller);
            for (int r = 0; r < 400; r++)
            {
                var pool = random.Next(2) == 0 ? first : second;
                var call = new Call { Hits = new int[1 + random.Next(40)] };
                pool.For(call.Hits.Length, call, static (c, i) =>
                {
                    if (c.Returned)
                        Interlocked.Increment(ref c.Late);
                    Interlocked.Increment(ref c.Hits[i]);
                });
                call.Returned = true;
                if (call.Hits.Any(h => h != 1))
                    Interlocked.Increment(ref failures);
                Thread.SpinWait(random.Next(200));
                if (call.Late != 0 || call.Hits.Any(h => h != 1))
                    Interlocked.Increment(ref failures);
            }
        });
        Assert.Equal(0, failures);
    }

    [Fact]
    public void Nested_for_with_the_same_state_type_on_the_same_and_another_pool_runs_inline()
    {
        using var pool = new WorkerPool(2);
        using var other = new WorkerPool(2);
        var counts = new int[8 * 8];
        var state = (counts, pool, other);
        for (int round = 0; round < 50; round++)
        {
            pool.For(8, state, static (s, i) =>
            {
                var inner = (s.counts, s.pool, s.other);
                (i % 2 == 0 ? s.pool : s.other).For(8, inner, (t, j) => Interlocked.Increment(ref t.counts[i * 8 + j]));
            });
        }
        Assert.All(counts, c => Assert.Equal(50, c));
        // Afterwards the pools still spread work over their threads.
        var ids = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        pool.For(200, ids, static (d, i) =>
        {
            d[Environment.CurrentManagedThreadId] = true;
            Thread.SpinWait(20_000);
        });
        Assert.Equal(2, ids.Count);
    }

    [Fact]
    public void An_exception_thrown_by_a_nested_for_reaches_the_outer_caller()
    {
        using var pool = new WorkerPool(2);
        var e = Assert.Throws<ArithmeticException>(() => pool.For(16, pool, static (p, i) =>
            p.For(4, i, static (outer, j) =>
            {
                if (outer == 9 && j == 2)
                    throw new ArithmeticException("inner");
            })));
        Assert.Equal("inner", e.Message);
        int sum = 0;
        pool.For(10, i => Interlocked.Add(ref sum, i));
        Assert.Equal(45, sum);
    }
}

public sealed class LayoutTests
{
    [Theory]
    [InlineData(1, 3, 2, 2, 4)]
    [InlineData(2, 17, 3, 5, 16)]
    [InlineData(1, 32, 1, 1, 16)]
    public void Blocked_layout_round_trips_and_zero_pads(int n, int c, int h, int w, int block)
    {
        var src = Enumerable.Range(1, n * c * h * w).Select(i => (float)i).ToArray();
        var blocked = new float[Kernels.Layouts.BlockedLength(n, c, h, w, block)];
        Array.Fill(blocked, float.NaN);
        Kernels.Layouts.NchwToBlocked(src, blocked, n, c, h, w, block);
        // Element (b, ch, y, x) lands at ((b * blocks + ch / block) * h * w + y * w + x) * block + ch % block.
        int blocks = (c + block - 1) / block;
        Assert.Equal(src[(0 * c + (c - 1)) * h * w + (h * w - 1)], blocked[((blocks - 1) * h * w + h * w - 1) * block + (c - 1) % block]);
        Assert.DoesNotContain(blocked, float.IsNaN);
        Assert.Equal(blocked.Length - src.Length, blocked.Count(v => v == 0));
        var back = new float[src.Length];
        Kernels.Layouts.BlockedToNchw(blocked, back, n, c, h, w, block);
        Assert.Equal(src, back);
    }
}
