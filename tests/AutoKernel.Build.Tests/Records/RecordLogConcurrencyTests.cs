using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tests.Support;

namespace AutoKernel.Build.Tests.Records;

/// <summary>
/// Many writers appending to one log at once, from threads of this process and from separate
/// processes (tests/AutoKernel.RecordsStress). Every record must come back exactly once, with each
/// batch's lines contiguous and in order, and no line may be damaged.
/// </summary>
public sealed class RecordLogConcurrencyTests
{
    private static TuningRecord Stress(int writer, int batch, int item, int batchSize) => new()
    {
        Target = "stress target",
        Threads = 1,
        WorkloadKey = $"writer-{writer}",
        Template = "stress",
        ConfigIndex = (long)batch * batchSize + item,
        Knobs = new Dictionary<string, int[]> { ["writer"] = [writer], ["batch"] = [batch], ["item"] = [item], ["padding"] = [.. Enumerable.Repeat(writer, 2000)] },
        Costs = [1e-3 * (writer + 1), 1e-3 * (batch + 1)],
        Error = MeasureError.None,
        Message = string.Concat(Enumerable.Repeat($"writer {writer} was here; ", 20)),
        TrialSeconds = 0.25,
        Timestamp = DateTimeOffset.UtcNow,
        ToolVersion = TuningRecord.CurrentToolVersion,
    };

    /// <summary>Checks the log written by <paramref name="writers"/> writers of <paramref name="batches"/> batches each.</summary>
    private static void AssertIntact(string path, int writers, int batches, int batchSize)
    {
        var log = RecordLog.Load(path);
        Assert.Empty(log.Warnings);
        Assert.Equal(writers * batches * batchSize, log.Records.Count);

        var seen = new HashSet<(int Writer, int Batch, int Item)>();
        var nextBatch = new int[writers];
        for (int start = 0; start < log.Records.Count; start += batchSize)
        {
            // A batch is batchSize consecutive lines of one writer, items in order, batches of a writer in order.
            int writer = log.Records[start].Knobs["writer"][0];
            int batch = log.Records[start].Knobs["batch"][0];
            Assert.InRange(writer, 0, writers - 1);
            Assert.Equal(nextBatch[writer]++, batch);
            for (int item = 0; item < batchSize; item++)
            {
                var r = log.Records[start + item];
                Assert.Equal(writer, r.Knobs["writer"][0]);
                Assert.Equal(batch, r.Knobs["batch"][0]);
                Assert.Equal(item, r.Knobs["item"][0]);
                Assert.Equal($"writer-{writer}", r.WorkloadKey);
                Assert.Equal((long)batch * batchSize + item, r.ConfigIndex);
                // 19 characters 20 times, less the trailing blank the record trims: 379.
                Assert.Equal(string.Concat(Enumerable.Repeat($"writer {writer} was here; ", 20)).TrimEnd(), r.Message);
                Assert.Equal(2000, r.Knobs["padding"].Length);
                Assert.True(r.Knobs["padding"].All(v => v == writer), "padding damaged");
                Assert.True(seen.Add((writer, batch, item)));
            }
        }
        Assert.All(nextBatch, n => Assert.Equal(batches, n));
        Assert.EndsWith("\n", File.ReadAllText(path));
    }

    [Fact]
    public void ThreadsAppendingToOneLogNeverInterleave()
    {
        const int writers = 8, batches = 40, batchSize = 5;
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        using var start = new Barrier(writers);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                for (int b = 0; b < batches; b++)
                    RecordLog.Append(path, [.. Enumerable.Range(0, batchSize).Select(i => Stress(w, b, i, batchSize))]);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToList();
        foreach (var t in threads)
            t.Start();
        foreach (var t in threads)
            t.Join();
        Assert.Empty(failures);
        AssertIntact(path, writers, batches, batchSize);
    }

    [Fact]
    public Task ProcessesAppendingToOneLogNeverInterleave() => ProcessesAppend(disableFileLocking: false);

    /// <summary>
    /// With .NET's file locking switched off (DOTNET_SYSTEM_IO_DISABLEFILELOCKING=1 in every child,
    /// which each child checks) the FileShare.None open of the lock file excludes nobody, and only
    /// the byte-range lock of <see cref="LogLock"/> keeps the writers apart. Linux and Windows only:
    /// elsewhere LogLock takes no byte-range lock.
    /// </summary>
    [Fact]
    public Task ProcessesAppendingWithFileLockingSwitchedOffNeverInterleave()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsWindows(), "LogLock takes a byte-range lock on Linux and Windows only");
        return ProcessesAppend(disableFileLocking: true);
    }

    private static async Task ProcessesAppend(bool disableFileLocking)
    {
        const int writers = 6, batches = 30, batchSize = 10;
        string helper = Path.Combine(AppContext.BaseDirectory, "AutoKernel.RecordsStress.dll");
        Assert.True(File.Exists(helper), $"{helper} is missing: the test project should reference tests/AutoKernel.RecordsStress");

        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        string go = dir.File("go");
        var children = new List<Process>();
        var output = new List<(Task<string> Out, Task<string> Error)>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            for (int w = 0; w < writers; w++)
            {
                var info = new ProcessStartInfo(DotnetHost())
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                foreach (string a in new[] { helper, path, w.ToString(CultureInfo.InvariantCulture), batches.ToString(CultureInfo.InvariantCulture), batchSize.ToString(CultureInfo.InvariantCulture), go })
                    info.ArgumentList.Add(a);
                if (disableFileLocking)
                {
                    info.Environment["DOTNET_SYSTEM_IO_DISABLEFILELOCKING"] = "1";
                    info.ArgumentList.Add("--expect-file-locking-off");
                }
                var child = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + info.FileName);
                children.Add(child);
                output.Add((child.StandardOutput.ReadToEndAsync(timeout.Token), child.StandardError.ReadToEndAsync(timeout.Token)));
            }
            // All writers are running (or starting); let them go at once.
            File.WriteAllText(go, "");
            for (int w = 0; w < writers; w++)
            {
                await children[w].WaitForExitAsync(timeout.Token);
                Assert.True(children[w].ExitCode == 0, $"writer {w} exited with {children[w].ExitCode}: {await output[w].Out} {await output[w].Error}");
            }
        }
        finally
        {
            foreach (var child in children)
            {
                if (!child.HasExited)
                    child.Kill();
                child.Dispose();
            }
        }
        AssertIntact(path, writers, batches, batchSize);
    }

    /// <summary>The dotnet host this test runs on.</summary>
    private static string DotnetHost()
    {
        string muxer = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && string.Equals(Path.GetFileName(self), muxer, StringComparison.OrdinalIgnoreCase))
            return self;
        // RUNTIME_ROOT/shared/Microsoft.NETCore.App/VERSION/
        string runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        var root = Directory.GetParent(runtime)?.Parent?.Parent;
        return root is not null && File.Exists(Path.Combine(root.FullName, muxer)) ? Path.Combine(root.FullName, muxer) : muxer;
    }
}
