using System;
using System.Collections.Generic;
using System.Linq;
using AutoKernel.Generator.Kernels;

namespace AutoKernel.Generator.Plans;

/// <summary>
/// The plan's text form: one JSON object, written deterministically (same plan, same bytes) and
/// read back with positioned errors. Readers refuse a newer <see cref="Version"/> and ignore
/// members they do not know, so a version can gain optional members.
/// </summary>
public static class PlanFormat
{
    public const string FormatName = "autokernel-plan";

    public const int Version = 1;

    /// <summary>The file name ending the generator picks up from AdditionalFiles.</summary>
    public const string FileSuffix = ".akplan.json";

    public static string Write(ModelPlan plan)
    {
        var w = new JsonWriter();
        w.StartObject();
        w.String("format", FormatName);
        w.Number("version", plan.Version);
        w.String("model", plan.Model);
        w.StartObject("target").Number("vector_bits", plan.Target.VectorBits).Number("threads", plan.Target.Threads).String("description", plan.Target.Description).EndObject();
        w.StartObject("weights").Number("bytes", plan.Weights.Bytes).String("sha256", plan.Weights.Sha256).EndObject();
        w.StartObject("arena").Number("floats", plan.ArenaFloats).Number("intermediate_floats", plan.IntermediateFloats).EndObject();
        WriteValues(w, "inputs", plan.Inputs);
        WriteValues(w, "outputs", plan.Outputs);
        w.StartArray("buffers");
        foreach (var b in plan.Buffers)
            w.StartObject().Number("id", b.Id).String("kind", b.Kind).Number("offset", b.Offset).Number("floats", b.Floats).EndObject();
        w.EndArray();
        w.StartArray("steps");
        foreach (var s in plan.Steps)
        {
            w.StartObject().String("kind", s.Kind).String("node", s.Node).String("op", s.Op).Ints("inputs", s.Inputs).Number("output", s.Output);
            if (s.Tuned is { } t)
            {
                w.String("template", t.Template).String("workload", t.WorkloadKey).Number("config", t.ConfigIndex).String("config_source", t.Source);
                w.StartObject("epilogue").Bool("bias", t.Epilogue.Bias).Bool("residual", t.Epilogue.Residual).String("activation", t.Epilogue.Activation)
                    .Number("alpha", t.Epilogue.Alpha).Number("beta", t.Epilogue.Beta).EndObject();
                w.Number("weights", t.Weights).Number("bias", t.Bias);
            }
            if (s.Fixed is { } f)
            {
                w.StartObject("fixed").String("op", f.OpType);
                w.StartArray("inputs");
                foreach (var shape in f.Inputs)
                    w.Ints(null, shape);
                w.EndArray();
                w.Ints("output", f.Output).Number("block", f.Block);
                w.StartObject("attributes");
                foreach (var a in f.Attributes)
                    w.String(a.Key, a.Value);
                w.EndObject().EndObject();
            }
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        return w.ToString();
    }

    private static void WriteValues(JsonWriter w, string key, IEnumerable<PlanValue> values)
    {
        w.StartArray(key);
        foreach (var v in values)
            w.StartObject().String("name", v.Name).Ints("shape", v.Shape).String("dtype", "float32").Number("buffer", v.Buffer).EndObject();
        w.EndArray();
    }

    /// <summary>Reads and checks a plan; a <see cref="PlanFormatException"/> names the line and what is wrong.</summary>
    public static ModelPlan Parse(string text)
    {
        var root = JsonRead.Object(JsonParser.Parse(text), "the plan");
        if (root.Find("format") is not JsonString { Value: FormatName })
            throw root.Error($"not an AutoKernel plan (expected \"format\": \"{FormatName}\")");
        var versionNode = root.Get("version");
        int version = JsonRead.Int(versionNode, "version", 1);
        if (version > Version)
            throw new PlanVersionException($"plan format version {version} is newer than this AutoKernel generator reads ({Version}); update the AutoKernel package", versionNode.Line, versionNode.Column);
        var target = JsonRead.Object(root.Get("target"), "target");
        int vectorBits = JsonRead.Int(target.Get("vector_bits"), "target.vector_bits");
        if (vectorBits is not (128 or 256 or 512))
            throw target.Get("vector_bits").Error("target.vector_bits must be 128, 256 or 512");
        var planTarget = new PlanTarget(vectorBits, JsonRead.Int(target.Get("threads"), "target.threads", 1), JsonRead.String(target.Get("description"), "target.description"));
        var weights = JsonRead.Object(root.Get("weights"), "weights");
        string sha = JsonRead.String(weights.Get("sha256"), "weights.sha256");
        if (sha.Length != 64 || sha.Any(c => !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))))
            throw weights.Get("sha256").Error("weights.sha256 must be 64 lowercase hex digits");
        var planWeights = new PlanWeights(JsonRead.Long(weights.Get("bytes"), "weights.bytes", 0), sha);
        var arena = JsonRead.Object(root.Get("arena"), "arena");
        // The model class declares the arena in bytes (a long): floats * 4 must not overflow.
        long arenaFloats = JsonRead.Long(arena.Get("floats"), "arena.floats", 0, long.MaxValue / 4);
        long intermediate = JsonRead.Long(arena.Get("intermediate_floats"), "arena.intermediate_floats", 0);

