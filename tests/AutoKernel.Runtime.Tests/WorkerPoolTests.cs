using AutoKernel.Runtime.Threading;

using AutoKernel.Runtime;

namespace AutoKernel.Runtime.Tests;

public sealed class WorkerPoolTests
{
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
            var hits = new int[count];
            pool.For(count, hits, static (h, i) => Interlocked.Increment(ref h[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void Work_spreads_over_the_threads()
    {
        using var pool = new WorkerPool(3);
        var threadIds = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        pool.For(300, i =>
        {
            threadIds[Environment.CurrentManagedThreadId] = true;
            Thread.SpinWait(20_000);
        });
        Assert.True(threadIds.Count >= 2, $"ran on {threadIds.Count} thread(s)");
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
        int sum = 0;
        pool.For(10, i => Interlocked.Add(ref sum, i));
        Assert.Equal(45, sum);
    }

    [Fact]
    public void Nested_for_runs_inline_instead_of_deadlocking()
    {
        using var pool = new WorkerPool(2);
        int total = 0;
        pool.For(8, i => pool.For(8, j => Interlocked.Increment(ref total)));
        Assert.Equal(64, total);
    }

    [Fact]
    public void Workers_that_went_to_sleep_wake_for_the_next_job()
    {
        using var pool = new WorkerPool(2, spinIterations: 1);
        Thread.Sleep(50); // long enough for the worker to block
        var ids = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        pool.For(200, i =>
        {
            ids[Environment.CurrentManagedThreadId] = true;
            Thread.SpinWait(50_000);
        });
        Assert.Equal(2, ids.Count);
    }

    [Fact]
    public void Concurrent_callers_are_serialized()
    {
        using var pool = new WorkerPool(2);
        long sum = 0;
        Parallel.For(0, 4, _ =>
        {
            for (int r = 0; r < 100; r++)
                pool.For(50, i => Interlocked.Add(ref sum, i));
        });
        Assert.Equal(4L * 100 * (49 * 50 / 2), sum);
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
