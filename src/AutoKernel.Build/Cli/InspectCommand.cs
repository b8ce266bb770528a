using System.CommandLine;
using System.Globalization;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Tasks;
using AutoKernel.Generator.Workloads;

namespace AutoKernel.Build.Cli;

/// <summary>`autokernel inspect MODEL`: the graph after passes and its task table.</summary>
public static class InspectCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = CommandLine.ModelArgument();
        var shapes = CommandLine.InputShapeOption();
        var memoryLimit = CommandLine.MemoryLimitOption();
        var foldLimit = CommandLine.FoldLimitOption();
        var command = new Command("inspect", "Print the graph after passes (op counts, parameters, FLOPs) and its tunable tasks.") { model, shapes, memoryLimit, foldLimit };
        command.SetAction(parse =>
        {
            var budget = CommandLine.Budget(parse, memoryLimit, foldLimit);
            var loaded = ModelPipeline.Load(parse.GetValue(model)!, CommandLine.InputShapes(parse, shapes), budget);
            Print(loaded, stdout);
            return 0;
        });
        return command;
    }

    public static void Print(LoadedModel loaded, TextWriter w)
    {
        var ci = CultureInfo.InvariantCulture;
        var g = loaded.Optimized;
        w.WriteLine($"model     {loaded.Path} (opset {g.Opset.ToString(ci)})");
        foreach (var i in g.Inputs)
            w.WriteLine($"input     {i.Name} {i.Type}");
        foreach (var o in g.Outputs)
            w.WriteLine($"output    {o.Name} {o.Type}");
        w.WriteLine();
        w.WriteLine("passes");
        foreach (var (pass, summary) in loaded.Report.Entries)
            w.WriteLine($"  {pass,-20} {summary}");
        w.WriteLine();

        var tasks = TaskExtractor.Extract(g);
        long weights = g.Initializers.Values.Sum(t => (long)t.Length);
        long flops = g.Nodes.Sum(n => TaskExtractor.WorkloadOf(g, n)?.Flops ?? 0);
        w.WriteLine(string.Create(ci, $"graph     {g.Nodes.Count} nodes (from {loaded.Resolved.Nodes.Count}), {weights:N0} weight values, {flops / 1e9:F3} GFLOPs in tunable nodes"));
        foreach (var group in g.Nodes.GroupBy(n => n.OpType).OrderByDescending(x => x.Count()).ThenBy(x => x.Key, StringComparer.Ordinal))
            w.WriteLine(string.Create(ci, $"  {group.Key,-20} {group.Count(),5}"));
        w.WriteLine();

        w.WriteLine(string.Create(ci, $"tasks     {tasks.Count} distinct tunable workloads"));
        w.WriteLine(string.Create(ci, $"  {"#",3}  {"kind",-16} {"shape",-52} {"nodes",5} {"MFLOP",10}  key"));
        for (int t = 0; t < tasks.Count; t++)
        {
            var task = tasks[t];
            w.WriteLine(string.Create(ci, $"  {t + 1,3}  {task.Workload.Kind,-16} {task.Workload.Shape,-52} {task.Nodes.Count,5} {task.Workload.Flops / 1e6,10:F1}  {task.Key}"));
        }
    }
}
