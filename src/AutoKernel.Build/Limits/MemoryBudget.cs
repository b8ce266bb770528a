using System.Globalization;
using AutoKernel.Build.Graph;

namespace AutoKernel.Build.Limits;

/// <summary>
/// How much memory a command may use for tensors: every tensor import reads, every value the
/// resolver infers or folds, the reference interpreter's live values, and a compiled model's arena
/// and weights. A tensor or step that would go over <see cref="LimitBytes"/> is a
/// <see cref="ModelException"/> (kind <see cref="ModelErrorKind.MemoryLimit"/>) naming what needed
/// the bytes, instead of an out-of-memory crash.
/// <para>
/// Constant folding materializes at most <see cref="FoldLimitBytes"/> per output unless the output
/// has no more elements than the node's largest constant input (a Transpose, Cast or Slice of a
/// weight the file already holds); anything larger is left to run time.
/// </para>
/// <para>
/// The budget in force is ambient (<see cref="Current"/>, set for a scope with <see cref="Use"/>),
/// so that importer, resolver and interpreter need no extra parameters; it defaults to
/// <see cref="Machine"/>.
/// </para>
/// </summary>
public sealed class MemoryBudget
{
    /// <summary>The command-line option that sets <see cref="LimitBytes"/>.</summary>
    public const string LimitOption = "--memory-limit";

    /// <summary>The command-line option that sets <see cref="FoldLimitBytes"/>.</summary>
    public const string FoldOption = "--fold-limit";

    /// <summary>The environment variable that sets <see cref="LimitBytes"/> when the option is absent (the MSBuild path).</summary>
    public const string LimitVariable = "AUTOKERNEL_MEMORY_LIMIT";

    /// <summary>The environment variable that sets <see cref="FoldLimitBytes"/> when the option is absent.</summary>
    public const string FoldVariable = "AUTOKERNEL_FOLD_LIMIT";

    /// <summary>The default fold limit: 64 MiB, far above any shape chain or mask, far below a memory bomb.</summary>
    public const long DefaultFoldLimitBytes = 64L << 20;

    /// <summary>The share of the memory available to the process that the default budget takes.</summary>
    public const double DefaultShare = 0.5;

    /// <summary>The budget when the runtime reports no memory size (it always does on supported systems).</summary>
    public const long FallbackLimitBytes = 4L << 30;

    private static readonly AsyncLocal<MemoryBudget?> s_current = new();
    private static readonly Lazy<MemoryBudget> s_machine = new(() => new MemoryBudget(MachineLimitBytes(), DefaultFoldLimitBytes));

    public MemoryBudget(long limitBytes, long foldLimitBytes = DefaultFoldLimitBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(foldLimitBytes);
        LimitBytes = limitBytes;
        FoldLimitBytes = Math.Min(foldLimitBytes, limitBytes);
    }

    /// <summary>Bytes of tensors a command may hold at once.</summary>
    public long LimitBytes { get; }

    /// <summary>Bytes of one folded constant above which a node whose output outgrows its constant inputs is left to run time.</summary>
    public long FoldLimitBytes { get; }

    /// <summary>Half the memory available to the process (a container's limit when there is one, as the GC sees it).</summary>
    public static MemoryBudget Machine => s_machine.Value;

    /// <summary>The budget in force on this logical call (set by <see cref="Use"/>), else <see cref="Machine"/>.</summary>
    public static MemoryBudget Current => s_current.Value ?? Machine;

    /// <summary>Makes <paramref name="budget"/> <see cref="Current"/> until the returned scope is disposed.</summary>
    public static IDisposable Use(MemoryBudget budget)
    {
        ArgumentNullException.ThrowIfNull(budget);
        var previous = s_current.Value;
        s_current.Value = budget;
        return new Scope(previous);
    }

