namespace AutoKernel.Build.Tests.Fuzz;

/// <summary>
/// Finds the varints of a protobuf message (field tags, length prefixes and varint values), nested
/// messages included, so byte-level mutations can aim at structure instead of weight data. A
/// length-delimited field is taken as a nested message when its bytes parse as wire format to the
/// end; otherwise (strings, packed data, raw bytes) it is skipped.
/// </summary>
public static class WireFormat
{
    /// <summary>One varint: where it starts, how many bytes it takes, and what it is.</summary>
    public readonly record struct Varint(int Offset, int Length, VarintRole Role);

    public enum VarintRole
    {
        Tag,
        LengthPrefix,
        Value,
    }

    /// <summary>The varints of <paramref name="bytes"/>, outermost first; at most <paramref name="limit"/>.</summary>
    public static List<Varint> Varints(byte[] bytes, int limit = 200_000)
    {
        var found = new List<Varint>();
        Walk(bytes, 0, bytes.Length, found, limit, depth: 0);
        return found;
    }

    private static bool Walk(byte[] b, int start, int end, List<Varint> found, int limit, int depth)
    {
        int mark = found.Count;
        int p = start;
        while (p < end)
        {
            if (found.Count >= limit)
                return true;
            int tagAt = p;
            if (!TryRead(b, ref p, end, out ulong tag) || tag >> 3 == 0)
                return Fail(found, mark);
            found.Add(new Varint(tagAt, p - tagAt, VarintRole.Tag));
            switch ((int)(tag & 7))
            {
                case 0:
                    int valueAt = p;
                    if (!TryRead(b, ref p, end, out _))
                        return Fail(found, mark);
                    found.Add(new Varint(valueAt, p - valueAt, VarintRole.Value));
                    break;
                case 1:
                    p += 8;
                    break;
                case 5:
                    p += 4;
                    break;
                case 2:
                    int lengthAt = p;
                    if (!TryRead(b, ref p, end, out ulong length) || length > (ulong)(end - p))
                        return Fail(found, mark);
                    found.Add(new Varint(lengthAt, p - lengthAt, VarintRole.LengthPrefix));
                    int inner = p;
                    p += (int)length;
                    // Large blobs are weight data; do not look inside.
                    if (depth < 8 && length > 0 && length < 1 << 16)
                        Walk(b, inner, p, found, limit, depth + 1);
                    break;
                default:
                    return Fail(found, mark);
            }
            if (p > end)
                return Fail(found, mark);
        }
        return true;
    }

    private static bool Fail(List<Varint> found, int mark)
    {
        found.RemoveRange(mark, found.Count - mark);
        return false;
    }

    private static bool TryRead(byte[] b, ref int p, int end, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (p >= end)
                return false;
            byte x = b[p++];
            value |= (ulong)(x & 0x7F) << shift;
            if ((x & 0x80) == 0)
                return true;
        }
        return false;
    }

    /// <summary>The varint encoding of <paramref name="value"/> (negative numbers take ten bytes, as int64 does).</summary>
    public static byte[] Encode(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            byte x = (byte)(value & 0x7F);
            value >>= 7;
            if (value != 0)
                x |= 0x80;
            bytes.Add(x);
        }
        while (value != 0);
        return [.. bytes];
    }
}
