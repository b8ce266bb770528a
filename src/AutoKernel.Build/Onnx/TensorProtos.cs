using System.Runtime.InteropServices;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Limits;
using AutoKernel.Build.Onnx.Proto;
using Google.Protobuf;

namespace AutoKernel.Build.Onnx;

/// <summary>Converts between ONNX TensorProto and <see cref="Tensor"/>.</summary>
public static class TensorProtos
{
    /// <summary>
    /// Reads a TensorProto: raw_data (little-endian), the typed fields, or external data in a file
    /// next to the model. <paramref name="modelDirectory"/> is needed only for external data; a
    /// location that escapes it is rejected.
    /// </summary>
    public static Tensor ToTensor(TensorProto proto, string? modelDirectory = null)
    {
        string what = string.IsNullOrEmpty(proto.Name) ? "tensor" : $"tensor '{proto.Name}'";
        if (!DataTypes.IsSupported(proto.DataType))
            throw new ModelException($"{what} has data type {DataTypes.OnnxName(proto.DataType)}, which AutoKernel does not support (float, double, int64, int32, int8, uint8, bool)");
        var type = (DataType)proto.DataType;
        var shape = new int[proto.Dims.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            long d = proto.Dims[i];
            if (d < 0 || d > int.MaxValue)
                throw new ModelException($"{what} has invalid dimension {d}");
            shape[i] = (int)d;
        }
        long count;
        try
        {
            count = ShapeMath.ElementCount(shape);
        }
        catch (OverflowException)
        {
            throw new ModelException($"{what} with shape {ShapeMath.Format(shape)} is too large");
        }
        if (count > Array.MaxLength)
            throw new ModelException($"{what} with shape {ShapeMath.Format(shape)} is too large");
        int n = (int)count;

        // The data must hold what the dims declare before anything is allocated: dims of 2^30
        // elements over a few bytes of data would otherwise allocate gigabytes first.
        bool external = proto.DataLocation == TensorProto.Types.DataLocation.External;
        long expected = count * type.SizeInBytes();
        if (!external && !proto.RawData.IsEmpty && proto.RawData.Length != expected)
            throw new ModelException($"{what} has {proto.RawData.Length} bytes of raw_data, expected {expected} for {n} {type.Name()} values");
        if (!external && proto.RawData.IsEmpty && TypedCount(proto, type) != n)
            throw new ModelException($"{what} has {TypedCount(proto, type)} values for shape with {n} elements");
        MemoryBudget.Current.CheckBytes($"{what} {type.Name()}{ShapeMath.Format(shape)}", expected);

        if (external)
            return new Tensor(type, shape, ReadExternal(proto, what, modelDirectory, type, n));
        var data = Array.CreateInstance(Tensor.StorageType(type), n);
        if (!proto.RawData.IsEmpty)
            CopyRaw(proto.RawData.Span, what, data, type);
        else
            CopyTyped(proto, what, data, type, n);
        return new Tensor(type, shape, data);
    }

    /// <summary>Values in the typed field that holds <paramref name="type"/>.</summary>
    private static int TypedCount(TensorProto proto, DataType type) => type switch
    {
        // ONNX stores float in float_data; int32, int8, uint8 and bool in int32_data;
        // int64 in int64_data; double in double_data.
        DataType.Float => proto.FloatData.Count,
        DataType.Double => proto.DoubleData.Count,
        DataType.Int64 => proto.Int64Data.Count,
        _ => proto.Int32Data.Count,
    };

    /// <summary>Writes a tensor as raw_data (the compact form exporters use).</summary>
    public static TensorProto FromTensor(Tensor tensor, string name)
    {
        var proto = new TensorProto { Name = name, DataType = (int)tensor.Type };
        foreach (int d in tensor.Shape)
            proto.Dims.Add(d);
        proto.RawData = ByteString.CopyFrom(RawBytes(tensor));
        return proto;
    }

