// The AutoKernel sample: ResNet-18, compiled into this assembly by `dotnet build`, next to
// ONNX Runtime on the same input. It checks that both give the same logits, then times both.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Resnet18Sample;

int warmup = Option(args, "--warmup", 50);
int runs = Option(args, "--runs", 100);
string modelPath = Path.Combine(AppContext.BaseDirectory, "resnet18.onnx");

// A seeded input in [-1, 1), the shape the generated class declares.
var random = new Random(42);
var input = new float[Resnet18.InputLength];
for (int i = 0; i < input.Length; i++)
    input[i] = (float)(random.NextDouble() * 2 - 1);
var output = new float[Resnet18.OutputLength];
int threads = Resnet18.TunedThreads;
Console.WriteLine($"ResNet-18, input [{string.Join(", ", Resnet18.InputShape.ToArray())}], {threads} threads, {Environment.ProcessorCount} logical processors");

// AutoKernel first, disposed before ONNX Runtime starts (its worker threads would compete).
double[] autoKernel;
using (var model = new Resnet18())
{
    model.Run(input, output);
    autoKernel = Time(() => model.Run(input, output), warmup, runs);
}

var sessionOptions = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
using var session = new InferenceSession(modelPath, sessionOptions);
var reference = new float[Resnet18.OutputLength];
using var inputValue = OrtValue.CreateTensorValueFromMemory(input, Resnet18.InputShape.ToArray().Select(d => (long)d).ToArray());
using var outputValue = OrtValue.CreateTensorValueFromMemory(reference, Resnet18.OutputShape.ToArray().Select(d => (long)d).ToArray());
using var binding = session.CreateIoBinding();
using var runOptions = new RunOptions();
binding.BindInput(Resnet18.InputName, inputValue);
binding.BindOutput(Resnet18.OutputName, outputValue);
session.RunWithBinding(runOptions, binding);

double maxError = 0, maxReference = 0;
for (int i = 0; i < output.Length; i++)
{
    maxError = Math.Max(maxError, Math.Abs(output[i] - reference[i]));
    maxReference = Math.Max(maxReference, Math.Abs(reference[i]));
}
bool same = maxError <= 1e-3 * Math.Max(1, maxReference);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Output check against ONNX Runtime: max |difference| {maxError:G3} (largest logit {maxReference:F3}), top-1 class {ArgMax(output)} vs {ArgMax(reference)}: {(same ? "match" : "MISMATCH")}"));

double[] onnxRuntime = Time(() => session.RunWithBinding(runOptions, binding), warmup, runs);
var (akMean, akStd) = MeanStd(autoKernel);
var (ortMean, ortStd) = MeanStd(onnxRuntime);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"AutoKernel    Mean inference time (std dev): {akMean:F2} ms ({akStd:F2} ms)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ONNX Runtime  Mean inference time (std dev): {ortMean:F2} ms ({ortStd:F2} ms)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"AutoKernel speed relative to ONNX Runtime: {ortMean / akMean:F2}x ({runs} runs each after {warmup} warm-up runs, in this process)"));
return same ? 0 : 1;

static double[] Time(Action run, int warmup, int runs)
{
    for (int i = 0; i < warmup; i++)
        run();
    var ms = new double[runs];
    for (int i = 0; i < runs; i++)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
    return ms;
}

static (double Mean, double Std) MeanStd(double[] values)
{
    double mean = values.Average();
    double variance = values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, values.Length - 1);
    return (mean, Math.Sqrt(variance));
}

static int ArgMax(float[] values)
{
    int best = 0;
    for (int i = 1; i < values.Length; i++)
    {
        if (values[i] > values[best])
            best = i;
    }
    return best;
}

static int Option(string[] args, string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : fallback;
}
