using System.Globalization;

namespace AutoKernel.Build.Graph;

/// <summary>
/// A dense, row-major tensor with a static shape. Storage is a plain managed array whose
/// element type follows <see cref="Type"/>: float[], double[], long[], int[], bool[], byte[] or sbyte[].
/// Tensors are treated as immutable once built: kernels allocate fresh outputs.
/// </summary>
public sealed class Tensor
{
    public Tensor(DataType type, int[] shape, Array data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        Type storage = StorageType(type);
        if (data.GetType().GetElementType() != storage)
            throw new ArgumentException($"{type.Name()} tensor needs {storage.Name}[] storage, got {data.GetType().Name}", nameof(data));
        long count = ShapeMath.ElementCount(shape);
        if (count != data.Length)
            throw new ArgumentException($"shape {ShapeMath.Format(shape)} holds {count} elements but storage has {data.Length}", nameof(data));
        Type = type;
        Shape = shape;
        Data = data;
    }

    public DataType Type { get; }

    public int[] Shape { get; }

    public Array Data { get; }

    public int Rank => Shape.Length;

    public int Length => Data.Length;

    public float[] Floats => Data as float[] ?? throw TypeMismatch(DataType.Float);

    public double[] Doubles => Data as double[] ?? throw TypeMismatch(DataType.Double);

    public long[] Int64s => Data as long[] ?? throw TypeMismatch(DataType.Int64);

    public int[] Int32s => Data as int[] ?? throw TypeMismatch(DataType.Int32);

    public bool[] Bools => Data as bool[] ?? throw TypeMismatch(DataType.Bool);

    public byte[] UInt8s => Type == DataType.UInt8 ? (byte[])Data : throw TypeMismatch(DataType.UInt8);

    public sbyte[] Int8s => Type == DataType.Int8 ? (sbyte[])Data : throw TypeMismatch(DataType.Int8);

    public static Tensor Zeros(DataType type, int[] shape) =>
        new(type, shape, Array.CreateInstance(StorageType(type), checked((int)ShapeMath.ElementCount(shape))));

    public static Tensor FromFloats(int[] shape, float[] data) => new(DataType.Float, shape, data);

    public static Tensor FromInt64s(int[] shape, long[] data) => new(DataType.Int64, shape, data);

    public static Tensor Scalar(float value) => new(DataType.Float, [], new[] { value });

    public static Tensor Scalar(long value) => new(DataType.Int64, [], new[] { value });

    /// <summary>A 1-D int64 tensor, the form ONNX uses for shapes, axes, pads and the like.</summary>
    public static Tensor Vector(params long[] values) => new(DataType.Int64, [values.Length], values);

    public static Type StorageType(DataType type) => type switch
    {
        DataType.Float => typeof(float),
        DataType.Double => typeof(double),
        DataType.Int64 => typeof(long),
        DataType.Int32 => typeof(int),
        DataType.Bool => typeof(bool),
        DataType.UInt8 => typeof(byte),
        DataType.Int8 => typeof(sbyte),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported tensor element type"),
    };

    /// <summary>Element <paramref name="i"/> as a double, whatever the storage type.</summary>
    /// <remarks>
    /// Dispatches on <see cref="Type"/>, not on the array's type: the runtime lets an sbyte[] pass
    /// as a byte[] (and the reverse), so a pattern <c>byte[] u</c> also matches int8 storage and
    /// would read -1 as 255. Every switch over storage must test sbyte[] before byte[] or switch
    /// on the element type.
    /// </remarks>
    public double GetDouble(int i) => Type switch
    {
        DataType.Float => ((float[])Data)[i],
        DataType.Double => ((double[])Data)[i],
        DataType.Int64 => ((long[])Data)[i],
        DataType.Int32 => ((int[])Data)[i],
        DataType.Bool => ((bool[])Data)[i] ? 1 : 0,
        DataType.UInt8 => ((byte[])Data)[i],
        DataType.Int8 => ((sbyte[])Data)[i],
        _ => throw new InvalidOperationException("unknown storage"),
    };

    /// <summary>Element <paramref name="i"/> as an int64, whatever the storage type (floats truncate).</summary>
    public long GetInt64(int i) => Data switch
    {
        long[] l => l[i],
        int[] n => n[i],
        _ => (long)GetDouble(i),
    };

    /// <summary>All elements as int64, for shape-like tensors (int32 or int64).</summary>
    public long[] ToInt64Array()
    {
        var result = new long[Length];
        for (int i = 0; i < result.Length; i++)
            result[i] = GetInt64(i);
        return result;
    }

    /// <summary>A tensor with the same storage and a new shape of the same element count.</summary>
    public Tensor Reshape(int[] shape) => new(Type, shape, Data);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Type.Name()}{ShapeMath.Format(Shape)}");

    private InvalidOperationException TypeMismatch(DataType wanted) =>
        new($"tensor is {Type.Name()}, not {wanted.Name()}");
}
