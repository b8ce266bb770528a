// Plots tuning curves: `dotnet run --project bench/AutoKernel.Plots -- curves.csv out-folder`.
// Writes tuning-curves.png (each tuner's best GFLOPS as a share of the task's best, median over
// seeds, averaged over tasks) and tuning-curves-task<N>.png (median over seeds, GFLOPS).
using System.Globalization;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: AutoKernel.Plots <curves.csv> <output folder>");
    return 1;
}

var rows = File.ReadLines(args[0]).Skip(1).Where(l => l.Length > 0).Select(line =>
{
    string[] f = line.Split(',');
    return (Task: int.Parse(f[0], CultureInfo.InvariantCulture), Tuner: f[1], Seed: int.Parse(f[2], CultureInfo.InvariantCulture),
        Trial: int.Parse(f[3], CultureInfo.InvariantCulture), Best: double.Parse(f[4], CultureInfo.InvariantCulture));
}).ToList();
Directory.CreateDirectory(args[1]);
string[] tuners = [.. rows.Select(r => r.Tuner).Distinct()];
int[] tasks = [.. rows.Select(r => r.Task).Distinct().Order()];

// Median over seeds of the best after each trial, per (task, tuner).
double[] MedianCurve(int task, string tuner)
{
    var bySeed = rows.Where(r => r.Task == task && r.Tuner == tuner).GroupBy(r => r.Seed)
        .Select(g => g.OrderBy(r => r.Trial).Select(r => r.Best).ToArray()).ToList();
    int length = bySeed.Min(c => c.Length);
    return [.. Enumerable.Range(0, length).Select(i => Median([.. bySeed.Select(c => c[i])]))];
}

static double Median(double[] v)
{
    Array.Sort(v);
    return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
}

var normalized = tuners.ToDictionary(t => t, _ => new List<double[]>());
foreach (int task in tasks)
{
    var plot = new ScottPlot.Plot();
    double taskBest = rows.Where(r => r.Task == task).Max(r => r.Best);
    foreach (string tuner in tuners)
    {
        var curve = MedianCurve(task, tuner);
        var line = plot.Add.ScatterLine([.. Enumerable.Range(1, curve.Length).Select(i => (double)i)], curve);
        line.LegendText = tuner;
        line.LineWidth = 2;
        normalized[tuner].Add([.. curve.Select(v => v / taskBest)]);
    }
    plot.Title($"Task {task}: best GFLOPS against trials (median over seeds)");
    plot.XLabel("trials");
    plot.YLabel("best GFLOPS");
    plot.ShowLegend(ScottPlot.Alignment.LowerRight);
    plot.SavePng(Path.Combine(args[1], $"tuning-curves-task{task}.png"), 800, 500);
}

var summary = new ScottPlot.Plot();
foreach (string tuner in tuners)
{
    int length = normalized[tuner].Min(c => c.Length);
    double[] mean = [.. Enumerable.Range(0, length).Select(i => normalized[tuner].Average(c => c[i]))];
    var line = summary.Add.ScatterLine([.. Enumerable.Range(1, length).Select(i => (double)i)], mean);
    line.LegendText = tuner;
    line.LineWidth = 2;
}
summary.Title($"Tuning curves over {tasks.Length} tasks: best as a share of the task's best (median over seeds, mean over tasks)");
summary.XLabel("trials");
summary.YLabel("share of the best found by any tuner");
summary.ShowLegend(ScottPlot.Alignment.LowerRight);
summary.SavePng(Path.Combine(args[1], "tuning-curves.png"), 1000, 600);
Console.WriteLine($"wrote {tasks.Length + 1} plots to {args[1]}");
return 0;
