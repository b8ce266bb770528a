using System.Buffers.Binary;
using System.Security.Cryptography;

namespace AutoKernel.Runtime.Models;

/// <summary>
/// The weights file a compiled model reads: a 64-byte header, then the payload, every tensor in the
/// layout its kernel reads at a 64-byte-aligned offset.
/// <code>
/// offset  size  field
///      0     8  magic "AKWEIGHT"
///      8     4  format version (little-endian uint32), now 1
///     12     4  header size in bytes (64)
///     16     8  payload size in bytes (little-endian uint64)
///     24    32  SHA-256 of the payload
///     56     8  zero
/// </code>
/// The plan records the payload's size and SHA-256, so a plan and a weights file from different
/// compiles are refused at load.
/// </summary>
public static class WeightsFile
{
    public const int HeaderSize = 64;
    public const int Version = 1;
    public const int Alignment = 64;
    private static ReadOnlySpan<byte> Magic => "AKWEIGHT"u8;

    /// <summary>The header of a payload; <paramref name="sha256"/> is the payload's hash.</summary>
    public static byte[] Header(long payloadBytes, ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != 32)
            throw new ArgumentException("a SHA-256 has 32 bytes", nameof(sha256));
        var header = new byte[HeaderSize];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), HeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(16), (ulong)payloadBytes);
        sha256.CopyTo(header.AsSpan(24));
        return header;
    }

    /// <summary>Reads and checks a header; <paramref name="source"/> names the file in messages.</summary>
    public static (long PayloadBytes, string Sha256) ReadHeader(ReadOnlySpan<byte> header, string source)
    {
        if (header.Length < HeaderSize || !header[..8].SequenceEqual(Magic))
            throw new InvalidDataException($"{source}: not an AutoKernel weights file (bad magic)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != Version)
            throw new InvalidDataException($"{source}: weights format version {version}; this AutoKernel runtime reads version {Version}");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[12..]) != HeaderSize)
            throw new InvalidDataException($"{source}: unexpected header size");
        ulong bytes = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
        if (bytes > long.MaxValue)
            throw new InvalidDataException($"{source}: payload size out of range");
        return ((long)bytes, Convert.ToHexStringLower(header.Slice(24, 32)));
    }

    /// <summary>SHA-256 of a payload as lowercase hex.</summary>
    public static string Sha256(ReadOnlySpan<byte> payload) => Convert.ToHexStringLower(SHA256.HashData(payload));
}
