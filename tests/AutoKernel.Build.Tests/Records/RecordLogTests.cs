using System.Text;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tests.Support;
using static AutoKernel.Build.Tests.Records.RecordSamples;

namespace AutoKernel.Build.Tests.Records;

public sealed class RecordLogTests
{
    [Fact]
    public void MissingFileOrFolderIsAnEmptyLog()
    {
        using var dir = new TempDirectory();
        foreach (string path in new[] { dir.File("tune.log"), Path.Combine(dir.Path, "no", "such", "tune.log") })
        {
            var log = RecordLog.Load(path);
            Assert.Equal(path, log.Path);
            Assert.Empty(log.Records);
            Assert.Empty(log.Warnings);
            Assert.Null(log.BestFor(Target, 1, Workload));
        }
    }

    [Fact]
    public void AppendCreatesTheFolderAndLoadReadsBatchesInOrder()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "logs", "tune.log");
        RecordLog.Append(path, [Make(0), Make(1, error: MeasureError.Timeout, message: "took too long")]);
        RecordLog.Append(path, [Make(2)]);
        var log = RecordLog.Load(path);
        Assert.Empty(log.Warnings);
        Assert.Equal([0L, 1L, 2L], log.Records.Select(r => r.ConfigIndex));
        Assert.Equal(MeasureError.Timeout, log.Records[1].Error);
        Assert.Equal("took too long", log.Records[1].Message);
        // Three lines, each ended by a line break, nothing else.
        string text = File.ReadAllText(path);
        Assert.Equal(Lines(Make(0), Make(1, error: MeasureError.Timeout, message: "took too long"), Make(2)), text);
        // The lock file is in the temporary folder, not beside the log.
        Assert.True(File.Exists(LogLock.LockFileFor(Path.GetFullPath(path), "append")));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void EmptyBatchDoesNotCreateTheFile()
    {
        using var dir = new TempDirectory();
        RecordLog.Append(dir.File("tune.log"), []);
        Assert.False(File.Exists(dir.File("tune.log")));
    }

    [Fact]
    public void AnUnwritableRecordLeavesTheLogUntouched()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        RecordLog.Append(path, [Make(0)]);
        string before = File.ReadAllText(path);
        Assert.Throws<ArgumentException>(() => RecordLog.Append(path, [Make(1), Make(2, costs: [double.NaN])]));
        Assert.Equal(before, File.ReadAllText(path));
    }

    [Fact]
    public void TruncatedLastLineIsIgnoredWithAWarningNamingFileAndLine()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        string cut = RecordFormat.Serialize(Make(3));
        Write(path, Lines(Make(0), Make(1), Make(2)) + cut[..(cut.Length / 2)]);
        var log = RecordLog.Load(path);
        Assert.Equal([0L, 1L, 2L], log.Records.Select(r => r.ConfigIndex));
        var warning = Assert.Single(log.Warnings);
        Assert.Equal($"{path}: line 4 is truncated (a killed run?); ignored", warning);
    }

    [Fact]
    public void LastLineCutInsideAMultiByteCharacterIsTruncation()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        byte[] line = Encoding.UTF8.GetBytes(RecordFormat.Serialize(Make(1, error: MeasureError.RuntimeError, message: "日本語のメッセージ")));
        int inside = Array.IndexOf(line, Encoding.UTF8.GetBytes("本")[0]) + 1;
        Write(path, [.. Encoding.UTF8.GetBytes(Lines(Make(0))), .. line.AsSpan(0, inside)]);
        var log = RecordLog.Load(path);
        Assert.Single(log.Records);
        Assert.Contains("line 2 is truncated", Assert.Single(log.Warnings));
    }

    [Fact]
    public void CompleteLastLineWithoutLineBreakIsKept()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        Write(path, Lines(Make(0)) + RecordFormat.Serialize(Make(1)));
        var log = RecordLog.Load(path);
        Assert.Equal([0L, 1L], log.Records.Select(r => r.ConfigIndex));
        Assert.Empty(log.Warnings);
    }

    [Fact]
    public void BlankLinesAndCrLfAreTolerated()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        Write(path, "\uFEFF" + RecordFormat.Serialize(Make(0)) + "\r\n\n   \n" + RecordFormat.Serialize(Make(1)) + "\r\n");
        var log = RecordLog.Load(path);
        Assert.Equal([0L, 1L], log.Records.Select(r => r.ConfigIndex));
        Assert.Empty(log.Warnings);
    }

    public static TheoryData<string, string> MalformedLines() => new()
    {
        { "this is not json", "not valid JSON" },
        { "{\"version\":1}", "missing field 'target'" },
        { RecordFormat.Serialize(Make(9)).Replace("\"version\":1", "\"version\":2", StringComparison.Ordinal), "format version 2 is newer" },
        { RecordFormat.Serialize(Make(9)) + "}", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(MalformedLines))]
    public void MalformedMiddleLineIsAnErrorNamingFileAndLine(string bad, string reason)
    {
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        Write(path, Lines(Make(0)) + bad + "\n" + Lines(Make(1)));
        var e = Assert.Throws<ModelException>(() => RecordLog.Load(path));
        Assert.StartsWith($"{path}:2: ", e.Message);
        Assert.Contains(reason, e.Message);
        Assert.DoesNotContain('\n', e.Describe());
    }

    [Theory]
    [MemberData(nameof(MalformedLines))]
    public void MalformedLastLineWithoutLineBreakIsStillAnErrorUnlessCutShort(string bad, string reason)
    {
        // Only a JSON object cut short is taken for truncation; a newer record or garbage is an error.
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        Write(path, Lines(Make(0)) + bad);
        var e = Assert.Throws<ModelException>(() => RecordLog.Load(path));
        Assert.StartsWith($"{path}:2: ", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void AppendAfterATruncatedTailKeepsTheFragmentOnItsOwnLine()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        string cut = RecordFormat.Serialize(Make(2));
        string fragment = cut[..(cut.Length - 10)];
        Write(path, Lines(Make(0), Make(1)) + fragment);

        RecordLog.Append(path, [Make(3), Make(4)]);
        RecordLog.Append(path, [Make(5)]);

        Assert.Equal(Lines(Make(0), Make(1)) + fragment + "\n" + Lines(Make(3), Make(4), Make(5)), File.ReadAllText(path));
        var log = RecordLog.Load(path);
        Assert.Equal([0L, 1L, 3L, 4L, 5L], log.Records.Select(r => r.ConfigIndex));
        // The fragment is now a middle line, still ignored with a warning.
        Assert.Equal($"{path}: line 3 is truncated (a killed run?); ignored", Assert.Single(log.Warnings));
    }

    [Fact]
    public void NulPaddedTailFromACrashIsTruncation()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        string cut = RecordFormat.Serialize(Make(1));
        Write(path, [.. Encoding.UTF8.GetBytes(Lines(Make(0)) + cut[..20]), 0, 0, 0, 0, (byte)'\n', 0, 0, 0]);
        RecordLog.Append(path, [Make(2)]);
        var log = RecordLog.Load(path);
        Assert.Equal([0L, 2L], log.Records.Select(r => r.ConfigIndex));
        Assert.Equal(2, log.Warnings.Count);
        Assert.Contains("line 2 is truncated", log.Warnings[0]);
        Assert.Contains("line 3 is truncated", log.Warnings[1]);
    }

    [Fact]
    public void AppendGivesUpWhileAnotherWriterHoldsTheLock()
    {
        // Held in this process, the lock excludes Append only through .NET's flock: POSIX byte-range
        // locks do not exclude their own process. (RecordLogConcurrencyTests.ProcessesAppendingWithFileLockingSwitchedOffNeverInterleave
        // covers the byte-range lock with the switch on.)
        bool lockingOff = (AppContext.TryGetSwitch("System.IO.DisableFileLocking", out bool off) && off)
            || Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is "1" or "true";
        Assert.SkipWhen(lockingOff, ".NET file locking is switched off in this process");
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        RecordLog.Append(path, [Make(0)]);
        // Hold the lock as another process would: the sidecar opened exclusively (and byte-range locked where Append does that too).
        using (var held = new FileStream(LogLock.LockFileFor(Path.GetFullPath(path), "append"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
                held.Lock(0, 1);
            var e = Assert.Throws<IOException>(() => RecordLog.Append(path, [Make(1)], TimeSpan.FromMilliseconds(100)));
            Assert.Contains(path, e.Message);
            Assert.Contains("gave up waiting", e.Message);
            // Readers do not need the lock.
            Assert.Single(RecordLog.Load(path).Records);
        }
        RecordLog.Append(path, [Make(1)], TimeSpan.FromMilliseconds(100));
        Assert.Equal(2, RecordLog.Load(path).Records.Count);
    }

    [Fact]
    public void BestIsTheLowestMeanPerTargetThreadsAndWorkloadOverAllTemplates()
    {
        const string other = "conv2d|data=1x8x8x8|weight=8x8x3x3|stride=1x1|pad=1x1x1x1|dilation=1x1|groups=1|layout=NCHW|dtype=float32";
        TuningRecord[] records =
        [
            Make(0, costs: [3e-3]),
            Make(1, costs: [1e-3, 5e-3]),                        // mean 3e-3: not better than #0
            Make(2, error: MeasureError.WrongAnswer, costs: [1e-9]),
            Make(3, costs: [2e-3], template: "dense_other"),     // the winner of the dense task
            Make(4, costs: [2e-3]),                              // ties #3, later: loses
            Make(5, costs: [1e-5], threads: 2),                  // another task: 2 threads
            Make(6, costs: [1e-5], target: "x64 AVX-512, Other CPU"),
            Make(7, error: MeasureError.Timeout, workload: other),
            Make(8, costs: [4e-3], workload: other),
            Make(9, costs: [], workload: other),
        ];
        var best = RecordLog.Best(records);
        Assert.Equal(4, best.Count);
        Assert.Same(records[3], best[(Target, 1, Workload)]);
        Assert.Same(records[5], best[(Target, 2, Workload)]);
        Assert.Same(records[6], best[("x64 AVX-512, Other CPU", 1, Workload)]);
        Assert.Same(records[8], best[(Target, 1, other)]);

        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        RecordLog.Append(path, records[..5]);
        RecordLog.Append(path, records[5..]);
        var log = RecordLog.Load(path);
        Assert.Equal(3, log.BestFor(Target, 1, Workload)!.ConfigIndex);
        Assert.Equal("dense_other", log.BestFor(Target, 1, Workload)!.Template);
        Assert.Equal(5, log.BestFor(Target, 2, Workload)!.ConfigIndex);
        Assert.Equal(8, log.BestFor(Target, 1, other)!.ConfigIndex);
        Assert.Null(log.BestFor(Target, 3, Workload));
        Assert.Null(log.BestFor("x64 AVX2, Test CPU", 1, "dense|data=9x9|weight=9x9|dtype=float32"));
    }

    [Fact]
    public void BestOfATaskWithOnlyFailuresIsNone()
    {
        var best = RecordLog.Best([Make(0, error: MeasureError.CompileError), Make(1, error: MeasureError.RuntimeError)]);
        Assert.Empty(best);
    }

    [Fact]
    public void ForListsATasksRecordsInFileOrderAcrossTemplates()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tune.log");
        RecordLog.Append(path, [Make(5), Make(2, template: "dense_other"), Make(5, threads: 2), Make(9, error: MeasureError.CompileError)]);
        RecordLog.Append(path, [Make(1, target: "arm64 NEON, Other"), Make(7), Make(2)]);
        var log = RecordLog.Load(path);

        var task = log.For(Target, 1, Workload).ToList();
        Assert.Equal([5L, 2L, 9L, 7L, 2L], task.Select(r => r.ConfigIndex));
        Assert.Equal(["dense_packed", "dense_other", "dense_packed", "dense_packed", "dense_packed"], task.Select(r => r.Template));
        Assert.Empty(log.For(Target, 1, "dense|data=9x9|weight=9x9|dtype=float32"));
        Assert.Equal([5L], log.For(Target, 2, Workload).Select(r => r.ConfigIndex));
    }
}
