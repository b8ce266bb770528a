using System.CommandLine;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Limits;

namespace AutoKernel.Build.Cli;

/// <summary>The `autokernel` command line. Exit codes: 0 success, 1 bad input or failed check, 2 internal error.</summary>
public static class CommandLine
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show stack traces for errors.",
        Recursive = true,
    };

    /// <param name="interactive">stdout is a terminal: progress lines are redrawn in place.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive = false)
    {
        var root = new RootCommand("AutoKernel: import ONNX models, extract and tune their kernels, generate C#.")
        {
            Verbose,
        };
        root.Subcommands.Add(ZooCommand.Create(stdout));
        root.Subcommands.Add(InspectCommand.Create(stdout));
        root.Subcommands.Add(RunCommand.Create(stdout, stderr));
        root.Subcommands.Add(TuneCommand.Create(stdout, stderr, interactive));
        root.Subcommands.Add(CompileCommand.Create(stdout, stderr));
        root.Subcommands.Add(BuildCommand.Create(stdout, stderr));
        root.Subcommands.Add(BenchOpsCommand.Create(stdout));
        root.Subcommands.Add(BenchTunersCommand.Create(stdout));
        root.Subcommands.Add(BenchTunersCommand.CreateCostModel(stdout));
        root.Subcommands.Add(BenchOpsCommand.CreateParallel(stdout));
        root.Subcommands.Add(RunnerCommand.Create());
        root.Subcommands.Add(OrtTimeCommand.Create(stdout));
        root.Subcommands.Add(BenchModelCommand.Create(stdout, stderr));
        root.Subcommands.Add(GeneratedTimeCommand.Create(stdout));
        var parse = root.Parse(args);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return parse.Invoke(config);
        }
        catch (ModelException e)
        {
            stderr.WriteLine($"error: {e.Describe()}");
            if (parse.GetValue(Verbose))
                stderr.WriteLine(e.StackTrace);
            return 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stderr.WriteLine($"error: internal error: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            if (parse.GetValue(Verbose))
                stderr.WriteLine(e);
            else
                stderr.WriteLine("(run with --verbose for the stack trace, and please report it)");
            return 2;
        }
    }

    /// <summary>The repeatable --input-shape name=d0,d1,... option.</summary>
    public static Option<string[]> InputShapeOption() => new("--input-shape")
    {
        Description = "Fix an input's shape, e.g. --input-shape input=1,3,224,224 (repeatable; required for dynamic dimensions).",
        AllowMultipleArgumentsPerToken = false,
    };

    public static Dictionary<string, int[]> InputShapes(ParseResult parse, Option<string[]> option) => InputShapes(parse.GetValue(option) ?? []);

    /// <summary>"name=d0,d1,..." texts as a map; a name given twice is an error.</summary>
    public static Dictionary<string, int[]> InputShapes(IEnumerable<string> texts)
    {
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (string text in texts)
        {
            var (name, dims) = GraphResolver.ParseInputShape(text);
            if (!shapes.TryAdd(name, dims))
                throw new ModelException($"the shape of input '{name}' is given twice") { Kind = ModelErrorKind.InputShape };
        }
        return shapes;
    }

    /// <summary>--memory-limit SIZE: the memory budget of import, folding, execution and compile.</summary>
    public static Option<string?> MemoryLimitOption() => new(MemoryBudget.LimitOption)
    {
        Description = $"Most memory the model's tensors may take, e.g. 512MiB, 8GiB or a byte count (default: {MemoryBudget.LimitVariable} when set, else half the memory available, now {MemoryBudget.Format(MemoryBudget.Machine.LimitBytes)}).",
    };

    /// <summary>--fold-limit SIZE: the largest constant folding materializes when the output outgrows its inputs.</summary>
    public static Option<string?> FoldLimitOption() => new(MemoryBudget.FoldOption)
    {
        Description = $"Largest tensor constant folding makes from smaller constants (ConstantOfShape, Range, Expand, Tile, ...); larger ones run at run time (default: {MemoryBudget.FoldVariable} when set, else 64MiB).",
    };

    /// <summary>The budget a command runs with, from its --memory-limit and --fold-limit (or the environment, or the defaults).</summary>
    public static MemoryBudget Budget(ParseResult parse, Option<string?> memoryLimit, Option<string?> foldLimit) =>
        MemoryBudget.Resolve(parse.GetValue(memoryLimit), parse.GetValue(foldLimit));

    public static Argument<string> ModelArgument() => new("model") { Description = "The ONNX model file." };
}
