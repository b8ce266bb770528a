using System.Runtime.InteropServices;
using AutoKernel.Runtime.Models;

namespace AutoKernel.Build.Compile;

/// <summary>
/// Lays out the weights payload: each tensor at a 64-byte-aligned offset, identical tensors stored
/// once, in the order they were added (so the bytes are deterministic).
/// </summary>
public sealed class WeightsBuilder
{
    private readonly List<float[]> _tensors = [];
    private readonly List<long> _offsets = [];
    private readonly Dictionary<string, int> _byKey = new(StringComparer.Ordinal);
    private long _floats;

    /// <summary>Floats of the payload so far (aligned).</summary>
    public long Floats => _floats;

    /// <summary>Adds a tensor (or finds the one added under <paramref name="key"/>); returns its offset in floats.</summary>
    public long Add(float[] data, string? key = null)
    {
        if (key is not null && _byKey.TryGetValue(key, out int known))
            return _offsets[known];
        long offset = _floats;
        _tensors.Add(data);
        _offsets.Add(offset);
        if (key is not null)
            _byKey[key] = _tensors.Count - 1;
        _floats = ArenaPlanner.Align(_floats + Math.Max(data.Length, 1));
        return offset;
    }

    /// <summary>The payload bytes (little-endian float32; padding is zero).</summary>
    public byte[] Payload()
    {
        if (_floats * 4 > Array.MaxLength)
            throw new ModelException($"the packed weights take {_floats * 4L:N0} bytes; weights files over {Array.MaxLength:N0} bytes are not supported yet") { Kind = ModelErrorKind.MemoryLimit };
        var bytes = new byte[_floats * 4];
        for (int i = 0; i < _tensors.Count; i++)
            MemoryMarshal.AsBytes(_tensors[i].AsSpan()).CopyTo(bytes.AsSpan(checked((int)(_offsets[i] * 4))));
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("weights files are little-endian");
        return bytes;
    }

    /// <summary>The file's header for <paramref name="payload"/>, written before it (so the payload need not be copied).</summary>
    public static byte[] Header(byte[] payload, string sha256)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return WeightsFile.Header(payload.Length, Convert.FromHexString(sha256));
    }

    /// <summary>The whole file: header, then payload; <paramref name="sha256"/> is the payload's hash as the plan records it (not computed again).</summary>
    public static byte[] File(byte[] payload, string sha256)
    {
        var header = Header(payload, sha256);
        var file = new byte[header.Length + payload.Length];
        header.CopyTo(file, 0);
        payload.CopyTo(file, header.Length);
        return file;
    }
}
