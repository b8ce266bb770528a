using System.Text.Json;
using System.Text.Json.Nodes;
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

    /// <summary>A valid line with one change made to its JSON.</summary>
    private static string Edited(Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(RecordFormat.Serialize(Make(index: 7)))!.AsObject();
        edit(json);
        return json.ToJsonString();
    }

    public static TheoryData<string, string> BadLines() => new()
    {
        { "{\"version\":1,\"target\":\"x", "not valid JSON" },
        { "hello", "not valid JSON" },
        { "", "not valid JSON" },
        { "[1,2]", "expected a JSON object, found an array" },
        { "{\"version\":1,\"version\":1}", "not valid JSON" },
        { Edited(j => j.Remove("workload_key")), "missing field 'workload_key'" },
        { Edited(j => j.Remove("version")), "missing field 'version'" },
        { Edited(j => j.Remove("costs")), "missing field 'costs'" },
        { Edited(j => j["threads"] = "1"), "field 'threads' must be an integer, not a string" },
        { Edited(j => j["threads"] = 0), "field 'threads' must be at least 1" },
        { Edited(j => j["config_index"] = -1), "field 'config_index' must be a non-negative integer" },
        { Edited(j => j["error"] = "exploded"), "field 'error' has unknown value 'exploded'" },
        { Edited(j => j["costs"] = new JsonArray(1, "x")), "field 'costs' must hold finite" },
        { Edited(j => j["costs"] = new JsonArray(-1.0)), "field 'costs' must hold finite" },
        { Edited(j => j["knobs"] = new JsonObject { ["tile"] = new JsonArray(1.5) }), "knob 'tile' must be an array of integers" },
        { Edited(j => j["timestamp"] = "yesterday"), "field 'timestamp' is not an ISO 8601" },
        { Edited(j => j["version"] = 2), "format version 2 is newer than this autokernel reads (1)" },
        { Edited(j => j["version"] = 0), "format version 0 is not valid" },
    };

    [Theory]
    [MemberData(nameof(BadLines))]
    public void ParseSaysWhatIsWrong(string line, string reason)
    {
        var e = Assert.Throws<FormatException>(() => RecordFormat.Parse(line));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void UnknownFieldsAreIgnoredAndNullMessageIsAccepted()
    {
        var record = RecordFormat.Parse(Edited(j =>
        {
            j["added_later"] = new JsonObject { ["x"] = 1 };
            j["message"] = null;
        }));
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
        Assert.Equal(["tile_n", "unroll", "order"], record.Knobs.Keys);
        for (int i = 0; i < config.Space.Knobs.Count; i++)
            Assert.Equal(config.Space.Knobs[i][config.Choices[i]], record.Knobs[config.Space.Knobs[i].Name]);
        Assert.Equal([2e-5, 3e-5], record.Costs);
        Assert.NotSame(result.Costs, record.Costs);
        Assert.Equal(0.75, record.TrialSeconds);
        Assert.Equal(Time, record.Timestamp);
        Assert.Equal(TuningRecord.CurrentToolVersion, record.ToolVersion);
        Assert.Equal(2.5e-5, record.MeanCost, 15);
        AssertSame(record, RecordFormat.Parse(RecordFormat.Serialize(record)));
    }

    [Fact]
    public void ToolVersionIsTheAssemblysInformationalVersion()
    {
        string expected = typeof(TuningRecord).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>()
            .Single().InformationalVersion;
        Assert.Equal(expected, TuningRecord.CurrentToolVersion);
        Assert.False(string.IsNullOrWhiteSpace(TuningRecord.CurrentToolVersion));
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
