using System.Globalization;
using AutoKernel.Build.Measure;
using AutoKernel.Build.Records;

// Usage: AutoKernel.RecordsStress LOG WRITER BATCHES BATCH_SIZE GO_FILE
// Waits until GO_FILE exists (so that all writers start together), then appends BATCHES batches of
// BATCH_SIZE records to LOG. Record (writer w, batch b, item i) has workload key "writer-w",
// config index b * BATCH_SIZE + i and knobs writer=[w], batch=[b], item=[i]; its message is long so
// that one batch is a write of tens of kilobytes.
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: AutoKernel.RecordsStress LOG WRITER BATCHES BATCH_SIZE GO_FILE");
    return 2;
}

string log = args[0];
int writer = int.Parse(args[1], CultureInfo.InvariantCulture);
int batches = int.Parse(args[2], CultureInfo.InvariantCulture);
int batchSize = int.Parse(args[3], CultureInfo.InvariantCulture);
string go = args[4];

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

string padding = string.Concat(Enumerable.Repeat($"writer {writer} was here; ", 80));
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
            Knobs = new Dictionary<string, int[]> { ["writer"] = [writer], ["batch"] = [b], ["item"] = [i] },
            Costs = [1e-3 * (writer + 1), 1e-3 * (b + 1)],
            Error = MeasureError.None,
            Message = padding,
            TrialSeconds = 0.25,
            Timestamp = DateTimeOffset.UtcNow,
            ToolVersion = TuningRecord.CurrentToolVersion,
        });
    }
    RecordLog.Append(log, batch);
}
return 0;
