using System.Text;

namespace AutoKernel.Build;

/// <summary>
/// A problem with the user's input (model file, shapes, options, tuning log). The command line
/// prints <see cref="Describe"/> on one line and exits with code 1; no stack trace unless --verbose.
/// </summary>
public sealed class ModelException : Exception
{
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
    public string Describe()
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(File))
            sb.Append(File).Append(": ");
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
