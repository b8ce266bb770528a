using System.Security.Cryptography;
using AutoKernel.Runtime.Models;

namespace AutoKernel.Runtime.Tests;

[Collection(nameof(SharedWeights))]
public sealed class ModelWeightsReviewTests
{
    private static (byte[] File, string Sha, long Bytes) Weights(int floats, float value)
    {
        var payload = new byte[floats * 4];
        for (int i = 0; i < floats; i++)
            BitConverter.TryWriteBytes(payload.AsSpan(i * 4), value + i);
        var file = WeightsFile.Header(payload.Length, SHA256.HashData(payload)).Concat(payload).ToArray();
        return (file, WeightsFile.Sha256(payload), payload.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(63)]
    public void A_file_shorter_than_the_header_is_invalid_data(int length)
    {
        var options = new ModelOptions { WeightsStream = new MemoryStream(new byte[length]) };
        var e = Assert.Throws<InvalidDataException>(() => ModelWeights.Acquire(typeof(ModelWeightsReviewTests).Assembly, "none", new string('c', 64), 16, options, "Test"));
        Assert.Contains("header", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_payload_is_invalid_data_and_nothing_stays_loaded()
    {
        var (file, sha, bytes) = Weights(64, 1);
        int before = ModelWeights.LoadedCount;
        var options = new ModelOptions { WeightsStream = new MemoryStream(file[..^8]) };
        Assert.Throws<InvalidDataException>(() => ModelWeights.Acquire(typeof(ModelWeightsReviewTests).Assembly, "none", sha, bytes, options, "Test"));
        Assert.Equal(before, ModelWeights.LoadedCount);
    }

    /// <summary>Instances acquiring and disposing on many threads: the weights stay loaded while any holds them and are freed with the last.</summary>
    [Fact]
    public unsafe void References_counted_across_threads_free_the_weights_with_the_last_instance()
    {
        var (file, sha, bytes) = Weights(256, 3);
        var first = ModelWeights.Acquire(typeof(ModelWeightsReviewTests).Assembly, "none", sha, bytes, new ModelOptions { WeightsStream = new MemoryStream(file) }, "Test");
        var errors = new List<string>();
        Parallel.For(0, 8, _ =>
        {
            for (int i = 0; i < 2000; i++)
            {
                var w = ModelWeights.Acquire(typeof(ModelWeightsReviewTests).Assembly, "none", sha, bytes, ModelOptions.Default, "Test");
                if (w.Floats[5] != 8)
                {
                    lock (errors)
                        errors.Add($"read {w.Floats[5]}");
                }
                w.Dispose();
                w.Dispose(); // twice: the second is a no-op, not a second release
            }
        });
        Assert.Empty(errors);
        Assert.Equal(8, first.Floats[5]);
        first.Dispose();
        Assert.Throws<ObjectDisposedException>(() => (nint)first.Floats);
        // Released: the next acquire must read a stream again (the default options have none and no resource).
        Assert.Throws<InvalidOperationException>(() => ModelWeights.Acquire(typeof(ModelWeightsReviewTests).Assembly, "none", sha, bytes, ModelOptions.Default, "Test"));
    }

    /// <summary>Dispose from several threads at once frees the memory once (a double free aborts the process).</summary>
    [Fact]
    public unsafe void A_native_buffer_disposed_on_several_threads_at_once_is_freed_once()
    {
        for (int round = 0; round < 2000; round++)
        {
            var buffer = new NativeBuffer(256);
            buffer.Floats[3] = 1;
            using var start = new Barrier(4);
            var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                start.SignalAndWait();
                buffer.Dispose();
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.Throws<ObjectDisposedException>(() => (nint)buffer.Floats);
        }
    }
}

public sealed class ModelOptionsReviewTests
{
    [Fact]
    public void A_negative_thread_count_is_refused_not_replaced_by_the_tuned_count()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelOptions { Threads = -1 });
        Assert.Equal(0, new ModelOptions().Threads);
        Assert.Equal(3, new ModelOptions { Threads = 3 }.Threads);
    }
}