    private sealed class Scope(MemoryBudget? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            s_current.Value = previous;
        }
    }

    /// <summary>
    /// The budget a command runs with: each limit from its option's text when given, else from its
    /// environment variable when set, else the default. Bad text is a one-line error.
    /// <paramref name="environment"/> reads a variable (default: the process's environment).
    /// </summary>
    public static MemoryBudget Resolve(string? limitText, string? foldText, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        long limit = limitText is not null ? Parse(limitText, LimitOption)
            : environment(LimitVariable) is { Length: > 0 } env ? Parse(env, LimitVariable)
            : Machine.LimitBytes;
        long fold = foldText is not null ? Parse(foldText, FoldOption)
            : environment(FoldVariable) is { Length: > 0 } foldEnv ? Parse(foldEnv, FoldVariable)
            : DefaultFoldLimitBytes;
        return new MemoryBudget(limit, fold);
    }

    private static long MachineLimitBytes()
    {
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return available > 0 ? (long)(available * DefaultShare) : FallbackLimitBytes;
    }

    private static readonly (string Suffix, long Factor)[] Units =
    [
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40),
        ("KB", 1000L), ("MB", 1000_000L), ("GB", 1000_000_000L), ("TB", 1000_000_000_000L),
        ("B", 1L),
    ];

    /// <summary>
    /// Parses a size: a whole number of bytes, optionally followed (without a space) by B, KiB, MiB,
    /// GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000). The units are case-sensitive
    /// and the size must be positive. <paramref name="source"/> names the option or variable in the error.
    /// </summary>
    public static long Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        string digits = text;
        long factor = 1;
        foreach (var (suffix, f) in Units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                digits = text[..^suffix.Length];
                factor = f;
                break;
            }
        }
        if (digits.Length == 0 || digits.Length > 19 || !digits.All(char.IsAsciiDigit)
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value == 0)
            throw Invalid(text, source);
        try
        {
            return checked(value * factor);
        }
        catch (OverflowException)
        {
            throw Invalid(text, source);
        }
    }

    private static ModelException Invalid(string text, string source) =>
        new($"{source} '{text}' is not a size: give a positive whole number of bytes, optionally with a unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB), e.g. 512MiB or 8GiB")
        { Kind = ModelErrorKind.InvalidOption };

    /// <summary>"1234567 bytes (1.2 MiB)": exact, and readable at a glance.</summary>
    public static string Format(long bytes)
    {
        string exact = bytes.ToString(CultureInfo.InvariantCulture) + (bytes == 1 ? " byte" : " bytes");
        if (bytes < 1024)
            return exact;
        string[] units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return exact + string.Create(CultureInfo.InvariantCulture, $" ({v:0.0} {units[u]})");
    }

    /// <summary>How the limit reads in messages: "the memory limit of N bytes (X GiB; --memory-limit)".</summary>
    public string Describe() => $"the memory limit of {Format(LimitBytes)} (set with {LimitOption} or {LimitVariable})";

    /// <summary>Bytes of a tensor of <paramref name="type"/> with <paramref name="elements"/> elements (no overflow: saturates).</summary>
    public static long BytesOf(DataType type, long elements)
    {
        int size = type == DataType.Undefined ? 8 : SizeOrEight(type);
        return elements > long.MaxValue / size ? long.MaxValue : elements * size;
    }

    private static int SizeOrEight(DataType type)
    {
        try
        {
            return type.SizeInBytes();
        }
        catch (ArgumentOutOfRangeException)
        {
            return 8;
        }
    }

    /// <summary>Bytes of a value of type <paramref name="type"/> (static shape), saturating instead of overflowing.</summary>
    public static long BytesOf(TensorType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return BytesOf(type.ElementType, ElementsOf(type.Shape));
    }

    /// <summary>Bytes held by a tensor's storage.</summary>
    public static long BytesOf(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return BytesOf(tensor.Type, tensor.Length);
    }

    /// <summary>The element count of a static shape, saturating at <see cref="long.MaxValue"/> instead of overflowing.</summary>
    public static long ElementsOf(ReadOnlySpan<int> shape)
    {
        foreach (int d in shape)
        {
            if (d == 0)
                return 0;
        }
        long n = 1;
        foreach (int d in shape)
            n = d < 0 || n > long.MaxValue / d ? long.MaxValue : n * d;
        return n;
    }

    /// <summary>
    /// Throws when a value of <paramref name="type"/> cannot exist: more elements than one managed
    /// array holds (the reference kernels and generated code index with int), or more bytes than the
    /// limit. <paramref name="what"/> names it ("output 'y'", "input 'x'").
    /// </summary>
    public void CheckValue(string what, TensorType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!type.IsStatic)
            return;
        long elements = ElementsOf(type.Shape);
        if (elements > Array.MaxLength)
            throw new ModelException(string.Create(CultureInfo.InvariantCulture,
                $"{what} {type} has {(elements == long.MaxValue ? "more than 2^63" : elements.ToString(CultureInfo.InvariantCulture))} elements; AutoKernel tensors hold at most {Array.MaxLength} elements"))
            { Kind = ModelErrorKind.MemoryLimit };
        CheckBytes(what + " " + type, BytesOf(type));
    }

    /// <summary>Throws when <paramref name="bytes"/> is over the limit: "{what} needs N bytes, more than the memory limit of ...".</summary>
    public void CheckBytes(string what, long bytes)
    {
        if (bytes > LimitBytes)
            throw new ModelException($"{what} needs {Format(bytes)}, more than {Describe()}") { Kind = ModelErrorKind.MemoryLimit };
    }
}
