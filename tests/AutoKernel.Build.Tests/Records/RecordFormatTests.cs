using System.Text.Json;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Schedules;
using AutoKernel.Generator.Workloads;
using static AutoKernel.Build.Tests.Records.RecordSamples;

namespace AutoKernel.Build.Tests.Records;

public sealed class RecordFormatTests
{
    private static readonly double[] AwkwardDoubles =
    [
        0.1 + 0.2, 1.0 / 3.0, 5e-324, double.Epsilon * 3, 1.7976931348623157e308, 2.2250738585072014e-308,
        123456789.12345679, 1e-9, 0, 6.02214076e23,
    ];

    private static TuningRecord Full() => new()
    {
        Target = "arm64 NEON, Ünïcødé CPU “Ⅻ” 日本",
        Threads = 2,
        WorkloadKey = "conv2d|data=1x3x224x224|weight=64x3x7x7|stride=2x2|pad=3x3x3x3|dilation=1x1|groups=1|layout=NCHW|dtype=float32",
        Template = "conv2d_nchwc",
        ConfigIndex = 123_456_789_012,
        // Not in alphabetical order: the order must survive.
        Knobs = new OrderedDictionary<string, int[]> { ["tile_oc"] = [4, 16], ["b_first"] = [1], ["a_last"] = [0, 2, 1], ["empty"] = [] },
        Costs = AwkwardDoubles,
        Error = MeasureError.None,
        Message = "warn: \"quoted\" \\ back\\slash\ttab ✓ 日本語 😀 \u0001 \u2028 end",
        TrialSeconds = 0.1 + 0.7,
        Timestamp = new DateTimeOffset(2025, 12, 31, 23, 59, 59, TimeSpan.FromMinutes(330)).AddTicks(1234567),
        ToolVersion = "0.1.0+611b8c87f223a3877e40628c91ca2537c1274244",
    };

