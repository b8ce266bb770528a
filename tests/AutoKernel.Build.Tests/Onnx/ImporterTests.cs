using AutoKernel.Build.Graph;
using AutoKernel.Build.Onnx;
using AutoKernel.Build.Onnx.Proto;
using AutoKernel.Build.Tests.Support;
using Google.Protobuf;

namespace AutoKernel.Build.Tests.Onnx;

public sealed class ImporterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Typed_fields_and_raw_data_read_the_same_values()
    {
        var raw = TensorProtos.FromTensor(Tensor.FromInt64s([3], [1, -2, 3]), "a");
        var typed = new TensorProto { Name = "a", DataType = (int)DataType.Int64, Dims = { 3 }, Int64Data = { 1, -2, 3 } };
        Assert.Equal(TensorProtos.ToTensor(raw).Int64s, TensorProtos.ToTensor(typed).Int64s);

        var floats = new TensorProto { DataType = 1, Dims = { 2 }, FloatData = { 0.5f, -1.5f } };
        Assert.Equal([0.5f, -1.5f], TensorProtos.ToTensor(floats).Floats);

        var bools = new TensorProto { DataType = 9, Dims = { 3 }, Int32Data = { 1, 0, 1 } };
        Assert.Equal([true, false, true], TensorProtos.ToTensor(bools).Bools);

        var ints = new TensorProto { DataType = 6, Dims = { 2 }, Int32Data = { 7, -7 } };
        Assert.Equal([7, -7], TensorProtos.ToTensor(ints).Int32s);

        foreach (var t in new[] { Tensor.FromFloats([2], [1, 2]), new Tensor(DataType.Bool, [2], new[] { true, false }), new Tensor(DataType.Int32, [1], new[] { 9 }) })
            Assert.Equal(TensorProtos.RawBytes(t), TensorProtos.RawBytes(TensorProtos.ToTensor(TensorProtos.FromTensor(t, "t"))));
    }

    [Fact]
    public void Wrong_element_counts_are_errors()
    {
        var typed = new TensorProto { Name = "w", DataType = 1, Dims = { 3 }, FloatData = { 1f } };
        Assert.Contains("tensor 'w' has 1 values", Assert.Throws<ModelException>(() => TensorProtos.ToTensor(typed)).Message);
        var raw = new TensorProto { Name = "w", DataType = 1, Dims = { 3 }, RawData = ByteString.CopyFrom(new byte[5]) };
        Assert.Contains("5 bytes", Assert.Throws<ModelException>(() => TensorProtos.ToTensor(raw)).Message);
    }

    [Fact]
    public void External_data_is_read_relative_to_the_model()
    {
        var weights = Graphs.RandomFloats(4, 2, 3);
        byte[] bytes = TensorProtos.RawBytes(weights);
        Directory.CreateDirectory(_dir.File("data"));
        File.WriteAllBytes(_dir.File("data/weights.bin"), [.. new byte[16], .. bytes]);

        var b = new ModelBuilder("external", 17);
        string x = b.Input("x", DataType.Float, 2, 3);
        string w = b.Initializer("w", weights);
        b.Output(b.Node("Add", [x, w], name: "add"));
        var proto = b.Build();
        var init = proto.Graph.Initializer.Single(t => t.Name == w);
        init.RawData = ByteString.Empty;
        init.DataLocation = TensorProto.Types.DataLocation.External;
        init.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "data/weights.bin" });
        init.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "16" });
        init.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        string path = _dir.File("model.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());

        var graph = OnnxImporter.Load(path);
        Assert.Equal(weights.Floats, graph.Initializers[w].Floats);

        init.ExternalData[0].Value = "data/missing.bin";
        File.WriteAllBytes(path, proto.ToByteArray());
        Assert.Contains("does not exist", Assert.Throws<ModelException>(() => OnnxImporter.Load(path)).Describe());
    }

    /// <summary>A model whose initializer "w" (2x3 floats) is external, at <paramref name="location"/>, offset and length as given.</summary>
    private string ExternalModel(string location, string offset = "0", string? length = null)
    {
        var b = new ModelBuilder("external", 17);
        string x = b.Input("x", DataType.Float, 2, 3);
        string w = b.Initializer("w", Graphs.RandomFloats(4, 2, 3));
        b.Output(b.Node("Add", [x, w], name: "add"));
        var proto = b.Build();
        var init = proto.Graph.Initializer.Single(t => t.Name == w);
        init.RawData = ByteString.Empty;
        init.DataLocation = TensorProto.Types.DataLocation.External;
        init.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        init.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset });
        if (length is not null)
            init.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length });
        string path = _dir.File("model.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        return path;
    }

    [Fact]
    public void External_data_through_a_link_that_leaves_the_folder_is_refused()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "symbolic links without privileges");
        using var outside = new TempDirectory();
        File.WriteAllBytes(outside.File("secret.bin"), new byte[24]);
        File.CreateSymbolicLink(_dir.File("weights.bin"), outside.File("secret.bin"));
        Directory.CreateSymbolicLink(_dir.File("linked"), outside.Path);
        foreach (string location in new[] { "weights.bin", "linked/secret.bin" })
        {
            var e = Assert.Throws<ModelException>(() => OnnxImporter.Load(ExternalModel(location)));
            Assert.Contains("outside the model's folder", e.Describe());
        }
        // A link that stays inside the folder is fine.
        File.WriteAllBytes(_dir.File("inside.bin"), new byte[24]);
        File.CreateSymbolicLink(_dir.File("alias.bin"), _dir.File("inside.bin"));
        Assert.Equal(6, OnnxImporter.Load(ExternalModel("alias.bin")).Initializers["w"].Length);
    }

    [Fact]
    public void External_data_in_a_fifo_or_a_device_is_refused_without_waiting()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "stat(2) is asked on Linux only");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [_dir.File("pipe.bin")]))
            mkfifo.WaitForExit();
        var e = Assert.Throws<ModelException>(() => OnnxImporter.Load(ExternalModel("pipe.bin")));
        Assert.Contains("not a regular file", e.Describe());
        File.CreateSymbolicLink(_dir.File("zero.bin"), "/dev/zero");
        // A link out of the folder is refused first; the check is on what the link resolves to.
        Assert.Contains("outside the model's folder", Assert.Throws<ModelException>(() => OnnxImporter.Load(ExternalModel("zero.bin"))).Describe());
        Assert.True(AutoKernel.Build.Onnx.RegularFile.Check("/dev/zero") == false);
        File.WriteAllBytes(_dir.File("plain.bin"), new byte[24]);
        Assert.True(AutoKernel.Build.Onnx.RegularFile.Check(_dir.File("plain.bin")) == true);
    }

    [Theory]
    [InlineData("weights\0.bin", "0", null, "NUL")]
    [InlineData("weights.bin", "9223372036854775800", null, "offset 9223372036854775800")]
    [InlineData("weights.bin", "-8", null, "negative")]
    [InlineData("weights.bin", "16", null, "which has 24")]
    [InlineData("weights.bin", "0", "9223372036854775807", "expected 24")]
    public void Bad_external_data_offsets_lengths_and_locations_are_one_clear_error(string location, string offset, string? length, string expected)
    {
        File.WriteAllBytes(_dir.File("weights.bin"), new byte[24]);
        var e = Assert.Throws<ModelException>(() => OnnxImporter.Load(ExternalModel(location, offset, length)));
        Assert.Contains(expected, e.Describe());
        Assert.Contains("model.onnx", e.Describe());
    }

    [Fact]
    public void Constant_nodes_and_initializers_listed_as_inputs()
    {
        var b = new ModelBuilder("old", 9);
        string x = b.Input("x", DataType.Float, 2);
        string c = b.Node("Constant", [], a => a.Tensor("value", Tensor.FromFloats([2], [10, 20])), name: "const");
        b.Output(b.Node("Add", [x, c], name: "add"));
        var proto = b.Build();
        // IR version 3 files list initializers among the graph inputs.
        proto.Graph.Initializer.Add(TensorProtos.FromTensor(Tensor.FromFloats([1], [1]), "unused"));
        proto.Graph.Input.Add(new ValueInfoProto
        {
            Name = "unused",
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 1 } } } } },
        });
        var graph = OnnxImporter.Import(proto, "old.onnx", null);
        Assert.Equal(["x"], graph.Inputs.Select(i => i.Name));

        var loaded = ModelPipeline.Prepare(graph);
        var y = new AutoKernel.Build.Reference.Interpreter(loaded.Optimized).Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromFloats([2], [1, 2]) });
        Assert.Equal([11f, 22f], y[loaded.Optimized.Outputs[0].Name].Floats);
    }

    [Fact]
    public void Nodes_out_of_order_are_sorted_and_cycles_rejected()
    {
        var b = new ModelBuilder("order", 17);
        string x = b.Input("x", DataType.Float, 2);
        string h = b.Node("Relu", [x], name: "first");
        b.Output(b.Node("Neg", [h], name: "second"));
        var proto = b.Build();
        var nodes = proto.Graph.Node.Reverse().ToList();
        proto.Graph.Node.Clear();
        proto.Graph.Node.AddRange(nodes);
        Assert.Equal(["first", "second"], OnnxImporter.Import(proto, "m.onnx", null).Nodes.Select(n => n.Name));

        proto.Graph.Node.Single(n => n.Name == "first").Input[0] = proto.Graph.Node.Single(n => n.Name == "second").Output[0];
        var e = Assert.Throws<ModelException>(() => OnnxImporter.Import(proto, "m.onnx", null));
        Assert.Contains("cycle", e.Message);
    }
}
