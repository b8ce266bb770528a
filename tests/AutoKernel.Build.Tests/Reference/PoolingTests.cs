using static AutoKernel.Build.Tests.Reference.RefTest;
using static AutoKernel.TestSupport.TestData;

namespace AutoKernel.Build.Tests.Reference;

public class PoolingTests
{
    // 4x4 input 1..16.
    private static readonly float[] Grid = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

    [Fact]
    public void MaxPoolBasic()
    {
        var y = Run("MaxPool", [F([1, 1, 4, 4], Grid)], Ints("kernel_shape", 2, 2), Ints("strides", 2, 2));
        Shape([1, 1, 2, 2], y);
        Close([6, 8, 14, 16], y);
    }

    [Fact]
    public void MaxPoolCeilMode()
    {
        // 4x4, k=3, s=2: floor -> 1x1, ceil -> 2x2 with the last window clipped to the input.
        var floor = Run("MaxPool", [F([1, 1, 4, 4], Grid)], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2));
        Close([11], floor);
        var ceil = Run("MaxPool", [F([1, 1, 4, 4], Grid)], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Int("ceil_mode", 1));
        Shape([1, 1, 2, 2], ceil);
        Close([11, 12, 15, 16], ceil);
    }

    [Fact]
    public void MaxPoolCeilModeDropsWindowStartingInPadding()
    {
        // in 5, k 2, s 2, pads 0/1: span (5+1-2)=4 -> ceil gives 3 windows starting 0,2,4: all start inside. 
        // in 4, k 2, s 2, pads 0/1: ceil((4+1-2)/2)+1 = 3, but window 3 starts at 4 = in + pad_begin -> dropped -> 2.
        var y = Run("MaxPool", [F([1, 1, 4], 1, 5, 2, 7)], Ints("kernel_shape", 2), Ints("strides", 2), Ints("pads", 0, 1), Int("ceil_mode", 1));
        Shape([1, 1, 2], y);
        Close([5, 7], y);
    }

    [Fact]
    public void MaxPoolDilationsAndPads()
    {
        // 1-D: x = [3,1,4,1,5,9,2,6], k=2, dilation 3, pad 1: window i covers (i-1, i+2).
        var y = Run("MaxPool", [F([1, 1, 8], 3, 1, 4, 1, 5, 9, 2, 6)], Ints("kernel_shape", 2), Ints("dilations", 3), Ints("pads", 1, 1));
        // out = (8 + 2 - 4) / 1 + 1 = 7; windows: (-1,2)->4, (0,3)->3, (1,4)->5, (2,5)->9, (3,6)->2, (4,7)->6, (5,8)->9
        Close([4, 3, 5, 9, 2, 6, 9], y);
    }

    [Fact]
    public void AveragePoolCountIncludePad()
    {
        // 3x3 input of 1..9, k 2, stride 1, pads 1: corner window covers one real element.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var excl = Run("AveragePool", [F([1, 1, 3, 3], x)], Ints("kernel_shape", 2, 2), Ints("pads", 1, 1, 1, 1));
        Shape([1, 1, 4, 4], excl);
        Assert.Equal(1f, excl.Floats[0]);                // only x[0,0]
        Assert.Equal((1f + 2f) / 2, excl.Floats[1]);     // x[0,0], x[0,1]
        Assert.Equal((1f + 2 + 4 + 5) / 4, excl.Floats[5]);
        var incl = Run("AveragePool", [F([1, 1, 3, 3], x)], Ints("kernel_shape", 2, 2), Ints("pads", 1, 1, 1, 1), Int("count_include_pad", 1));
        Assert.Equal(1f / 4, incl.Floats[0]);
        Assert.Equal((1f + 2f) / 4, incl.Floats[1]);
        Assert.Equal(9f / 4, incl.Floats[15]);
    }

    [Fact]
    public void AveragePoolCeilModeOverhangIsNotCounted()
    {
        // 1-D in 5: [1,2,3,4,5], k 2, s 2, ceil: windows [1,2],[3,4],[5] (overhang past the input, no pads).
        var y = Run("AveragePool", [F([1, 1, 5], 1, 2, 3, 4, 5)], Ints("kernel_shape", 2), Ints("strides", 2), Int("ceil_mode", 1), Int("count_include_pad", 1));
        Close([1.5f, 3.5f, 5f], y);
        // With a begin pad of 1: windows [pad,1],[2,3],[4,5]; count_include_pad divides the first by 2.
        var p = Run("AveragePool", [F([1, 1, 5], 1, 2, 3, 4, 5)], Ints("kernel_shape", 2), Ints("strides", 2), Ints("pads", 1, 0), Int("ceil_mode", 1), Int("count_include_pad", 1));
        Close([0.5f, 2.5f, 4.5f], p);
    }

    [Fact]
    public void AveragePool3D()
    {
        var x = RandomFloats(30, 2 * 3 * 4 * 4 * 4);
        var y = Run("AveragePool", [F([2, 3, 4, 4, 4], x)], Ints("kernel_shape", 2, 2, 2), Ints("strides", 2, 2, 2));
        Shape([2, 3, 2, 2, 2], y);
        double s = 0;
        for (int z = 0; z < 2; z++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    s += x[(z * 4 + i) * 4 + j];
        Assert.Equal((float)(s / 8), y.Floats[0], 5);
    }

    [Fact]
    public void GlobalPools()
    {
        var x = F([1, 2, 2, 2], 1, 2, 3, 4, -1, -2, -3, -8);
        var avg = Run("GlobalAveragePool", [x]);
        Shape([1, 2, 1, 1], avg);
        Close([2.5f, -3.5f], avg);
        var max = Run("GlobalMaxPool", [x]);
        Close([4, -1], max);
    }
}
