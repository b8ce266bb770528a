using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace AutoKernel.Generator.Plans;

/// <summary>A plan file's text is not what the plan format says; names the line and column.</summary>
public sealed class PlanFormatException : Exception
{
    public PlanFormatException(string message, int line, int column)
        : base(message)
    {
        Line = line;
        Column = column;
    }

    /// <summary>1-based; 0 when the problem has no position.</summary>
    public int Line { get; }

    public int Column { get; }
}

/// <summary>
/// A parsed JSON value with its position. The generator targets netstandard2.0 and must not
/// depend on System.Text.Json (the compiler may load another version of it), so plans are read
/// with this small parser: RFC 8259 syntax, objects keep member order, duplicate keys are errors.
/// </summary>
public abstract class JsonNode
{
    protected JsonNode(int line, int column)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }

    public PlanFormatException Error(string message) => new(message, Line, Column);
}

public sealed class JsonObject(int line, int column, List<KeyValuePair<string, JsonNode>> members) : JsonNode(line, column)
{
    public IReadOnlyList<KeyValuePair<string, JsonNode>> Members { get; } = members;

    public JsonNode? Find(string key)
    {
        foreach (var m in Members)
        {
            if (m.Key == key)
                return m.Value;
        }
        return null;
    }

    public JsonNode Get(string key) => Find(key) ?? throw Error($"missing field '{key}'");
}

public sealed class JsonArray(int line, int column, List<JsonNode> items) : JsonNode(line, column)
{
    public IReadOnlyList<JsonNode> Items { get; } = items;
}

public sealed class JsonString(int line, int column, string value) : JsonNode(line, column)
{
    public string Value { get; } = value;
}

public sealed class JsonNumber(int line, int column, string text) : JsonNode(line, column)
{
    public string Text { get; } = text;
}

public sealed class JsonLiteral(int line, int column, bool? value) : JsonNode(line, column)
{
    /// <summary>true, false, or null for the JSON null.</summary>
    public bool? Value { get; } = value;
}

/// <summary>Typed reads that fail with a positioned <see cref="PlanFormatException"/>.</summary>
public static class JsonRead
{
    public static JsonObject Object(JsonNode node, string what) =>
        node as JsonObject ?? throw node.Error($"{what} must be an object");

    public static JsonArray Array(JsonNode node, string what) =>
        node as JsonArray ?? throw node.Error($"{what} must be an array");

    public static string String(JsonNode node, string what) =>
        node is JsonString s ? s.Value : throw node.Error($"{what} must be a string");

    public static bool Bool(JsonNode node, string what) =>
        node is JsonLiteral { Value: { } b } ? b : throw node.Error($"{what} must be true or false");

    public static long Long(JsonNode node, string what, long min = long.MinValue, long max = long.MaxValue)
    {
        if (node is JsonNumber n && long.TryParse(n.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            if (v < min || v > max)
                throw node.Error($"{what} is {v}, outside [{min}, {max}]");
            return v;
        }
        throw node.Error($"{what} must be an integer");
    }

    public static int Int(JsonNode node, string what, int min = int.MinValue, int max = int.MaxValue) => (int)Long(node, what, min, max);

    public static float Float(JsonNode node, string what)
    {
        if (node is JsonNumber n && float.TryParse(n.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out float v))
            return v;
        if (node is JsonString s && s.Value is "Infinity" or "-Infinity" or "NaN")
            return s.Value == "NaN" ? float.NaN : s.Value == "Infinity" ? float.PositiveInfinity : float.NegativeInfinity;
        throw node.Error($"{what} must be a number");
    }

    public static int[] Ints(JsonNode node, string what, int min = int.MinValue)
    {
        var array = Array(node, what);
        var values = new int[array.Items.Count];
        for (int i = 0; i < values.Length; i++)
            values[i] = Int(array.Items[i], what + "[" + i.ToString(CultureInfo.InvariantCulture) + "]", min);
        return values;
    }
}

/// <summary>Recursive-descent JSON parser with line and column tracking.</summary>
public sealed class JsonParser
{
    private const int MaxDepth = 64;
    private readonly string _text;
    private int _pos;
    private int _line = 1;
    private int _lineStart;

    private JsonParser(string text) => _text = text;

