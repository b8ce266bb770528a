namespace AutoKernel.Build.Compile;

/// <summary>Why a task did not get an exact tuning record.</summary>
public enum CompileWarningKind
{
    /// <summary>No record at all: the rule-based fallback configuration (<see cref="FallbackConfig"/>).</summary>
    Fallback,

    /// <summary>No record for this target and thread count: the best of the same ISA.</summary>
    SimilarTarget,

    /// <summary>Records that no longer match this version's schedule space were ignored.</summary>
    StaleRecords,
}

/// <summary>One line the compiler warns about a task (at most one of each kind per task).</summary>
public sealed record CompileWarning(CompileWarningKind Kind, string Message)
{
    public override string ToString() => Message;
}
