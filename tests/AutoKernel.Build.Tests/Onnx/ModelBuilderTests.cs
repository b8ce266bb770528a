using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Compare;

namespace AutoKernel.Build.Tests.Onnx;

public class ModelBuilderTests
{
    [Fact]
    public void AddOfTwoKnownTensorsRunsInOnnxRuntime()
    {
        var b = new ModelBuilder("add");
        string x = b.Input("x", DataType.Float, 2, 3);
        string c = b.Initializer("c", [10, 20, 30, 40, 50, 60], 2, 3);
        string y = b.Node("Add", [x, c]);
        b.Output(y);
        var result = OrtRunner.Run(b.ToBytes(), new Dictionary<string, Tensor> { ["x"] = Tensor.FromFloats([2, 3], [1, 2, 3, 4, 5, 6]) })[y];
        Assert.Equal([2, 3], result.Shape);
        Assert.Equal([11f, 22f, 33f, 44f, 55f, 66f], result.Floats);
    }

    [Fact]
    public void ConvWithKnownWeightsRunsInOnnxRuntime()
    {
        // 1x1x3x3 input of ones, a 3x3 kernel 1..9 with padding 1 and bias 0.5.
        var b = new ModelBuilder("conv");
        string x = b.Input("x", DataType.Float, "N", 1, 3, 3);
        string w = b.Initializer("w", Tensor.FromFloats([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]));
        string bias = b.Initializer("b", [0.5f], 1);
        string y = b.Node("Conv", [x, w, bias], a => a.Ints("pads", 1, 1, 1, 1).Ints("kernel_shape", 3, 3).Int("group", 1), name: "conv1");
        b.Output(y, DataType.Float, ["N", 1, 3, 3]);
        float[] result = OrtRunner.Run(b.ToBytes(), new Dictionary<string, Tensor> { ["x"] = Tensor.FromFloats([1, 1, 3, 3], [.. Enumerable.Repeat(1f, 9)]) })[y].Floats;
        // Each output sums the kernel entries that fall on the input.
        float[] expected = [5 + 6 + 8 + 9, 4 + 5 + 6 + 7 + 8 + 9, 4 + 5 + 7 + 8, 2 + 3 + 5 + 6 + 8 + 9, 45, 1 + 2 + 4 + 5 + 7 + 8, 2 + 3 + 5 + 6, 1 + 2 + 3 + 4 + 5 + 6, 1 + 2 + 4 + 5];
        Assert.Equal(expected.Select(v => v + 0.5f), result);
    }

    [Fact]
    public void MultiOutputNodeAndOptionalInputs()
    {
        var b = new ModelBuilder("split", opset: 17);
        string x = b.Input("x", DataType.Float, 4);
        string sizes = b.Initializer("sizes", Tensor.Vector(1, 3));
        string[] parts = b.Node("Split", [x, sizes], outputs: 2, a => a.Int("axis", 0));
        Assert.Equal(2, parts.Length);
        Assert.NotEqual(parts[0], parts[1]);
        string max = b.Initializer("max", Tensor.Scalar(2.5f));
        string clipped = b.Node("Clip", [parts[1], "", max]);
        b.Output(parts[0]);
        b.Output(clipped);
        var model = b.Build();
        Assert.Equal("", model.Graph.Node[1].Input[1]);

        var results = OrtRunner.Run(b.ToBytes(), new Dictionary<string, Tensor> { ["x"] = Tensor.FromFloats([4], [1, 2, 3, 4]) });
        Assert.Equal([1f], results[parts[0]].Floats);
        Assert.Equal([2f, 2.5f, 2.5f], results[clipped].Floats);
    }

    [Fact]
    public void ModelMetadataAndShapes()
    {
        var b = new ModelBuilder("tiny", opset: 13);
        string x = b.Input("x", DataType.Float, "N", 3, -1, 32);
        string y = b.Node("Relu", [x], name: "relu");
        b.Output(y);
        ModelProto m = b.Build();
        Assert.Equal(8, m.IrVersion);
        Assert.Equal("AutoKernel", m.ProducerName);
        Assert.Equal("tiny", m.Graph.Name);
        Assert.Equal(13, m.OpsetImport.Single().Version);
        var dims = m.Graph.Input[0].Type.TensorType.Shape.Dim;
        Assert.Equal("N", dims[0].DimParam);
        Assert.Equal(3, dims[1].DimValue);
        Assert.Equal(TensorShapeProto.Types.Dimension.ValueOneofCase.None, dims[2].ValueCase);
        Assert.Equal(32, dims[3].DimValue);
        Assert.Null(m.Graph.Output[0].Type.TensorType.Shape);
        Assert.Equal((int)DataType.Float, m.Graph.Output[0].Type.TensorType.ElemType);
        Assert.Equal("relu", m.Graph.Node[0].Name);
        Assert.Equal("relu_output_0", y);
    }

