using AutoKernel.Build.Graph;
using static AutoKernel.Build.Tests.Reference.RefTest;

namespace AutoKernel.Build.Tests.Reference;

public class ResizeTests
{
    private static Tensor Scales(params float[] s) => F([s.Length], s);

    private static Tensor Resize(Tensor x, Tensor? scales, Tensor? sizes, params NodeAttribute[] attributes) =>
        Run("Resize", 13, [x, null, scales, sizes], attributes);

    [Fact]
    public void NearestAsymmetricFloorUpsample()
    {
        var y = Resize(F([1, 1, 2], 1, 2), Scales(1, 1, 2), null, Str("coordinate_transformation_mode", "asymmetric"), Str("nearest_mode", "floor"));
        Shape([1, 1, 4], y);
        Close([1, 1, 2, 2], y);
    }

    [Theory]
    // Downsample 4 -> 2 with half_pixel: input coordinates 0.5 and 2.5, exactly between two pixels.
    [InlineData("round_prefer_floor", 10, 30)]
    [InlineData("round_prefer_ceil", 20, 40)]
    [InlineData("floor", 10, 30)]
    [InlineData("ceil", 20, 40)]
    public void NearestModesOnHalfPixelTies(string nearestMode, float first, float second)
    {
        var y = Resize(F([4], 10, 20, 30, 40), Scales(0.5f), null, Str("nearest_mode", nearestMode));
        Close([first, second], y);
    }

    [Fact]
    public void LinearAlignCornersAndHalfPixel()
    {
        var ac = Resize(F([2], 0, 3), null, Vec(4), Str("mode", "linear"), Str("coordinate_transformation_mode", "align_corners"));
        Close([0, 1, 2, 3], ac);
        // half_pixel 2x: coordinates -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        var hp = Resize(F([2], 0, 4), Scales(2), null, Str("mode", "linear"));
        Close([0, 1, 3, 4], hp);
        var pt = Resize(F([3], 5, 6, 7), null, Vec(1), Str("mode", "linear"), Str("coordinate_transformation_mode", "pytorch_half_pixel"));
        Close([5], pt);
    }

    [Fact]
    public void BilinearTwoAxes()
    {
        var y = Resize(F([1, 1, 2, 2], 0, 1, 2, 3), Scales(1, 1, 2, 2), null, Str("mode", "linear"), Str("coordinate_transformation_mode", "asymmetric"));
        Shape([1, 1, 4, 4], y);
        Close([0, 0.5f, 1, 1, 1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 2, 2.5f, 3, 3], y);
    }

    [Fact]
    public void Opset10AndUpsampleUseAsymmetricNearest()
    {
        var r10 = Run("Resize", 10, [F([1, 1, 2], 1, 2), Scales(1, 1, 2)]);
        Close([1, 1, 2, 2], r10);
        var u7 = Run("Upsample", 7, [F([1, 1, 2], 1, 2)], NodeAttribute.FloatList("scales", [1, 1, 3]));
        Close([1, 1, 1, 2, 2, 2], u7);
        var u1 = Run("Upsample", 6, [F([1, 1, 1, 2], 1, 2)], Float("height_scale", 2), Float("width_scale", 2));
        Shape([1, 1, 2, 4], u1);
        Close([1, 1, 2, 2, 1, 1, 2, 2], u1);
        var u9 = Run("Upsample", 9, [F([1, 2], 0, 2), Scales(1, 2)], Str("mode", "linear"));
        Close([0, 1, 2, 2], u9);
    }

    [Fact]
    public void ResizeAxesAndAspectRatio()
    {
        var y = Run("Resize", 18, [F([1, 2, 2], 1, 2, 3, 4), null, null, Vec(4)], Ints("axes", 2), Str("coordinate_transformation_mode", "asymmetric"), Str("nearest_mode", "floor"));
        Shape([1, 2, 4], y);
        Close([1, 1, 2, 2, 3, 3, 4, 4], y);
        var z = Run("Resize", 18, [F([2, 4], 1, 2, 3, 4, 5, 6, 7, 8), null, null, Vec(4, 4)], Str("keep_aspect_ratio_policy", "not_larger"));
        Shape([2, 4], z);
    }

    [Fact]
    public void CubicIsRejected()
    {
        var e = Assert.Throws<ModelException>(() => Resize(F([2], 1, 2), Scales(2), null, Str("mode", "cubic")));
        Assert.Equal("Resize mode 'cubic' is not supported", e.Message);
        Assert.Equal(13, e.Opset);
        Assert.Equal("Resize", e.Node?.OpType);
    }
}