    public static JsonNode Parse(string text)
    {
        var p = new JsonParser(text);
        if (text.Length > 0 && text[0] == '\uFEFF')
            p._pos = p._lineStart = 1;
        var value = p.ParseValue(0);
        p.SkipSpace();
        if (p._pos < text.Length)
            throw p.Fail("unexpected text after the end of the JSON value");
        return value;
    }

    private PlanFormatException Fail(string message) => new(message, _line, _pos - _lineStart + 1);

    private void SkipSpace()
    {
        while (_pos < _text.Length)
        {
            char c = _text[_pos];
            if (c == '\n')
            {
                _pos++;
                _line++;
                _lineStart = _pos;
            }
            else if (c is ' ' or '\t' or '\r')
            {
                _pos++;
            }
            else
            {
                break;
            }
        }
    }

    private JsonNode ParseValue(int depth)
    {
        if (depth > MaxDepth)
            throw Fail("JSON nested too deeply");
        SkipSpace();
        if (_pos >= _text.Length)
            throw Fail("unexpected end of the file");
        int line = _line, column = _pos - _lineStart + 1;
        char c = _text[_pos];
        switch (c)
        {
            case '{':
            {
                _pos++;
                var members = new List<KeyValuePair<string, JsonNode>>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                SkipSpace();
                if (Peek('}'))
                    return new JsonObject(line, column, members);
                while (true)
                {
                    SkipSpace();
                    if (_pos >= _text.Length || _text[_pos] != '"')
                        throw Fail("expected a quoted member name");
                    string key = ParseString();
                    if (!seen.Add(key))
                        throw Fail($"duplicate member '{key}'");
                    SkipSpace();
                    Expect(':');
                    members.Add(new KeyValuePair<string, JsonNode>(key, ParseValue(depth + 1)));
                    SkipSpace();
                    if (Peek('}'))
                        return new JsonObject(line, column, members);
                    Expect(',');
                }
            }
            case '[':
            {
                _pos++;
                var items = new List<JsonNode>();
                SkipSpace();
                if (Peek(']'))
                    return new JsonArray(line, column, items);
                while (true)
                {
                    items.Add(ParseValue(depth + 1));
                    SkipSpace();
                    if (Peek(']'))
                        return new JsonArray(line, column, items);
                    Expect(',');
                }
            }
            case '"':
                return new JsonString(line, column, ParseString());
            case 't':
                Literal("true");
                return new JsonLiteral(line, column, true);
            case 'f':
                Literal("false");
                return new JsonLiteral(line, column, false);
            case 'n':
                Literal("null");
                return new JsonLiteral(line, column, null);
            default:
                if (c == '-' || (c >= '0' && c <= '9'))
                    return new JsonNumber(line, column, ParseNumber());
                throw Fail($"unexpected character '{c}'");
        }
    }

    private bool Peek(char c)
    {
        if (_pos < _text.Length && _text[_pos] == c)
        {
            _pos++;
            return true;
        }
        return false;
    }

    private void Expect(char c)
    {
        if (!Peek(c))
            throw Fail(_pos < _text.Length ? $"expected '{c}', found '{_text[_pos]}'" : $"expected '{c}' before the end of the file");
    }

    private void Literal(string word)
    {
        if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0)
            throw Fail("unexpected word");
        _pos += word.Length;
    }

    private string ParseNumber()
    {
        int start = _pos;
        if (_text[_pos] == '-')
            _pos++;
        int digits = _pos;
        while (_pos < _text.Length && IsDigit(_text[_pos]))
            _pos++;
        if (_pos == digits)
            throw Fail("a number needs digits");
        if (_pos - digits > 1 && _text[digits] == '0')
            throw Fail("a number cannot have leading zeros");
        if (_pos < _text.Length && _text[_pos] == '.')
        {
            _pos++;
            int fraction = _pos;
            while (_pos < _text.Length && IsDigit(_text[_pos]))
                _pos++;
            if (_pos == fraction)
                throw Fail("a number needs digits after '.'");
        }
        if (_pos < _text.Length && (_text[_pos] == 'e' || _text[_pos] == 'E'))
        {
            _pos++;
            if (_pos < _text.Length && (_text[_pos] == '+' || _text[_pos] == '-'))
                _pos++;
            int exponent = _pos;
            while (_pos < _text.Length && IsDigit(_text[_pos]))
                _pos++;
            if (_pos == exponent)
                throw Fail("a number needs exponent digits");
        }
        return _text.Substring(start, _pos - start);
    }