    [Fact]
    public void AttributesHaveTheirTypes()
    {
        var b = new ModelBuilder("attrs");
        string x = b.Input("x", DataType.Float, 1);
        string y = b.Node("Custom", [x], a => a
            .Int("i", 3).Ints("is", 1, 2).Float("f", 0.5f).Floats("fs", 1.5f, 2.5f).String("s", "hi")
            .Tensor("t", Tensor.Vector(4, 5)), domain: "test.domain");
        b.ImportOpset("test.domain", 1);
        b.Output(y);
        var attrs = b.Build().Graph.Node[0].Attribute.ToDictionary(a => a.Name);
        Assert.Equal(AttributeProto.Types.AttributeType.Int, attrs["i"].Type);
        Assert.Equal(3, attrs["i"].I);
        Assert.Equal([1L, 2L], attrs["is"].Ints);
        Assert.Equal(0.5f, attrs["f"].F);
        Assert.Equal([1.5f, 2.5f], attrs["fs"].Floats);
        Assert.Equal("hi", attrs["s"].S.ToStringUtf8());
        Assert.Equal([4L, 5L], TensorProtos.ToTensor(attrs["t"].T).Int64s);
        Assert.Equal(AttributeProto.Types.AttributeType.Tensor, attrs["t"].Type);
    }

    [Fact]
    public void AutoNamesAreUniqueAndMistakesThrow()
    {
        var b = new ModelBuilder("names");
        string x = b.Input("x", DataType.Float, 2);
        string a = b.Node("Relu", [x]);
        string c = b.Node("Relu", [a]);
        Assert.NotEqual(a, c);
        b.Initializer("Relu_2_output_0", [1f, 2f], 2); // collides with the next automatic output name
        string d = b.Node("Relu", [c]);
        Assert.NotEqual("Relu_2_output_0", d);
        Assert.Throws<ArgumentException>(() => b.Node("Relu", ["missing"]));
        Assert.Throws<ArgumentException>(() => b.Input("x", DataType.Float, 2));
        Assert.Throws<ArgumentException>(() => b.Node("Relu", [x], name: "dup", output: a));
        b.Node("Relu", [x], name: "n1");
        Assert.Throws<ArgumentException>(() => b.Node("Relu", [x], name: "n1"));
        Assert.Throws<ArgumentException>(() => b.Node("Relu", [x], a => a.Int("k", 1).Int("k", 2)));
        Assert.Throws<ArgumentException>(() => b.Output("missing"));
        Assert.Throws<InvalidOperationException>(() => new ModelBuilder("empty").Build());
    }

    [Fact]
    public void SaveWritesTheModelAndLeavesNoTempFile()
    {
        string dir = Directory.CreateTempSubdirectory("ak-builder-").FullName;
        try
        {
            var b = new ModelBuilder("save");
            string x = b.Input("x", DataType.Float, 1);
            b.Output(b.Node("Relu", [x]));
            string path = Path.Combine(dir, "model.onnx");
            File.WriteAllText(path, "old");
            b.Save(path);
            Assert.Equal(b.ToBytes(), File.ReadAllBytes(path));
            Assert.Equal(["model.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName));
            var loaded = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.Equal("save", loaded.Graph.Name);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FailedSaveKeepsTheTargetAndDeletesTheTempFile()
    {
        string dir = Directory.CreateTempSubdirectory("ak-builder-").FullName;
        try
        {
            string path = Path.Combine(dir, "model.onnx");
            File.WriteAllText(path, "old");
            Assert.Throws<InvalidOperationException>(() => ModelFiles.WriteAtomically(path, stream =>
            {
                stream.Write(new byte[1000]);
                throw new InvalidOperationException("disk full");
            }));
            Assert.Equal("old", File.ReadAllText(path));
            Assert.Equal(["model.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName));

            // The rename itself failing (the target is a folder) also cleans up.
            string folder = Path.Combine(dir, "folder.onnx");
            Directory.CreateDirectory(folder);
            var b = new ModelBuilder("save");
            string x = b.Input("x", DataType.Float, 1);
            b.Output(b.Node("Relu", [x]));
            Assert.ThrowsAny<IOException>(() => ModelFiles.SaveAtomically(b.Build(), folder));
            Assert.Equal(["model.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName));
            Assert.True(Directory.Exists(folder));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
