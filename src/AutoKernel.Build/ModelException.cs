using System.Text;

namespace AutoKernel.Build;

/// <summary>
/// A problem with the user's input (model file, shapes, options, tuning log). The command line
/// prints <see cref="Describe"/> on one line and exits with code 1; no stack trace unless --verbose.
/// </summary>
public sealed class ModelException : Exception
{
    /// <summary>What kind of problem it is; `autokernel build` maps it to a diagnostic code (AK1001–AK1005, AK1007).</summary>
    public ModelErrorKind Kind { get; init; }

    public ModelException(string message) : base(message) { }

    public ModelException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The model (or other input) file, when known.</summary>
    public string? File { get; set; }

    public Graph.Node? Node { get; set; }

    /// <summary>The operator set version in force for <see cref="Node"/>, when known.</summary>
    public int Opset { get; set; }

    /// <summary>Fills in the file and opset when an inner layer did not know them.</summary>
    public ModelException At(string? file, int opset = 0)
    {
        if (string.IsNullOrEmpty(File))
            File = file;
        if (Opset == 0)
            Opset = opset;
        return this;
    }

    /// <summary>"file: node 'name' (Op, opset N): message".</summary>
    public string Describe() => string.IsNullOrEmpty(File) ? Detail() : File + ": " + Detail();

    /// <summary><see cref="Describe"/> without the file: "node 'name' (Op, opset N): message".</summary>
    public string Detail()
    {
        var sb = new StringBuilder();
        if (Node is not null)
        {
            sb.Append("node '").Append(Node.Name).Append("' (").Append(Node.OpType);
            if (Opset > 0)
                sb.Append(", opset ").Append(Opset);
            sb.Append("): ");
        }
        sb.Append(Message);
        return sb.ToString().ReplaceLineEndings(" ");
    }

    public override string ToString() => Describe();
}

/// <summary>The kinds of <see cref="ModelException"/> that a build reports under their own codes.</summary>
public enum ModelErrorKind
{
    /// <summary>The model cannot be read or is not a valid ONNX model (the default).</summary>
    InvalidModel,

    /// <summary>An operator, domain, opset, attribute or element type AutoKernel does not support.</summary>
    Unsupported,

    /// <summary>An input shape that is missing (dynamic dimensions), malformed or conflicting.</summary>
    InputShape,

    /// <summary>A tuning log that cannot be read or holds a line that is not a record.</summary>
    BrokenLog,

    /// <summary>An option of the command (or of the AutoKernelModel item) that is out of range.</summary>
    InvalidOption,

    /// <summary>A tensor, fold, step or compiled model that needs more memory than the budget allows (Limits/MemoryBudget.cs).</summary>
    MemoryLimit,
}