    /// <summary>JSON digits are ASCII only (char.IsDigit also accepts other scripts' digits).</summary>
    private static bool IsDigit(char c) => c >= '0' && c <= '9';

    private static int HexValue(char c) =>
        c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

    private string ParseString()
    {
        Expect('"');
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length)
                throw Fail("unterminated string");
            char c = _text[_pos++];
            if (c == '"')
                return sb.ToString();
            if (c < ' ')
                throw Fail("control character in a string");
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            if (_pos >= _text.Length)
                throw Fail("unterminated string");
            char e = _text[_pos++];
            switch (e)
            {
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                {
                    // Exactly four hex digits (int.TryParse with HexNumber would also take spaces).
                    int code = 0;
                    for (int k = 0; k < 4; k++)
                    {
                        int digit = _pos + k < _text.Length ? HexValue(_text[_pos + k]) : -1;
                        if (digit < 0)
                            throw Fail("bad \\u escape: it needs four hex digits");
                        code = code * 16 + digit;
                    }
                    sb.Append((char)code);
                    _pos += 4;
                    break;
                }
                default:
                    throw Fail($"bad escape '\\{e}'");
            }
        }
    }
}

/// <summary>
/// Deterministic JSON text: two-space indentation, "\n" line ends, members in the order written,
/// arrays of numbers on one line.
/// </summary>
public sealed class JsonWriter
{
    private readonly StringBuilder _sb = new();
    private readonly Stack<bool> _first = new();
    private int _indent;

    public override string ToString() => _sb.ToString();

    public JsonWriter StartObject(string? key = null) => Open(key, '{');

    public JsonWriter EndObject() => Close('}');

    public JsonWriter StartArray(string? key = null) => Open(key, '[');

    public JsonWriter EndArray() => Close(']');

    public JsonWriter String(string key, string value) => Raw(key, Quote(value));

    public JsonWriter String(string value) => Raw(null, Quote(value));

    public JsonWriter Number(string key, long value) => Raw(key, value.ToString(CultureInfo.InvariantCulture));

    public JsonWriter Number(string key, float value) => Raw(key, FloatText(value));

    public JsonWriter Bool(string key, bool value) => Raw(key, value ? "true" : "false");

    /// <summary>An array of integers on one line.</summary>
    public JsonWriter Ints(string? key, IEnumerable<int> values)
    {
        var parts = new List<string>();
        foreach (int v in values)
            parts.Add(v.ToString(CultureInfo.InvariantCulture));
        return Raw(key, "[" + string.Join(", ", parts) + "]");
    }

    /// <summary>A float in its shortest round-trip form; infinities and NaN as the strings JsonRead.Float accepts.</summary>
    public static string FloatText(float value) =>
        float.IsNaN(value) ? "\"NaN\""
        : float.IsPositiveInfinity(value) ? "\"Infinity\""
        : float.IsNegativeInfinity(value) ? "\"-Infinity\""
        : value.ToString("R", CultureInfo.InvariantCulture);

    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            // A lone surrogate has no UTF-8 form (the file would hold U+FFFD): write it as an escape.
            bool lone = char.IsHighSurrogate(c) ? i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])
                : char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(s[i - 1]));
            if (lone)
            {
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                continue;
            }
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < ' ')
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private JsonWriter Open(string? key, char bracket)
    {
        Prefix(key);
        _sb.Append(bracket);
        _first.Push(true);
        _indent++;
        return this;
    }

    private JsonWriter Close(char bracket)
    {
        _indent--;
        bool empty = _first.Pop();
        if (!empty)
            NewLine();
        _sb.Append(bracket);
        if (_indent == 0)
            _sb.Append('\n');
        return this;
    }

    private JsonWriter Raw(string? key, string text)
    {
        Prefix(key);
        _sb.Append(text);
        return this;
    }

    private void Prefix(string? key)
    {
        if (_first.Count > 0)
        {
            if (!_first.Peek())
                _sb.Append(',');
            _first.Pop();
            _first.Push(false);
            NewLine();
        }
        if (key is not null)
            _sb.Append(Quote(key)).Append(": ");
    }

    private void NewLine()
    {
        _sb.Append('\n').Append(' ', _indent * 2);
    }
}
