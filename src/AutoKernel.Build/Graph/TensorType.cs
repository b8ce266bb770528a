namespace AutoKernel.Build.Graph;

/// <summary>
/// Element type and shape of a value in the graph. A dimension of -1 is unknown; after
/// <c>--input-shape</c> and shape inference every shape in a graph is static.
/// </summary>
public sealed record TensorType(DataType ElementType, int[] Shape)
{
    public bool IsStatic => Array.TrueForAll(Shape, d => d >= 0);

    public int Rank => Shape.Length;

    public long ElementCount => ShapeMath.ElementCount(Shape);

    public bool Equals(TensorType? other) =>
        other is not null && ElementType == other.ElementType && Shape.AsSpan().SequenceEqual(other.Shape);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(ElementType);
        foreach (int d in Shape)
            hash.Add(d);
        return hash.ToHashCode();
    }

    public override string ToString() => $"{ElementType.Name()}{ShapeMath.Format(Shape)}";

    public static TensorType Of(Tensor t) => new(t.Type, t.Shape);
}
