using System.Globalization;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;

// Usage: AutoKernel.RecordsStress LOG WRITER BATCHES BATCH_SIZE GO_FILE [--expect-file-locking-off]
// Waits until GO_FILE exists (so that all writers start together), then appends BATCHES batches of
// BATCH_SIZE records to LOG. Record (writer w, batch b, item i) has workload key "writer-w",
// config index b * BATCH_SIZE + i and knobs writer=[w], batch=[b], item=[i], padding=[w] * 2000, so
// that one batch is a write of tens of kilobytes; its message is "writer w was here; " 20 times.
// With --expect-file-locking-off the writer first proves that .NET's file locking is switched off in
// this process (DOTNET_SYSTEM_IO_DISABLEFILELOCKING=1: two FileShare.None opens of one file both
// succeed) and exits with 4 if it is not, so that a test of the byte-range lock cannot pass on flock.
if (args.Length is not (5 or 6) || args.Length == 6 && args[5] != "--expect-file-locking-off")
{
    Console.Error.WriteLine("usage: AutoKernel.RecordsStress LOG WRITER BATCHES BATCH_SIZE GO_FILE [--expect-file-locking-off]");
    return 2;
}

string log = args[0];
int writer = int.Parse(args[1], CultureInfo.InvariantCulture);
int batches = int.Parse(args[2], CultureInfo.InvariantCulture);
int batchSize = int.Parse(args[3], CultureInfo.InvariantCulture);
string go = args[4];

if (args.Length == 6 && !FileLockingIsOff(log + ".probe-" + writer.ToString(CultureInfo.InvariantCulture)))
{
    Console.Error.WriteLine($"writer {writer}: .NET file locking is on; expected DOTNET_SYSTEM_IO_DISABLEFILELOCKING=1");
    return 4;
}

var deadline = DateTime.UtcNow.AddMinutes(2);
while (!File.Exists(go))
{
    if (DateTime.UtcNow > deadline)
    {
        Console.Error.WriteLine($"writer {writer}: {go} did not appear");
        return 3;
    }
    Thread.Sleep(5);
}

string message = string.Concat(Enumerable.Repeat($"writer {writer} was here; ", 20));
int[] padding = [.. Enumerable.Repeat(writer, 2000)];
for (int b = 0; b < batches; b++)
{
    var batch = new List<TuningRecord>(batchSize);
    for (int i = 0; i < batchSize; i++)
    {
        batch.Add(new TuningRecord
        {
            Target = "stress target",
            Threads = 1,
            WorkloadKey = $"writer-{writer}",
            Template = "stress",
            ConfigIndex = (long)b * batchSize + i,
            Knobs = new Dictionary<string, int[]> { ["writer"] = [writer], ["batch"] = [b], ["item"] = [i], ["padding"] = padding },
            Costs = [1e-3 * (writer + 1), 1e-3 * (b + 1)],
            Error = MeasureError.None,
            Message = message,
            TrialSeconds = 0.25,
            Timestamp = DateTimeOffset.UtcNow,
            ToolVersion = TuningRecord.CurrentToolVersion,
        });
    }
    RecordLog.Append(log, batch);
}
return 0;

// True when a second FileShare.None open of one file succeeds: .NET takes no flock.
static bool FileLockingIsOff(string probe)
{
    try
    {
        using var first = new FileStream(probe, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        try
        {
            using var second = new FileStream(probe, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
    finally
    {
        File.Delete(probe);
    }
}
