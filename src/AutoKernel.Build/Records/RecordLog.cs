using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AutoKernel.Build.Records;

/// <summary>
/// A tuning log: a text file of <see cref="TuningRecord"/> lines (<see cref="RecordFormat"/>), one per
/// measurement, appended in batches and never rewritten. An instance holds the contents of the file
/// as <see cref="Load"/> read them.
/// </summary>
public sealed class RecordLog
{
    /// <summary>How long <see cref="Append(string, IReadOnlyList{TuningRecord})"/> waits for another writer.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(30);

    private readonly Lazy<IReadOnlyDictionary<(string Target, int Threads, string WorkloadKey), TuningRecord>> _best;

    private RecordLog(string path, IReadOnlyList<TuningRecord> records, IReadOnlyList<string> warnings)
    {
        Path = path;
        Records = records;
        Warnings = warnings;
        _best = new(() => Best(Records));
    }

    /// <summary>A log with no records (compiling without tuning).</summary>
    public static RecordLog Empty { get; } = new("", [], []);

    /// <summary>The file, as given to <see cref="Load"/>.</summary>
    public string Path { get; }

    /// <summary>The records in file order.</summary>
    public IReadOnlyList<TuningRecord> Records { get; }

    /// <summary>One line per ignored line, e.g. "tune.log: line 12 is truncated (a killed run?); ignored".</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// Reads a log. A missing file (or folder) gives an empty log without warnings. Blank lines are
    /// skipped. A line that does not parse is ignored with a warning ("file: line N is truncated (a
    /// killed run?); ignored") when it is <em>cut short</em>: the start of a JSON object that ends
    /// before the object closes, with no syntax error up to there, optionally followed by NUL
    /// padding. That is what a writer killed mid-line leaves: at the end of the file, or in the
    /// middle once a later <see cref="Append(string, IReadOnlyList{TuningRecord})"/> has ended the
    /// fragment with a line break; it is also what a reader sees of a line being written right now.
    /// Any other line that does not parse is an error, wherever it is (<see cref="ModelException"/>
    /// "file:line: reason", one line): text that is not JSON, a complete object with a missing or
    /// mistyped field, a record from a newer format version. A last line without a line break that
    /// parses is kept. The file is read without taking the writers' lock.
    /// </summary>
    public static RecordLog Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            bytes = copy.ToArray();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new RecordLog(path, [], []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"{path}: cannot read the tuning log: {e.Message}", e) { Kind = ModelErrorKind.BrokenLog };
        }

        var records = new List<TuningRecord>();
        var warnings = new List<string>();
        ReadOnlyMemory<byte> memory = bytes;
        if (memory.Span.StartsWith("\uFEFF"u8))
            memory = memory[3..];
        int lineNumber = 0;
        while (!memory.IsEmpty)
        {
            lineNumber++;
            int end = memory.Span.IndexOf((byte)'\n');
            var line = end >= 0 ? memory[..end] : memory;
            memory = end >= 0 ? memory[(end + 1)..] : ReadOnlyMemory<byte>.Empty;
            if (line.Span.EndsWith("\r"u8))
                line = line[..^1];
            if (line.Span.Trim(" \t"u8).IsEmpty)
                continue;

            try
            {
                records.Add(RecordFormat.Parse(line));
            }
            catch (FormatException e)
            {
                if (!IsCutShort(line.Span))
                    throw new ModelException($"{path}:{lineNumber.ToString(CultureInfo.InvariantCulture)}: {e.Message}", e) { Kind = ModelErrorKind.BrokenLog };
                warnings.Add($"{path}: line {lineNumber.ToString(CultureInfo.InvariantCulture)} is truncated (a killed run?); ignored");
            }
        }
        return new RecordLog(path, records, warnings);
    }

    /// <summary>
    /// True when <paramref name="line"/> (ignoring trailing NUL bytes) is a proper prefix of a JSON
    /// object: it starts with '{' and the text ends before the object closes, with no syntax error
    /// on the way. An all-NUL line counts too (file space allocated but never written).
    /// </summary>
    internal static bool IsCutShort(ReadOnlySpan<byte> line)
    {
        line = line.TrimEnd((byte)0);
        line = line.TrimStart(" \t"u8);
        if (line.IsEmpty)
            return true;
        if (line[0] != (byte)'{')
            return false;
        var reader = new Utf8JsonReader(line, isFinalBlock: false, state: default);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0)
                    return false;
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// <see cref="Append(string, IReadOnlyList{TuningRecord}, TimeSpan)"/> with <see cref="DefaultLockTimeout"/>.
    /// </summary>
    public static void Append(string path, IReadOnlyList<TuningRecord> batch) => Append(path, batch, DefaultLockTimeout);

    /// <summary>
    /// Appends one batch, all or nothing as far as this process can tell: every record is
    /// serialized first (an unwritable record throws before the file is touched), then all lines go
    /// out in a single write while holding the log's lock, and the file is flushed to disk
    /// (<c>Flush(true)</c>) before the lock is released. The file and its folder are created when
    /// missing; an empty batch does nothing.
    /// <para>
    /// The lock is exclusive across threads (a monitor per full path) and across processes (the
    /// lock file <see cref="LogLock.LockFileFor"/> in the temporary folder, opened with <see cref="FileShare.None"/>, which on
    /// Linux and macOS is a <c>flock</c> and on Windows a sharing lock, plus a byte-range lock on
    /// Linux and Windows, which holds even when .NET's file locking is switched off). The lock file
    /// is left in place; deleting it would race with the next writer. Readers do not take it.
    /// </para>
    /// <para>
    /// When the file does not end with a line break (a writer was killed mid-line), a line break is
    /// written first, so that the fragment stays a line of its own, which <see cref="Load"/> ignores
    /// with a warning.
    /// </para>
    /// </summary>
    /// <exception cref="IOException">The lock was not acquired within <paramref name="lockTimeout"/>, or writing failed.</exception>
    public static void Append(string path, IReadOnlyList<TuningRecord> batch, TimeSpan lockTimeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
            return;
        var text = new StringBuilder(batch.Count * 512);
        foreach (var record in batch)
            text.Append(RecordFormat.Serialize(record)).Append('\n');
        byte[] lines = Encoding.UTF8.GetBytes(text.ToString());

        string full = System.IO.Path.GetFullPath(path);
        string? folder = System.IO.Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(folder))
            Directory.CreateDirectory(folder);

        using (LogLock.Acquire(full, lockTimeout))
        {
            using var stream = new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            long end = stream.Length;
            byte[] bytes = lines;
            if (end > 0)
            {
                stream.Position = end - 1;
                if (stream.ReadByte() != '\n')
                    bytes = [(byte)'\n', .. lines];
            }
            stream.Position = end;
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>
    /// AutoTVM's apply_history_best: per (target, threads, workload key), the valid record with the
    /// lowest <see cref="TuningRecord.MeanCost"/> over all templates; on a tie the earliest wins.
    /// </summary>
    public static IReadOnlyDictionary<(string Target, int Threads, string WorkloadKey), TuningRecord> Best(IEnumerable<TuningRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var best = new Dictionary<(string Target, int Threads, string WorkloadKey), TuningRecord>();
        foreach (var r in records)
        {
            if (!r.IsValid)
                continue;
            var key = (r.Target, r.Threads, r.WorkloadKey);
            if (!best.TryGetValue(key, out var current) || r.MeanCost < current.MeanCost)
                best[key] = r;
        }
        return best;
    }

    /// <summary>The best valid record of a task (see <see cref="Best"/>), or null when it has none.</summary>
    public TuningRecord? BestFor(string target, int threads, string workloadKey) =>
        _best.Value.TryGetValue((target, threads, workloadKey), out var r) ? r : null;

    /// <summary>The records of one task in file order, all templates and errors included: for resuming and warm starts.</summary>
    public IEnumerable<TuningRecord> For(string target, int threads, string workloadKey) =>
        Records.Where(r => r.Threads == threads
            && string.Equals(r.WorkloadKey, workloadKey, StringComparison.Ordinal)
            && string.Equals(r.Target, target, StringComparison.Ordinal));
}