        var buffers = new List<PlanBuffer>();
        foreach (var node in JsonRead.Array(root.Get("buffers"), "buffers").Items)
        {
            var b = JsonRead.Object(node, "a buffer");
            int id = JsonRead.Int(b.Get("id"), "buffer id", 0);
            if (id != buffers.Count)
                throw b.Error($"buffer ids must count up from 0; expected {buffers.Count}, found {id}");
            string kind = JsonRead.String(b.Get("kind"), "buffer kind");
            if (kind is not (PlanBuffer.Arena or PlanBuffer.WeightsKind or PlanBuffer.Input or PlanBuffer.Output))
                throw b.Get("kind").Error($"unknown buffer kind '{kind}'");
            var buffer = new PlanBuffer(id, kind, JsonRead.Long(b.Get("offset"), "buffer offset", 0), JsonRead.Long(b.Get("floats"), "buffer floats", 0));
            long limit = kind == PlanBuffer.Arena ? arenaFloats : kind == PlanBuffer.WeightsKind ? planWeights.Bytes / 4 : long.MaxValue;
            // Written as a subtraction: offset + floats can overflow a long.
            if (buffer.Offset > limit || buffer.Floats > limit - buffer.Offset)
                throw b.Error($"buffer {id} ends at {buffer.Offset + buffer.Floats} floats, past the {kind} ({limit} floats)");
            buffers.Add(buffer);
        }
        PlanBuffer BufferAt(JsonNode node, string what)
        {
            int id = JsonRead.Int(node, what, 0);
            if (id >= buffers.Count)
                throw node.Error($"{what} names buffer {id}, but the plan has {buffers.Count}");
            return buffers[id];
        }

        EquatableArray<PlanValue> Values(string key, string kind)
        {
            var list = new List<PlanValue>();
            foreach (var node in JsonRead.Array(root.Get(key), key).Items)
            {
                var v = JsonRead.Object(node, key + " entry");
                if (v.Find("dtype") is { } dtype && JsonRead.String(dtype, "dtype") != "float32")
                    throw dtype.Error("only float32 model inputs and outputs are supported");
                var buffer = BufferAt(v.Get("buffer"), key + " buffer");
                if (buffer.Kind != kind || buffer.Offset != list.Count)
                    throw v.Error($"{key}[{list.Count}] must use the {kind} buffer with offset {list.Count}");
                var shapeNode = v.Get("shape");
                var shape = JsonRead.Ints(shapeNode, "shape", 1);
                long length = 1;
                foreach (int d in shape)
                {
                    length *= d;
                    // The model class declares each value's length as an int constant (spans hold at most int.MaxValue).
                    if (length > int.MaxValue)
                        throw shapeNode.Error($"{key}[{list.Count}] has more than {int.MaxValue} elements");
                }
                if (buffer.Floats != length)
                    throw v.Error($"{key}[{list.Count}] has {length} elements but its buffer {buffer.Id} holds {buffer.Floats} floats");
                list.Add(new PlanValue(JsonRead.String(v.Get("name"), "name"), shape.ToEquatableArray(), buffer.Id));
            }
            return list.ToEquatableArray();
        }

        var inputs = Values("inputs", PlanBuffer.Input);
        var outputs = Values("outputs", PlanBuffer.Output);
        if (outputs.Count == 0)
            throw root.Get("outputs").Error("a plan needs at least one output");
        // An input or output buffer is the caller's span number Offset: it must name one that exists.
        var bufferNodes = JsonRead.Array(root.Get("buffers"), "buffers").Items;
        foreach (var buffer in buffers)
        {
            int count = buffer.Kind == PlanBuffer.Input ? inputs.Count : buffer.Kind == PlanBuffer.Output ? outputs.Count : int.MaxValue;
            if (buffer.Offset >= count)
                throw bufferNodes[buffer.Id].Error($"buffer {buffer.Id} is {buffer.Kind} {buffer.Offset}, but the plan has {count} {buffer.Kind}s");
        }