    private static void AssertSame(TuningRecord expected, TuningRecord actual)
    {
        Assert.Equal(expected.Version, actual.Version);
        Assert.Equal(expected.Target, actual.Target);
        Assert.Equal(expected.Threads, actual.Threads);
        Assert.Equal(expected.WorkloadKey, actual.WorkloadKey);
        Assert.Equal(expected.Template, actual.Template);
        Assert.Equal(expected.ConfigIndex, actual.ConfigIndex);
        Assert.Equal(expected.Knobs.Keys, actual.Knobs.Keys);
        foreach (var (name, values) in expected.Knobs)
            Assert.Equal(values, actual.Knobs[name]);
        Assert.Equal(expected.Costs.Select(BitConverter.DoubleToInt64Bits), actual.Costs.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(expected.Error, actual.Error);
        Assert.Equal(expected.Message, actual.Message);
        Assert.Equal(BitConverter.DoubleToInt64Bits(expected.TrialSeconds), BitConverter.DoubleToInt64Bits(actual.TrialSeconds));
        Assert.Equal(expected.Timestamp.UtcTicks, actual.Timestamp.UtcTicks);
        Assert.Equal(expected.Timestamp.Offset, actual.Timestamp.Offset);
        Assert.Equal(expected.ToolVersion, actual.ToolVersion);
    }

    [Fact]
    public void EveryFieldRoundTripsExactly()
    {
        var record = Full();
        string line = RecordFormat.Serialize(record);
        AssertSame(record, RecordFormat.Parse(line));
        // Serializing what was read gives the same text.
        Assert.Equal(line, RecordFormat.Serialize(RecordFormat.Parse(line)));
    }

    [Fact]
    public void LineIsOneJsonObjectWithSnakeCaseKeysInOrder()
    {
        string line = RecordFormat.Serialize(Full());
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\r', line);
        Assert.DoesNotContain('\u2028', line);
        using var doc = JsonDocument.Parse(line);
        Assert.Equal(
            ["version", "target", "threads", "workload_key", "template", "config_index", "knobs", "costs", "error", "message", "trial_seconds", "timestamp", "tool_version"],
            doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["tile_oc", "b_first", "a_last", "empty"], doc.RootElement.GetProperty("knobs").EnumerateObject().Select(p => p.Name));
        // Non-ASCII text stays readable in the file.
        Assert.Contains("日本", line);
        Assert.StartsWith("{\"version\":1,", line);
    }

    [Fact]
    public void NullMessageIsLeftOut()
    {
        string line = RecordFormat.Serialize(Make(message: null));
        Assert.DoesNotContain("message", line);
        Assert.Null(RecordFormat.Parse(line).Message);
    }

    [Theory]
    [InlineData(MeasureError.None, "none")]
    [InlineData(MeasureError.CompileError, "compile_error")]
    [InlineData(MeasureError.RuntimeError, "runtime_error")]
    [InlineData(MeasureError.Timeout, "timeout")]
    [InlineData(MeasureError.WrongAnswer, "wrong_answer")]
    public void ErrorKindsAreLowercaseText(MeasureError error, string text)
    {
        var record = Make(index: 3, error: error, message: error == MeasureError.None ? null : "it failed: 日本 ✗");
        string line = RecordFormat.Serialize(record);
        Assert.Contains($"\"error\":\"{text}\"", line);
        var back = RecordFormat.Parse(line);
        AssertSame(record, back);
        Assert.Equal(error == MeasureError.None, back.IsValid);
    }

    [Fact]
    public void NonFiniteNumbersAreNeverWritten()
    {
        Assert.Throws<ArgumentException>(() => RecordFormat.Serialize(Make(costs: [1e-3, double.PositiveInfinity])));
        Assert.Throws<ArgumentException>(() => RecordFormat.Serialize(Make(costs: [double.NaN])));
        Assert.Throws<ArgumentException>(() => RecordFormat.Serialize(Make(costs: [-1e-3])));
        Assert.Throws<ArgumentException>(() => RecordFormat.Serialize(Make() with { TrialSeconds = double.PositiveInfinity }));
        Assert.Throws<ArgumentException>(() => RecordFormat.Serialize(Make() with { Version = 2 }));
    }

    /// <summary>
    /// A valid record written by hand (not by <see cref="RecordFormat.Serialize"/>): the bad lines
    /// below are textual edits of it, so the parser is tested against the documented format.
    /// </summary>
    private const string Valid =
        """{"version":1,"target":"x64 AVX2, Test CPU","threads":1,"workload_key":"dense|data=1x64|weight=32x64|dtype=float32","template":"dense_packed","config_index":7,"knobs":{"tile_n":[2,16],"unroll":[2]},"costs":[0.000125,0.00025],"error":"none","trial_seconds":0.5,"timestamp":"2025-03-14T15:09:26+00:00","tool_version":"0.1.0-test"}""";

    /// <summary><see cref="Valid"/> with one piece of text replaced; the piece must be there.</summary>
    private static string Edited(string from, string to)
    {
        Assert.Contains(from, Valid);
        return Valid.Replace(from, to, StringComparison.Ordinal);
    }

    [Fact]
    public void TheHandWrittenLineParses()
    {
        // The base of the bad lines must itself be good, or every bad-line case passes for the wrong reason.
        var r = RecordFormat.Parse(Valid);
        Assert.Equal(7, r.ConfigIndex);
        Assert.Equal([0.000125, 0.00025], r.Costs);
    }

    public static TheoryData<string, string> BadLines() => new()
    {
        { "{\"version\":1,\"target\":\"x", "not valid JSON" },
        { "hello", "not valid JSON" },
        { "", "not valid JSON" },
        { "[1,2]", "expected a JSON object, found an array" },
        { "\"a string\"", "expected a JSON object, found a string" },
        { "{\"version\":1,\"version\":1}", "not valid JSON" },
        { Valid + ",", "not valid JSON" },
        { Edited("}", ",}"), "not valid JSON" },
        { Edited("\"workload_key\":\"dense|data=1x64|weight=32x64|dtype=float32\",", ""), "missing field 'workload_key'" },
        { Edited("\"version\":1,", ""), "missing field 'version'" },
        { Edited("\"target\":\"x64 AVX2, Test CPU\",", ""), "missing field 'target'" },
        { Edited("\"threads\":1,", ""), "missing field 'threads'" },
        { Edited("\"template\":\"dense_packed\",", ""), "missing field 'template'" },
        { Edited("\"config_index\":7,", ""), "missing field 'config_index'" },
        { Edited("\"knobs\":{\"tile_n\":[2,16],\"unroll\":[2]},", ""), "missing field 'knobs'" },
        { Edited("\"costs\":[0.000125,0.00025],", ""), "missing field 'costs'" },
        { Edited("\"error\":\"none\",", ""), "missing field 'error'" },
        { Edited("\"trial_seconds\":0.5,", ""), "missing field 'trial_seconds'" },
        { Edited(",\"timestamp\":\"2025-03-14T15:09:26+00:00\"", ""), "missing field 'timestamp'" },
        { Edited(",\"tool_version\":\"0.1.0-test\"", ""), "missing field 'tool_version'" },
        { Edited("\"threads\":1", "\"threads\":\"1\""), "field 'threads' must be an integer, not a string" },
        { Edited("\"threads\":1", "\"threads\":1.5"), "field 'threads' must be a 32-bit integer" },
        { Edited("\"threads\":1", "\"threads\":0"), "field 'threads' must be at least 1, not 0" },
        { Edited("\"target\":\"x64 AVX2, Test CPU\"", "\"target\":null"), "field 'target' must be a string, not null" },
        { Edited("\"config_index\":7", "\"config_index\":-1"), "field 'config_index' must be a non-negative integer" },
        { Edited("\"config_index\":7", "\"config_index\":7.5"), "field 'config_index' must be a non-negative integer" },
        { Edited("\"error\":\"none\"", "\"error\":\"exploded\""), "field 'error' has unknown value 'exploded'" },
        { Edited("\"error\":\"none\"", "\"error\":\"None\""), "field 'error' has unknown value 'None'" },
        { Edited("[0.000125,0.00025]", "[1,\"x\"]"), "field 'costs' must hold finite" },
        { Edited("[0.000125,0.00025]", "[-1.0]"), "field 'costs' must hold finite" },
        { Edited("[0.000125,0.00025]", "[1e400]"), "field 'costs' must hold finite" },
        { Edited("[0.000125,0.00025]", "{}"), "field 'costs' must be an array, not an object" },
        { Edited("\"knobs\":{\"tile_n\":[2,16],", "\"knobs\":{\"tile_n\":[1.5],"), "knob 'tile_n' must be an array of integers" },
        { Edited("\"knobs\":{\"tile_n\":[2,16],", "\"knobs\":{\"tile_n\":2,"), "knob 'tile_n' must be an array of integers" },
        { Edited("\"knobs\":{\"tile_n\":[2,16],", "\"knobs\":{\"tile_n\":[2,16],\"tile_n\":[4,8],"), "not valid JSON" },
        { Edited("\"trial_seconds\":0.5", "\"trial_seconds\":-0.5"), "field 'trial_seconds' must hold finite" },
        { Edited("\"trial_seconds\"", "\"message\":42,\"trial_seconds\""), "field 'message' must be a string" },
        { Edited("2025-03-14T15:09:26+00:00", "yesterday"), "field 'timestamp' is not an ISO 8601" },
        { Edited("\"version\":1", "\"version\":2"), "format version 2 is newer than this autokernel reads (1)" },
        { Edited("\"version\":1", "\"version\":0"), "format version 0 is not valid" },
        // The version is checked first: a newer record with fields this version cannot read is refused as newer.
        { Edited("\"version\":1,\"target\":\"x64 AVX2, Test CPU\"", "\"version\":3,\"target\":[]"), "format version 3 is newer" },
    };

    [Theory]
    [MemberData(nameof(BadLines))]
    public void ParseSaysWhatIsWrong(string line, string reason)
    {
        var e = Assert.Throws<FormatException>(() => RecordFormat.Parse(line));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void HandWrittenLineParsesFieldByField()
    {
        // Keys in another order, blanks between tokens, unknown fields (top level and nested),
        // a null message, integer and exponent numbers, a "Z" timestamp.
        const string line =
            """ { "tool_version" : "9.9.9" , "timestamp":"2024-02-29T23:59:58.25Z", "added_later": {"x": [1, {"y": null}]}, "costs":[1, 2.5e-3, 0.1], "knobs":{"z_last":[3], "a_first":[-1, 0, 2147483647], "none":[]}, "error":"wrong_answer", "message":null, "trial_seconds":0, "template":"conv2d_nchwc", "config_index":12345678901, "workload_key":"k", "threads":16, "target":"arm64 NEON, Ünïcødé \"CPU\" \\ \u65e5\u672c", "version":1, "zzz":true } """;
        var r = RecordFormat.Parse(line);
        Assert.Equal(1, r.Version);
        Assert.Equal("arm64 NEON, Ünïcødé \"CPU\" \\ 日本", r.Target);
        Assert.Equal(16, r.Threads);
        Assert.Equal("k", r.WorkloadKey);
        Assert.Equal("conv2d_nchwc", r.Template);
        Assert.Equal(12_345_678_901L, r.ConfigIndex);
        Assert.Equal(["z_last", "a_first", "none"], r.Knobs.Keys);
        Assert.Equal([3], r.Knobs["z_last"]);
        Assert.Equal([-1, 0, int.MaxValue], r.Knobs["a_first"]);
        Assert.Empty(r.Knobs["none"]);
        Assert.Equal([1.0, 0.0025, 0.1], r.Costs);
        Assert.Equal(MeasureError.WrongAnswer, r.Error);
        Assert.False(r.IsValid);
        Assert.Null(r.Message);
        Assert.Equal(0.0, r.TrialSeconds);
        Assert.Equal(new DateTimeOffset(2024, 2, 29, 23, 59, 58, 250, TimeSpan.Zero), r.Timestamp);
        Assert.Equal(TimeSpan.Zero, r.Timestamp.Offset);
        Assert.Equal("9.9.9", r.ToolVersion);
    }

    [Fact]
    public void MissingMessageAndEscapedMessageParse()
    {
        Assert.Null(RecordFormat.Parse(Valid).Message);
        var r = RecordFormat.Parse(Edited("\"trial_seconds\"", "\"message\":\"tab\\there \\\"q\\\" \\u00e9 \\ud83d\\ude00\",\"trial_seconds\""));
        Assert.Equal("tab\there \"q\" é 😀", r.Message);
        // An offset other than zero is kept.
        var t = RecordFormat.Parse(Edited("2025-03-14T15:09:26+00:00", "2025-03-14T20:39:26.1234567+05:30")).Timestamp;
        Assert.Equal(TimeSpan.FromMinutes(330), t.Offset);
        Assert.Equal(new DateTimeOffset(2025, 3, 14, 15, 9, 26, TimeSpan.Zero).AddTicks(1_234_567).UtcTicks, t.UtcTicks);
    }

    /// <summary>The record that <see cref="GoldenLine"/> must be, field by field.</summary>
    private static TuningRecord GoldenRecord() => new()
    {
        Target = "x64 AVX2, Test CPU",
        Threads = 2,
        WorkloadKey = "dense|data=1x64|weight=32x64|dtype=float32",
        Template = "dense_packed",
        ConfigIndex = 7,
        Knobs = new OrderedDictionary<string, int[]> { ["tile_n"] = [2, 16], ["unroll"] = [2], ["order"] = [1, 0] },
        Costs = [0.000125, 0.1 + 0.2, 3],
        Error = MeasureError.None,
        TrialSeconds = 0.75,
        Timestamp = new DateTimeOffset(2025, 3, 14, 15, 9, 26, 500, TimeSpan.FromHours(1)),
        ToolVersion = "0.1.0-test",
    };

    /// <summary>
    /// Written by hand from docs/architecture.md's "Tuning records": keys in the documented order,
    /// no message key, shortest round-trip numbers (0.1 + 0.2 is 0.30000000000000004; 3 stays "3"),
    /// ISO 8601 timestamp with its offset.
    /// </summary>
    private const string GoldenLine =
        """{"version":1,"target":"x64 AVX2, Test CPU","threads":2,"workload_key":"dense|data=1x64|weight=32x64|dtype=float32","template":"dense_packed","config_index":7,"knobs":{"tile_n":[2,16],"unroll":[2],"order":[1,0]},"costs":[0.000125,0.30000000000000004,3],"error":"none","trial_seconds":0.75,"timestamp":"2025-03-14T15:09:26.5+01:00","tool_version":"0.1.0-test"}""";

    [Fact]
    public void SerializeWritesTheGoldenLine() => Assert.Equal(GoldenLine, RecordFormat.Serialize(GoldenRecord()));

    [Fact]
    public void TheGoldenLineParsesToTheRecord() => AssertSame(GoldenRecord(), RecordFormat.Parse(GoldenLine));

    [Fact]
    public void SerializeWritesAFailureWithItsMessageEscaped()
    {
        var record = GoldenRecord() with
        {
            Knobs = new Dictionary<string, int[]>(),
            Costs = [],
            Error = MeasureError.CompileError,
            Message = "error CS1002: \"x\\y\"\ttab \u0001 ✓ 日本",
            Timestamp = new DateTimeOffset(2025, 3, 14, 15, 9, 26, TimeSpan.Zero),
        };
        // Quote, backslash, tab and control characters escaped; other text as it is (the relaxed encoder).
        const string expected =
            """{"version":1,"target":"x64 AVX2, Test CPU","threads":2,"workload_key":"dense|data=1x64|weight=32x64|dtype=float32","template":"dense_packed","config_index":7,"knobs":{},"costs":[],"error":"compile_error","message":"error CS1002: \"x\\y\"\ttab \u0001 ✓ 日本","trial_seconds":0.75,"timestamp":"2025-03-14T15:09:26+00:00","tool_version":"0.1.0-test"}""";
        Assert.Equal(expected, RecordFormat.Serialize(record));
    }

    [Theory]
    [InlineData(MeasureError.RuntimeError, "runtime_error")]
    [InlineData(MeasureError.Timeout, "timeout")]
    [InlineData(MeasureError.WrongAnswer, "wrong_answer")]
    public void HandWrittenErrorNamesParse(MeasureError error, string text) =>
        Assert.Equal(error, RecordFormat.Parse(Edited("\"error\":\"none\"", $"\"error\":\"{text}\"")).Error);

    [Fact]
    public void UnknownFieldsAreIgnoredAndNullMessageIsAccepted()
    {
        var record = RecordFormat.Parse(Edited("\"trial_seconds\"", "\"added_later\":{\"x\":1},\"message\":null,\"trial_seconds\""));
        Assert.Equal(7, record.ConfigIndex);
        Assert.Null(record.Message);
    }

    [Fact]
    public void MeanCostIsTheAverageOfAValidRecordAndInfiniteOtherwise()
    {
        Assert.Equal(2e-3, Make(costs: [1e-3, 2e-3, 3e-3]).MeanCost, 15);
        Assert.True(Make(costs: [1e-3]).IsValid);
        Assert.False(Make(costs: []).IsValid);
        Assert.Equal(double.PositiveInfinity, Make(costs: []).MeanCost);
        Assert.Equal(double.PositiveInfinity, Make(error: MeasureError.Timeout).MeanCost);
        Assert.Equal(double.PositiveInfinity, Make(costs: [1e-3], error: MeasureError.WrongAnswer).MeanCost);
    }

    private static (Config Config, Candidate Candidate) DenseCandidate(long index = 5)
    {
        var space = new ConfigSpace("dense_packed",
        [
            Knob.Split("tile_n", 32, 2),
            Knob.Choice("unroll", KnobKind.Annotate, 1, 2, 4),
            Knob.Reorder("order", [0, 1], [1, 0]),
        ]);
        var config = space.Decode(index);
        var candidate = new Candidate(new DenseWorkload(1, 32, 64), Epilogue.None, "dense_packed", config.Index, "// source", "K.Kernel");
        return (config, candidate);
    }

    [Fact]
    public void FromResultRecordsTheMeasurement()
    {
        var (config, candidate) = DenseCandidate(index: 7);
        var target = new CpuTarget(256, 4, "x64 AVX2, Test CPU");
        var result = new MeasureResult(candidate, MeasureError.None, [2e-5, 3e-5], null, BuildSeconds: 0.25, RunSeconds: 0.5);
        var record = TuningRecord.FromResult(result, config, target, Time);

        Assert.Equal(TuningRecord.CurrentVersion, record.Version);
        Assert.Equal("x64 AVX2, Test CPU", record.Target);
        Assert.Equal(4, record.Threads);
        Assert.Equal("dense|data=1x64|weight=32x64|dtype=float32", record.WorkloadKey);
        Assert.Equal("dense_packed", record.Template);
        Assert.Equal(7, record.ConfigIndex);
        // Index 7 in mixed radix, first knob fastest: tile_n 7 % 6 = 1 (the splits of 32 in two are
        // [1,32], [2,16], [4,8], [8,4], [16,2], [32,1]), then 7 / 6 = 1: unroll 1 % 3 = 1 (value 2),
        // then 1 / 3 = 0: order entry 0, [0,1].
        Assert.Equal(["tile_n", "unroll", "order"], record.Knobs.Keys);
        Assert.Equal([2, 16], record.Knobs["tile_n"]);
        Assert.Equal([2], record.Knobs["unroll"]);
        Assert.Equal([0, 1], record.Knobs["order"]);
        Assert.Equal([2e-5, 3e-5], record.Costs);
        Assert.NotSame(result.Costs, record.Costs);
        Assert.Equal(0.75, record.TrialSeconds);
        Assert.Equal(Time, record.Timestamp);
        Assert.Equal(TuningRecord.CurrentToolVersion, record.ToolVersion);
        Assert.Equal(2.5e-5, record.MeanCost, 15);
        AssertSame(record, RecordFormat.Parse(RecordFormat.Serialize(record)));
    }

    [Fact]
    public void ToolVersionIsTheBuildsVersionWithItsCommit()
    {
        // The version the build sets (Directory.Build.props), then the commit when built from git.
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(Support.TestPaths.RepoRoot, "Directory.Build.props"));
        string version = props.Descendants("Version").Single().Value;
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(version)}(\\+[0-9a-f]{{40}})?$", TuningRecord.CurrentToolVersion);
    }

