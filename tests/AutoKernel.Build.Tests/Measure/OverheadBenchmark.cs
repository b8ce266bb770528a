using System.Diagnostics;
using AutoKernel.Build.Measure;
using static AutoKernel.Build.Tests.Measure.PlantedKernels;
namespace AutoKernel.Build.Tests.Measure;

[Collection("Measure")]
public sealed class OverheadBenchmark(ITestOutputHelper output)
{
    /// <summary>Compile and round-trip overheads, printed; run with --filter-class "*OverheadBenchmark*".</summary>
    [Fact(Explicit = true)]
    public void Bench()
    {
        var builder = new BatchBuilder();
        builder.Build([Correct("Warm")]).Dispose();
        for (int rep = 0; rep < 3; rep++)
        {
            var sw = Stopwatch.StartNew();
            builder.Build([Correct("One" + rep)]).Dispose();
            double one = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            builder.Build([.. Enumerable.Range(0, 16).Select(i => Correct($"S{rep}_{i}"))]).Dispose();
            double sixteen = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            builder.Build([.. Enumerable.Range(0, 64).Select(i => Correct($"L{rep}_{i}"))]).Dispose();
            double sixtyfour = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var b = builder.Build([.. Enumerable.Range(0, 15).Select(i => Correct($"E{rep}_{i}")), DenseCandidate($"E{rep}_x", "undefinedName++;")]);
            double witherr = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            for (int i = 0; i < 16; i++)
                builder.Build([Correct($"Single{rep}_{i}")]).Dispose();
            double separate = sw.Elapsed.TotalMilliseconds;
            output.WriteLine($"16 separate compiles: {separate:F0} ms");
            output.WriteLine($"compile 1: {one:F0} ms, 16: {sixteen:F0} ms, 64: {sixtyfour:F0} ms, 16 with 1 semantic error: {witherr:F0} ms ({b.Compilations} compilations)");
            b.Dispose();
        }
        using var runner = new Runner(new MeasureOptions { Number = 1, Repeat = 1, MinRepeatMs = 0, Warmup = 1 });
        var sw2 = Stopwatch.StartNew();
        runner.Measure([Correct("First")]);
        output.WriteLine($"first measure (child start + JIT): {sw2.Elapsed.TotalMilliseconds:F0} ms");
        for (int rep = 0; rep < 3; rep++)
        {
            var batch = Enumerable.Range(0, 32).Select(i => Correct($"R{rep}_{i}")).ToList();
            sw2.Restart();
            var results = runner.Measure(batch);
            double total = sw2.Elapsed.TotalMilliseconds;
            double build = results[0].BuildSeconds * 32 * 1e3;
            var runs = results.Select(r => r.RunSeconds * 1e3).OrderBy(x => x).ToArray();
            output.WriteLine($"32 candidates: total {total:F0} ms, build {build:F0} ms, per-candidate round trip median {runs[16]:F2} ms, min {runs[0]:F2}, max {runs[^1]:F2}; errors {results.Count(r => r.Error != MeasureError.None)}");
        }
        using var convRunner = new Runner(new MeasureOptions { Number = 1, Repeat = 1, MinRepeatMs = 0 });
        sw2.Restart();
        convRunner.Measure([ConvCandidate("C0")]);
        output.WriteLine($"restart: new child + conv: {sw2.Elapsed.TotalMilliseconds:F0} ms");
    }
}