        var steps = new List<PlanStep>();
        foreach (var node in JsonRead.Array(root.Get("steps"), "steps").Items)
            steps.Add(ReadStep(JsonRead.Object(node, "a step"), BufferAt));
        return new ModelPlan(version, JsonRead.String(root.Get("model"), "model"), planTarget, planWeights, arenaFloats, intermediate,
            inputs, outputs, buffers.ToEquatableArray(), steps.ToEquatableArray());
    }

    private static PlanStep ReadStep(JsonObject s, Func<JsonNode, string, PlanBuffer> bufferAt)
    {
        string kind = JsonRead.String(s.Get("kind"), "step kind");
        string node = JsonRead.String(s.Get("node"), "step node");
        string op = JsonRead.String(s.Get("op"), "step op");
        var inputs = JsonRead.Array(s.Get("inputs"), "step inputs").Items.Select(i => bufferAt(i, "step input").Id).ToEquatableArray();
        var outputNode = s.Get("output");
        var output = bufferAt(outputNode, "step output");
        if (output.Kind is PlanBuffer.Input or PlanBuffer.WeightsKind)
            throw outputNode.Error($"step '{node}' writes to a read-only {output.Kind} buffer");
        TunedStep? tuned = null;
        FixedStep? fixedStep = null;
        switch (kind)
        {
            case PlanStep.TunedKind:
            {
                var e = JsonRead.Object(s.Get("epilogue"), "epilogue");
                var epilogue = new Epilogue(JsonRead.Bool(e.Get("bias"), "epilogue.bias"), JsonRead.Bool(e.Get("residual"), "epilogue.residual"),
                    JsonRead.String(e.Get("activation"), "epilogue.activation"), JsonRead.Float(e.Get("alpha"), "epilogue.alpha"), JsonRead.Float(e.Get("beta"), "epilogue.beta"));
                var weights = bufferAt(s.Get("weights"), "tuned weights");
                var bias = bufferAt(s.Get("bias"), "tuned bias");
                if (weights.Kind != PlanBuffer.WeightsKind || bias.Kind != PlanBuffer.WeightsKind)
                    throw s.Error($"step '{node}': a tuned kernel's weights and bias must be weights buffers");
                if (inputs.Count != (epilogue.Residual ? 2 : 1))
                    throw s.Get("inputs").Error($"step '{node}': a tuned kernel takes {(epilogue.Residual ? 2 : 1)} inputs");
                tuned = new TunedStep(JsonRead.String(s.Get("template"), "template"), JsonRead.String(s.Get("workload"), "workload"),
                    JsonRead.Long(s.Get("config"), "config", 0), epilogue, weights.Id, bias.Id, JsonRead.String(s.Get("config_source"), "config_source"));
                break;
            }
            case PlanStep.FixedKind:
            case PlanStep.TransformKind:
            case PlanStep.CopyKind:
            {
                var f = JsonRead.Object(s.Get("fixed"), "fixed");
                var shapes = JsonRead.Array(f.Get("inputs"), "fixed inputs").Items.Select(i => JsonRead.Ints(i, "fixed input shape", 0).ToEquatableArray()).ToEquatableArray();
                if (shapes.Count != inputs.Count)
                    throw f.Error($"step '{node}': {inputs.Count} input buffers but {shapes.Count} input shapes");
                var attributes = JsonRead.Object(f.Get("attributes"), "attributes").Members
                    .Select(m => new PlanAttribute(m.Key, JsonRead.String(m.Value, "attribute " + m.Key))).ToEquatableArray();
                fixedStep = new FixedStep(JsonRead.String(f.Get("op"), "fixed op"), shapes, JsonRead.Ints(f.Get("output"), "fixed output", 0).ToEquatableArray(),
                    JsonRead.Int(f.Get("block"), "block", 0, 1024), attributes);
                break;
            }
            default:
                throw s.Get("kind").Error($"unknown step kind '{kind}'");
        }
        return new PlanStep(kind, node, op, inputs, output.Id, tuned, fixedStep);
    }

    /// <summary>A fixed step as the emitter's <see cref="FixedOp"/>.</summary>
    public static FixedOp ToFixedOp(FixedStep f) =>
        new(f.OpType, f.Inputs.Select(s => s.ToArray()).ToList(), f.Output.ToArray(), f.Block,
            f.Attributes.Select(a => new KeyValuePair<string, string>(a.Key, a.Value)));

    /// <summary>The plan form of a <see cref="FixedOp"/>.</summary>
    public static FixedStep FromFixedOp(FixedOp op) =>
        new(op.OpType, op.Inputs.Select(s => s.ToEquatableArray()).ToEquatableArray(), op.Output.ToEquatableArray(), op.Block,
            op.Attributes.Select(a => new PlanAttribute(a.Key, a.Value)).ToEquatableArray());
}

/// <summary>The plan was written by a newer AutoKernel than the generator reading it.</summary>
public sealed class PlanVersionException(string message, int line, int column) : Exception(message)
{
    public int Line { get; } = line;

    public int Column { get; } = column;
}
