using System.Runtime.InteropServices;

namespace AutoKernel.Build.Onnx;

/// <summary>
/// Whether a path (symbolic links followed) is a regular file, not a FIFO, a socket or a device:
/// .NET reports all of them as "Normal" files, and opening a FIFO blocks until a writer comes. On
/// Linux it asks stat(2), whose st_mode offset in struct stat is fixed per architecture; elsewhere
/// the answer is unknown (null) and the caller goes on.
/// </summary>
internal static partial class RegularFile
{
    private const uint TypeMask = 0xF000;
    private const uint Regular = 0x8000;

    public static bool? Check(string path)
    {
        if (!OperatingSystem.IsLinux())
            return null;
        int modeOffset = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 24, // st_dev, st_ino, st_nlink (8 bytes each), then st_mode
            Architecture.Arm64 => 16, // st_dev, st_ino, then st_mode
            _ => -1,
        };
        if (modeOffset < 0)
            return null;
        Span<byte> buffer = stackalloc byte[256];
        int result;
        try
        {
            result = Stat(path, ref MemoryMarshal.GetReference(buffer));
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
        if (result != 0)
            return null;
        uint mode = BitConverter.ToUInt32(buffer.Slice(modeOffset, 4));
        return (mode & TypeMask) == Regular;
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, ref byte buffer);
}