    /// <summary>Little-endian bytes of the tensor's elements (bools as one byte each).</summary>
    public static byte[] RawBytes(Tensor tensor)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("AutoKernel needs a little-endian machine");
        return tensor.Data switch
        {
            float[] f => MemoryMarshal.AsBytes(f.AsSpan()).ToArray(),
            double[] d => MemoryMarshal.AsBytes(d.AsSpan()).ToArray(),
            long[] l => MemoryMarshal.AsBytes(l.AsSpan()).ToArray(),
            int[] i => MemoryMarshal.AsBytes(i.AsSpan()).ToArray(),
            bool[] b => b.Select(v => v ? (byte)1 : (byte)0).ToArray(),
            // sbyte[] first: the runtime lets an sbyte[] match a byte[] pattern.
            sbyte[] s => MemoryMarshal.AsBytes(s.AsSpan()).ToArray(),
            byte[] u => (byte[])u.Clone(),
            _ => throw new InvalidOperationException("unknown storage"),
        };
    }

    private static void CopyRaw(ReadOnlySpan<byte> raw, string what, Array data, DataType type)
    {
        long expected = (long)data.Length * type.SizeInBytes();
        if (raw.Length != expected)
            throw new ModelException($"{what} has {raw.Length} bytes of raw_data, expected {expected} for {data.Length} {type.Name()} values");
        switch (data)
        {
            case float[] f: raw.CopyTo(MemoryMarshal.AsBytes(f.AsSpan())); break;
            case double[] d: raw.CopyTo(MemoryMarshal.AsBytes(d.AsSpan())); break;
            case long[] l: raw.CopyTo(MemoryMarshal.AsBytes(l.AsSpan())); break;
            case int[] i: raw.CopyTo(MemoryMarshal.AsBytes(i.AsSpan())); break;
            case sbyte[] s: raw.CopyTo(MemoryMarshal.AsBytes(s.AsSpan())); break;
            case byte[] u: raw.CopyTo(u); break;
            case bool[] b:
                for (int k = 0; k < b.Length; k++)
                    b[k] = raw[k] != 0;
                break;
        }
    }

    private static void CopyTyped(TensorProto proto, string what, Array data, DataType type, int n)
    {
        int available = TypedCount(proto, type);
        if (available != n)
            throw new ModelException($"{what} has {available} values for shape with {n} elements");
        switch (data)
        {
            case float[] f: proto.FloatData.CopyTo(f, 0); break;
            case double[] d: proto.DoubleData.CopyTo(d, 0); break;
            case long[] l: proto.Int64Data.CopyTo(l, 0); break;
            case int[] i: proto.Int32Data.CopyTo(i, 0); break;
            case sbyte[] s:
                for (int k = 0; k < n; k++) s[k] = (sbyte)proto.Int32Data[k];
                break;
            case byte[] u:
                for (int k = 0; k < n; k++) u[k] = (byte)proto.Int32Data[k];
                break;
            case bool[] b:
                for (int k = 0; k < n; k++) b[k] = proto.Int32Data[k] != 0;
                break;
        }
    }

    /// <summary>Reads <paramref name="n"/> values stored externally straight into a new array (no second copy of the bytes).</summary>
    private static Array ReadExternal(TensorProto proto, string what, string? modelDirectory, DataType type, int n)
    {
        string? location = null;
        long offset = 0;
        long length = -1;
        foreach (var entry in proto.ExternalData)
        {
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset": offset = ParseLong(entry.Value, what, "offset"); break;
                case "length": length = ParseLong(entry.Value, what, "length"); break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new ModelException($"{what} is stored externally but names no location");
        if (location.Contains('\0', StringComparison.Ordinal))
            throw new ModelException($"{what} has an external data location with a NUL character");
        if (modelDirectory is null)
            throw new ModelException($"{what} is stored externally in '{location}', but the model was not read from a file");

        // The file must lie inside the model's folder after every symbolic link is resolved (a link
        // in the folder that points elsewhere is refused, as ONNX Runtime refuses it).
        string root = Path.GetFullPath(modelDirectory);
        string full = Path.GetFullPath(Path.Combine(root, location));
        if (Path.IsPathRooted(location) || !IsInside(full, root))
            throw new ModelException($"{what} has external data location '{location}', which is outside the model's folder");
        if (!File.Exists(full))
            throw new ModelException($"{what} has external data file '{location}', which does not exist");
        string real;
        try
        {
            real = RealPath(full);
            if (!IsInside(real, RealPath(root)))
                throw new ModelException($"{what} has external data location '{location}', a link to '{real}', which is outside the model's folder");
        }
        catch (IOException e)
        {
            throw new ModelException($"{what} has external data location '{location}' that cannot be resolved: {e.Message}");
        }

        // Opening a FIFO blocks until a writer comes, and a device has no end: regular files only.
        if (RegularFile.Check(real) == false)
            throw new ModelException($"{what} has external data location '{location}', which is not a regular file");

        long expected = (long)n * type.SizeInBytes();
        if (length >= 0 && length != expected)
            throw new ModelException($"{what} has external data length {length}, expected {expected}");
        if (expected > Array.MaxLength)
            throw new ModelException($"{what} has {expected} bytes of external data; tensors of 2 GiB or more are not supported");
        if (offset < 0)
            throw new ModelException($"{what} has external data offset {offset}, which is negative");
        using var stream = new FileStream(real, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        // offset + expected could overflow: compare with what is left after the offset instead.
        if (offset > stream.Length || expected > stream.Length - offset)
            throw new ModelException($"{what} reads {expected} bytes at offset {offset} of '{location}', which has {stream.Length}");
        stream.Seek(offset, SeekOrigin.Begin);
        var data = Array.CreateInstance(Tensor.StorageType(type), n);
        switch (data)
        {
            case float[] f: stream.ReadExactly(MemoryMarshal.AsBytes(f.AsSpan())); break;
            case double[] d: stream.ReadExactly(MemoryMarshal.AsBytes(d.AsSpan())); break;
            case long[] l: stream.ReadExactly(MemoryMarshal.AsBytes(l.AsSpan())); break;
            case int[] i: stream.ReadExactly(MemoryMarshal.AsBytes(i.AsSpan())); break;
            case sbyte[] sb: stream.ReadExactly(MemoryMarshal.AsBytes(sb.AsSpan())); break;
            case byte[] u: stream.ReadExactly(u); break;
            case bool[] b:
                var bytes = new byte[n];
                stream.ReadExactly(bytes);
                CopyRaw(bytes, what, b, type);
                break;
        }
        return data;
    }

    private static bool IsInside(string path, string root)
    {
        string rootWithSlash = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path.StartsWith(rootWithSlash, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
    }

    /// <summary>The full path with every symbolic link resolved, component by component (links to links included).</summary>
    internal static string RealPath(string path, int depth = 0)
    {
        if (depth > 40)
            throw new IOException("too many levels of symbolic links");
        string full = Path.GetFullPath(path);
        string root = Path.GetPathRoot(full)!;
        string current = root;
        foreach (string part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            string next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is { } target)
                next = RealPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target), depth + 1);
            current = next;
        }
        return current;
    }

    private static long ParseLong(string text, string what, string key) =>
        long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new ModelException($"{what} has external data {key} '{text}', which is not an integer");
}
