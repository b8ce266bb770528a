using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AutoKernel.Build.Measure;

namespace AutoKernel.Build.Records;

/// <summary>
/// The text form of a <see cref="TuningRecord"/>: one JSON object on one line, snake_case keys in
/// a fixed order (version, target, threads, workload_key, template, config_index, knobs, costs,
/// error, message, trial_seconds, timestamp, tool_version). <c>message</c> is left out when null;
/// it is one line of at most <see cref="TuningRecord.MaxMessageLength"/> characters, which the record
/// itself enforces (<see cref="TuningRecord.Message"/>), so a longer one in a file is cut on reading.
/// Numbers are written in their shortest round-trip form, so doubles read back bit for bit;
/// timestamps are ISO 8601 with their offset; the error kind is lowercase text ("none",
/// "compile_error", "runtime_error", "timeout", "wrong_answer"). Keys this version does not know
/// are ignored when reading; a newer <c>version</c> is refused. Format: docs/architecture.md,
/// "Tuning records".
/// </summary>
public static class RecordFormat
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = false,
        // Non-ASCII text (CPU names, messages) stays readable; quotes, backslashes and control
        // characters are still escaped, so a record is always one physical line.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonDocumentOptions ReaderOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowDuplicateProperties = false,
    };

    /// <summary>The lowercase name of an error kind, as written in records.</summary>
    public static string ErrorName(MeasureError error) => error switch
    {
        MeasureError.None => "none",
        MeasureError.CompileError => "compile_error",
        MeasureError.RuntimeError => "runtime_error",
        MeasureError.Timeout => "timeout",
        MeasureError.WrongAnswer => "wrong_answer",
        _ => throw new ArgumentOutOfRangeException(nameof(error), error, "unknown error kind"),
    };

    /// <summary>The error kind named <paramref name="name"/> (as <see cref="ErrorName"/> writes it).</summary>
    public static bool TryParseError(string name, out MeasureError error)
    {
        foreach (var e in Enum.GetValues<MeasureError>())
        {
            if (string.Equals(ErrorName(e), name, StringComparison.Ordinal))
            {
                error = e;
                return true;
            }
        }
        error = default;
        return false;
    }

    /// <summary>
    /// The record as one line of JSON, without a line break. Throws <see cref="ArgumentException"/>
    /// for what JSON cannot hold or a reader would refuse: a non-finite or negative cost or trial
    /// time, an unknown error kind, missing text fields.
    /// </summary>
    public static string Serialize(TuningRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Check(record);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteNumber("version", record.Version);
            w.WriteString("target", record.Target);
            w.WriteNumber("threads", record.Threads);
            w.WriteString("workload_key", record.WorkloadKey);
            w.WriteString("template", record.Template);
            w.WriteNumber("config_index", record.ConfigIndex);
            w.WriteStartObject("knobs");
            foreach (var (name, values) in record.Knobs)
            {
                w.WriteStartArray(name);
                foreach (int v in values)
                    w.WriteNumberValue(v);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteStartArray("costs");
            foreach (double c in record.Costs)
                w.WriteNumberValue(c);
            w.WriteEndArray();
            w.WriteString("error", ErrorName(record.Error));
            if (record.Message is not null)
                w.WriteString("message", record.Message);
            w.WriteNumber("trial_seconds", record.TrialSeconds);
            w.WriteString("timestamp", record.Timestamp);
            w.WriteString("tool_version", record.ToolVersion);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Check(TuningRecord r)
    {
        if (r.Version != TuningRecord.CurrentVersion)
            throw new ArgumentException($"cannot write format version {r.Version}; this build writes version {TuningRecord.CurrentVersion}", nameof(r));
        if (r.Target is null || r.WorkloadKey is null || r.Template is null || r.ToolVersion is null || r.Knobs is null || r.Costs is null)
            throw new ArgumentException("the record has a null field", nameof(r));
        if (r.Threads < 1)
            throw new ArgumentException($"threads must be at least 1, not {r.Threads}", nameof(r));
        if (r.ConfigIndex < 0)
            throw new ArgumentException($"config index {r.ConfigIndex} is negative", nameof(r));
        foreach (var (name, values) in r.Knobs)
        {
            if (name is null || values is null)
                throw new ArgumentException("a knob has a null name or values", nameof(r));
        }
        foreach (double c in r.Costs)
        {
            if (!double.IsFinite(c) || c < 0)
                throw new ArgumentException($"cost {c.ToString(CultureInfo.InvariantCulture)} is not a finite, non-negative number of seconds", nameof(r));
        }
        if (!double.IsFinite(r.TrialSeconds) || r.TrialSeconds < 0)
            throw new ArgumentException($"trial time {r.TrialSeconds.ToString(CultureInfo.InvariantCulture)} is not a finite, non-negative number of seconds", nameof(r));
        _ = ErrorName(r.Error);
    }

    /// <summary>
    /// Reads one line written by <see cref="Serialize"/>. Throws <see cref="FormatException"/> with
    /// the reason when the text is not JSON, not an object, lacks a field or has one of the wrong
    /// type, or comes from a newer format version.
    /// </summary>
    public static TuningRecord Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return Parse(Encoding.UTF8.GetBytes(line));
    }

    /// <summary><see cref="Parse(string)"/> on UTF-8 bytes.</summary>
    public static TuningRecord Parse(ReadOnlyMemory<byte> utf8)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, ReaderOptions);
        }
        catch (JsonException e)
        {
            throw new FormatException("not valid JSON: " + e.Message.ReplaceLineEndings(" "), e);
        }
        using (document)
            return FromJson(document.RootElement);
    }

    private static TuningRecord FromJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new FormatException($"expected a JSON object, found {Describe(root.ValueKind)}");

        // The version first: a newer format may have changed any other field.
        int version = Int(root, "version");
        if (version > TuningRecord.CurrentVersion)
            throw new FormatException($"format version {version} is newer than this autokernel reads ({TuningRecord.CurrentVersion}); upgrade autokernel");
        if (version < 1)
            throw new FormatException($"format version {version} is not valid");

        // Then the fields in the order they are written, so the first problem is the one reported.
        string target = Text(root, "target");
        int threads = Int(root, "threads");
        if (threads < 1)
            throw new FormatException($"field 'threads' must be at least 1, not {threads}");
        string workloadKey = Text(root, "workload_key");
        string template = Text(root, "template");
        long index = Get(root, "config_index", JsonValueKind.Number, "an integer").TryGetInt64(out long i) && i >= 0
            ? i
            : throw new FormatException("field 'config_index' must be a non-negative integer");
        var knobs = Knobs(root);
        double[] costs = Costs(root);
        string errorName = Text(root, "error");
        if (!TryParseError(errorName, out var error))
            throw new FormatException($"field 'error' has unknown value '{errorName}'");
        string? message = root.TryGetProperty("message", out var m) && m.ValueKind != JsonValueKind.Null
            ? m.ValueKind == JsonValueKind.String ? m.GetString() : throw new FormatException("field 'message' must be a string")
            : null;
        double trialSeconds = Seconds(Get(root, "trial_seconds", JsonValueKind.Number, "a number"), "trial_seconds");
        if (!Get(root, "timestamp", JsonValueKind.String, "a string").TryGetDateTimeOffset(out var timestamp))
            throw new FormatException("field 'timestamp' is not an ISO 8601 date and time");
        string toolVersion = Text(root, "tool_version");

        return new TuningRecord
        {
            Version = version,
            Target = target,
            Threads = threads,
            WorkloadKey = workloadKey,
            Template = template,
            ConfigIndex = index,
            Knobs = knobs,
            Costs = costs,
            Error = error,
            Message = message,
            TrialSeconds = trialSeconds,
            Timestamp = timestamp,
            ToolVersion = toolVersion,
        };
    }

    private static JsonElement Get(JsonElement root, string name, JsonValueKind kind, string what)
    {
        if (!root.TryGetProperty(name, out var value))
            throw new FormatException($"missing field '{name}'");
        if (value.ValueKind != kind)
            throw new FormatException($"field '{name}' must be {what}, not {Describe(value.ValueKind)}");
        return value;
    }

    private static string Text(JsonElement root, string name) => Get(root, name, JsonValueKind.String, "a string").GetString()!;

    private static int Int(JsonElement root, string name) =>
        Get(root, name, JsonValueKind.Number, "an integer").TryGetInt32(out int v) ? v : throw new FormatException($"field '{name}' must be a 32-bit integer");

    private static double Seconds(JsonElement value, string name) =>
        value.TryGetDouble(out double d) && double.IsFinite(d) && d >= 0
            ? d
            : throw new FormatException($"field '{name}' must hold finite, non-negative numbers of seconds");

    private static OrderedDictionary<string, int[]> Knobs(JsonElement root)
    {
        var knobs = new OrderedDictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var knob in Get(root, "knobs", JsonValueKind.Object, "an object").EnumerateObject())
        {
            if (knob.Value.ValueKind != JsonValueKind.Array)
                throw new FormatException($"knob '{knob.Name}' must be an array of integers");
            var values = new int[knob.Value.GetArrayLength()];
            int n = 0;
            foreach (var v in knob.Value.EnumerateArray())
            {
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out values[n++]))
                    throw new FormatException($"knob '{knob.Name}' must be an array of integers");
            }
            if (!knobs.TryAdd(knob.Name, values))
                throw new FormatException($"knob '{knob.Name}' appears twice");
        }
        return knobs;
    }

    private static double[] Costs(JsonElement root)
    {
        var array = Get(root, "costs", JsonValueKind.Array, "an array");
        var costs = new double[array.GetArrayLength()];
        int n = 0;
        foreach (var c in array.EnumerateArray())
        {
            if (c.ValueKind != JsonValueKind.Number)
                throw new FormatException("field 'costs' must hold finite, non-negative numbers of seconds");
            costs[n++] = Seconds(c, "costs");
        }
        return costs;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