    [Fact]
    public void FromResultOfAFailureKeepsNoCostsAndOneLineOfMessage()
    {
        var (config, candidate) = DenseCandidate();
        string message = "error CS1002: ; expected\r\n  at line 3\n" + new string('x', 2000);
        var result = new MeasureResult(candidate, MeasureError.CompileError, [1e-3], message, 0.1, 0);
        var record = TuningRecord.FromResult(result, config, new CpuTarget(256, 1, "t"), Time);
        Assert.Empty(record.Costs);
        Assert.False(record.IsValid);
        Assert.Equal(MeasureError.CompileError, record.Error);
        Assert.NotNull(record.Message);
        Assert.StartsWith("error CS1002: ; expected   at line 3 xxx", record.Message);
        Assert.Equal(TuningRecord.MaxMessageLength, record.Message!.Length);
        Assert.EndsWith("…", record.Message);
        Assert.DoesNotContain('\n', record.Message);
    }

    [Fact]
    public void EveryRecordKeepsItsMessageToOneLineOf500Characters()
    {
        // The limit holds however a record is made, not only through FromResult.
        string longText = "first line\r\nsecond\n" + new string('x', 1000);
        // 500 characters: 499 of the text, line breaks as spaces, then "…".
        string expected = ("first line second " + new string('x', 1000))[..499] + "…";

        var made = Make(error: MeasureError.RuntimeError, message: longText);
        Assert.Equal(expected, made.Message);
        Assert.Equal(expected, (Make(error: MeasureError.Timeout) with { Message = longText }).Message);
        Assert.Equal("a b", (made with { Message = " a\nb " }).Message);
        Assert.Null((made with { Message = "\r\n" }).Message);

        // Written: the line holds the cut message.
        string line = RecordFormat.Serialize(made);
        Assert.Contains("\"message\":\"" + expected + "\"", line);

        // Read: a longer message in a file (an older or foreign writer) comes back cut too.
        string written = Edited("\"trial_seconds\"", "\"message\":\"" + new string('y', 600) + "\\nz\",\"trial_seconds\"");
        Assert.Equal(new string('y', 499) + "…", RecordFormat.Parse(written).Message);
        Assert.Equal("y z", RecordFormat.Parse(Edited("\"trial_seconds\"", "\"message\":\"y\\nz\",\"trial_seconds\"")).Message);
    }

    [Fact]
    public void MessagesAreNotCutInsideASurrogatePair()
    {
        string message = new string('a', TuningRecord.MaxMessageLength - 2) + "😀" + new string('b', 10);
        string cleaned = TuningRecord.CleanMessage(message)!;
        Assert.EndsWith("a…", cleaned);
        Assert.True(cleaned.Length <= TuningRecord.MaxMessageLength);
        Assert.Null(TuningRecord.CleanMessage(" \n "));
        Assert.Equal("short", TuningRecord.CleanMessage(" short\n"));
    }

    [Fact]
    public void FromResultRefusesAnotherCandidatesConfiguration()
    {
        var (config, candidate) = DenseCandidate(index: 5);
        var other = config.Space.Decode(6);
        var result = new MeasureResult(candidate, MeasureError.None, [1e-3], null, 0, 0);
        Assert.Throws<ArgumentException>(() => TuningRecord.FromResult(result, other, new CpuTarget(256, 1, "t"), Time));
        var renamed = result with { Candidate = candidate with { Template = "conv2d_nchwc" } };
        Assert.Throws<ArgumentException>(() => TuningRecord.FromResult(renamed, config, new CpuTarget(256, 1, "t"), Time));
    }
}
