using System;
using System.Text;

namespace AutoKernel.Generator.Kernels;

/// <summary>Indented C# text for emitters. Always "\n" line endings, so output is byte-identical everywhere.</summary>
public sealed class CodeWriter
{
    private readonly StringBuilder _sb = new();
    private int _indent;

    public CodeWriter Line(string text = "")
    {
        if (text.Length > 0)
            _sb.Append(' ', _indent * 4).Append(text);
        _sb.Append('\n');
        return this;
    }

    /// <summary>Writes <paramref name="header"/>, "{", the body one level deeper, then "}".</summary>
    public CodeWriter Block(string header, Action body)
    {
        Line(header);
        Line("{");
        _indent++;
        body();
        _indent--;
        Line("}");
        return this;
    }

    public override string ToString() => _sb.ToString();
}
