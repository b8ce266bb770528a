namespace AutoKernel.Build.Graph;

/// <summary>Element types AutoKernel handles. Values are ONNX's TensorProto.DataType numbers.</summary>
public enum DataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
    Double = 11,
}

public static class DataTypes
{
    /// <summary>True for the ONNX type numbers AutoKernel can hold in a <see cref="Tensor"/>.</summary>
    public static bool IsSupported(int onnxType) => onnxType switch
    {
        1 or 2 or 3 or 6 or 7 or 9 or 11 => true,
        _ => false,
    };

    /// <summary>ONNX's name for a type number, for error messages.</summary>
    public static string OnnxName(int onnxType) => onnxType switch
    {
        0 => "undefined",
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        14 => "complex64",
        15 => "complex128",
        16 => "bfloat16",
        _ => $"type {onnxType}",
    };

    public static string Name(this DataType type) => OnnxName((int)type);

    public static int SizeInBytes(this DataType type) => type switch
    {
        DataType.Float or DataType.Int32 => 4,
        DataType.Int64 or DataType.Double => 8,
        DataType.UInt8 or DataType.Int8 or DataType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no storage size"),
    };

    public static bool IsFloatingPoint(this DataType type) => type is DataType.Float or DataType.Double;
}
