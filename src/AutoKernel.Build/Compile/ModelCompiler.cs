using System.Globalization;
using AutoKernel.Build.Graph;
using AutoKernel.Build.Limits;
using AutoKernel.Build.Lowering;
using AutoKernel.Build.Records;
using AutoKernel.Build.Tasks;
using AutoKernel.Generator.Kernels;
using AutoKernel.Generator.Plans;

namespace AutoKernel.Build.Compile;

/// <summary>A compiled model: the plan, the weights payload, what the report prints and the warnings.</summary>
public sealed record CompiledModel(ModelPlan Plan, byte[] Payload, CompileReport Report, IReadOnlyList<CompileWarning> Warnings);

/// <summary>
/// Lowers an optimized graph into a plan, TVM-style: each tunable node becomes a tuned kernel with
/// the best logged schedule (or a fallback), every other node a generated fixed kernel or a view;
/// activations stay in the blocked layout the kernels chose, with a layout transform inserted only
/// where a consumer needs another one; buffers are placed in a liveness-planned arena; constants go
/// to the weights payload in the layout their kernel reads.
/// <para>
/// The plan is checked against the <see cref="MemoryBudget"/> and the generated code's limits before
/// weights are packed: each buffer at most <see cref="MaxBufferFloats"/> floats (kernels and the
/// model class index with int), and the arena, the weights and what one instance needs to run
/// (arena, weights, inputs and outputs) each within the limit.
/// </para>
/// </summary>
public static class ModelCompiler
{
    /// <summary>Operators that only reinterpret their input's shape: in the standard layout they alias its buffer.</summary>
    public static readonly IReadOnlySet<string> ViewOps = new HashSet<string>(StringComparer.Ordinal)
    {
        "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout",
    };

    /// <summary>
    /// Floats one buffer of a generated model may hold: kernels' lengths, the model class's
    /// InputLength/OutputLength constants and spans are int, and packed weights are managed arrays.
    /// </summary>
    public static readonly long MaxBufferFloats = Array.MaxLength;

    /// <param name="budget">The memory limit compile and the generated model are held to (default: <see cref="MemoryBudget.Current"/>).</param>
    public static CompiledModel Compile(LoadedModel model, RecordLog log, CpuTarget target, MemoryBudget? budget = null)
    {
        var builder = new PlanBuilder(model, new ConfigChooser(log, target), budget ?? MemoryBudget.Current);
        try
        {
            return builder.Build();
        }
        catch (ModelException e)
        {
            throw e.At(model.Path, model.Optimized.Opset);
        }
    }

    private sealed class BufferDef(int id, string kind, long floats)
    {
        public int Id { get; } = id;

        public string Kind { get; set; } = kind;

        public long Floats { get; set; } = floats;

        /// <summary>Input/output index, or the weights offset once laid out, or the arena offset once planned.</summary>
        public long Offset { get; set; }

        public int FirstStep { get; set; } = -1;

        public int LastStep { get; set; } = -1;

        /// <summary>Weights buffers: the data, or null until packed.</summary>
        public float[]? Data { get; set; }

        public string? DedupeKey { get; set; }

        /// <summary>A part of another buffer (one output of a multi-output node): the whole and the part's offset in it, in floats.</summary>
        public BufferDef? Parent { get; init; }

        public long ParentOffset { get; init; }
    }

    /// <summary>Where a value lives: a buffer, its layout (0 standard, b blocked) and its logical shape.</summary>
    private sealed record Loc(int Buffer, int Block, int[] Shape);

    private sealed class PlanBuilder(LoadedModel model, ConfigChooser chooser, MemoryBudget budget)
    {
        private readonly ModelGraph _graph = model.Optimized;
        private readonly List<BufferDef> _buffers = [];
        private readonly List<PlanStep> _steps = [];
        private readonly Dictionary<string, Loc> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<(string, int), Loc> _converted = [];
        private readonly Dictionary<string, int> _constants = new(StringComparer.Ordinal);
        private readonly List<(int Step, int WeightsBuffer, int BiasBuffer, PackRequest Request)> _packs = [];
        private readonly CompileReport _report = new();
        private long _intermediateFloats;

        public CompiledModel Build()
        {
            var inputs = new List<PlanValue>();
            foreach (var input in _graph.Inputs.Where(i => !_graph.Initializers.ContainsKey(i.Name)))
            {
                var type = _graph.TypeOf(input.Name) ?? input.Type;
                if (type.ElementType != DataType.Float)
                    throw new ModelException($"input '{input.Name}' is {type.ElementType.ToString().ToLowerInvariant()}; generated models take float32 inputs only") { Kind = ModelErrorKind.Unsupported };
                var buffer = NewBuffer(PlanBuffer.Input, type.ElementCount);
                buffer.Offset = inputs.Count;
                _values[input.Name] = new Loc(buffer.Id, 0, type.Shape);
                inputs.Add(new PlanValue(input.Name, type.Shape.ToEquatableArray(), buffer.Id));
            }

            foreach (var node in _graph.Nodes)
                Lower(node);

            var outputs = Outputs();
            _intermediateFloats = _buffers.Where(b => b.Kind == PlanBuffer.Arena && b.Parent is null).Sum(b => b.Floats);
            RunInPlace();
            PlanArena();
            CheckLimits();
            PackAndLayWeights(out byte[] payload);
            _report.Finish(_steps, _intermediateFloats);

            var plan = new ModelPlan(
                PlanFormat.Version,
                Path.GetFileName(model.Path),
                new PlanTarget(chooser.Target.VectorBits, chooser.Target.Cores, chooser.Target.Description),
                new PlanWeights(payload.Length, Runtime.Models.WeightsFile.Sha256(payload)),
                _report.ArenaFloats,
                _report.IntermediateFloats,
                inputs.ToEquatableArray(),
                outputs.ToEquatableArray(),
                _buffers.Select(b => new PlanBuffer(b.Id, b.Kind, b.Offset, b.Floats)).ToEquatableArray(),
                _steps.ToEquatableArray());
            _report.WeightsBytes = payload.Length;
            return new CompiledModel(plan, payload, _report, [.. chooser.Warnings]);
        }

        private BufferDef NewBuffer(string kind, long floats)
        {
            var b = new BufferDef(_buffers.Count, kind, floats);
            _buffers.Add(b);
            return b;
        }

        private int AddStep(PlanStep step)
        {
            int index = _steps.Count;
            _steps.Add(step);
            foreach (int input in step.Inputs)
            {
                for (var b = _buffers[input]; b is not null; b = b.Parent)
                    b.LastStep = Math.Max(b.LastStep, index);
            }
            if (_buffers[step.Output].FirstStep < 0)
                _buffers[step.Output].FirstStep = index;
            _buffers[step.Output].LastStep = Math.Max(_buffers[step.Output].LastStep, index);
            return index;
        }

        private void Lower(Node node)
        {
            if (IsView(node))
            {
                var input = Use(node.Input(0), 0);
                var shape = _graph.TypeOf(node.Outputs[0])!.Shape;
                _values[node.Outputs[0]] = new Loc(input, 0, shape);
                _report.Views++;
                return;
            }
            if (TaskExtractor.WorkloadOf(_graph, node) is { } workload && TunedOperands(node, workload) is { } operands)
            {
                Tuned(node, workload, operands.Weights, operands.Bias);
                return;
            }
            Fixed(node);
        }

        private bool IsView(Node node) =>
            node.Domain.Length == 0 && ViewOps.Contains(node.OpType) && node.Outputs.Count(o => o.Length > 0) == 1
            && _graph.TypeOf(node.Input(0)) is { ElementType: DataType.Float } && !_graph.Initializers.ContainsKey(node.Input(0))
            && (node.OpType != "Dropout" || node.Outputs.Count == 1 || node.Outputs[1].Length == 0 || !_graph.Consumers(node.Outputs[1]).Any());

        /// <summary>The ONNX-layout weights and bias of a tunable node, or null when its constants are computed (it then runs as a fixed kernel).</summary>
        private (float[] Weights, float[]? Bias)? TunedOperands(Node node, Generator.Workloads.Workload workload)
        {
            if (!KernelTemplates.All.Any(t => t.Supports(workload)))
                return null;
            if (!_graph.Initializers.TryGetValue(node.Input(1), out var w) || w.Type != DataType.Float)
                return null;
            if (workload is Generator.Workloads.DenseWorkload)
            {
                var dense = DenseOperands.For(_graph, node);
                return (dense.Weights, dense.Bias);
            }
            float[]? bias = null;
            if (node.HasInput(2))
            {
                if (!_graph.Initializers.TryGetValue(node.Input(2), out var b) || b.Type != DataType.Float)
                    return null;
                bias = b.Floats;
            }
            return (w.Floats, bias);
        }

        private void Tuned(Node node, Generator.Workloads.Workload workload, float[] weights, float[]? bias)
        {
            int arriving = _values.TryGetValue(node.Input(0), out var producer) ? producer.Block : 0;
            var chosen = chooser.Choose(workload, arriving);
            var epilogue = TaskExtractor.EpilogueOf(node) with { Bias = bias is not null };
            var target = chooser.Target;
            var (inBlock, outBlock) = KernelLayouts.Of(chosen.Template, chosen.Config, target);
            var inputs = new List<int> { Use(node.Input(0), inBlock) };
            if (epilogue.Residual)
                inputs.Add(Use(node.Input(FusedOps.ResidualInput), outBlock));
            var shape = _graph.TypeOf(node.Outputs[0])!.Shape;
            var output = NewBuffer(PlanBuffer.Arena, KernelLayouts.Floats(shape, outBlock));
            var packedWeights = NewBuffer(PlanBuffer.WeightsKind, 0);
            var packedBias = NewBuffer(PlanBuffer.WeightsKind, 0);
            string className = KernelNames.Tuned(chosen.Template.Name, chosen.Config.Index, workload, epilogue);
            var step = new PlanStep(PlanStep.TunedKind, node.Name, node.OpType, inputs.ToEquatableArray(), output.Id,
                new TunedStep(chosen.Template.Name, workload.Key, chosen.Config.Index, epilogue, packedWeights.Id, packedBias.Id, chosen.Source), null);
            int index = AddStep(step);
            string source = chosen.Template.Emit(workload, epilogue, chosen.Config, target, KernelNames.Namespace, className);
            _packs.Add((index, packedWeights.Id, packedBias.Id, new PackRequest(className, source, weights, bias)));
            _values[node.Outputs[0]] = new Loc(output.Id, outBlock, shape);
            _report.CountTask(workload.Key, chosen.Source);
        }

        private void Fixed(Node node)
        {
            string firstActivation = node.Inputs.FirstOrDefault(i => i.Length > 0 && _values.ContainsKey(i)) ?? "";
            int block = firstActivation.Length > 0 && _values[firstActivation] is { Shape.Length: 4 } loc ? loc.Block : 0;
            var lowered = FixedOpLowering.Lower(_graph, node, block)
                ?? throw new ModelException("cannot be compiled: " + (FixedOpLowering.WhyNot(_graph, node) ?? "no generated kernel computes this operator with these types and attributes")) { Node = node, Kind = ModelErrorKind.Unsupported };
            var op = lowered.Op;
            var inputs = new List<int>();
            foreach (string operand in lowered.Operands)
            {
                var type = _graph.TypeOf(operand);
                inputs.Add(_graph.Initializers.ContainsKey(operand) ? Constant(operand, node) : Use(operand, op.Block > 0 && type?.Rank == 4 ? op.Block : 0));
            }
            var output = NewBuffer(PlanBuffer.Arena, KernelLayouts.Floats(op.Output, op.Block > 0 ? op.Block : 0));
            AddStep(new PlanStep(PlanStep.FixedKind, node.Name, node.OpType, inputs.ToEquatableArray(), output.Id, null, PlanFormat.FromFixedOp(op)));
            var named = node.Outputs.Where(o => o.Length > 0).ToList();
            if (named.Count == 1)
            {
                _values[named[0]] = new Loc(output.Id, op.Output.Length == 4 ? KernelLayouts.Normalize(op.Block) : 0, op.Output);
                return;
            }
            // A multi-output kernel (Split) writes its outputs one after another, each in the standard layout.
            long offset = 0;
            foreach (string value in node.Outputs)
            {
                var shape = _graph.TypeOf(value)?.Shape ?? throw new ModelException($"output '{value}' has no known shape") { Node = node };
                long floats = shape.Aggregate(1L, (p, d) => p * d);
                var part = new BufferDef(_buffers.Count, PlanBuffer.Arena, floats) { Parent = output, ParentOffset = offset, FirstStep = output.FirstStep, LastStep = output.FirstStep };
                _buffers.Add(part);
                _values[value] = new Loc(part.Id, 0, shape);
                offset += floats;
            }
            if (op.Block != 0 || offset != output.Floats)
                throw new ModelException($"the {op.OpType} kernel's output ({output.Floats} floats) does not hold the node's {named.Count} outputs ({offset} floats)") { Node = node };
        }

        /// <summary>A float initializer as a weights buffer (standard layout), stored once however many nodes read it.</summary>
        private int Constant(string name, Node node)
        {
            if (_constants.TryGetValue(name, out int id))
                return id;
            var tensor = _graph.Initializers[name];
            if (tensor.Type != DataType.Float)
                throw new ModelException($"constant '{name}' is {tensor.Type.ToString().ToLowerInvariant()}; generated kernels read float32 constants only") { Node = node, Kind = ModelErrorKind.Unsupported };
            var buffer = NewBuffer(PlanBuffer.WeightsKind, tensor.Length);
            buffer.Data = tensor.Floats;
            buffer.DedupeKey = "constant:" + name;
            _constants[name] = buffer.Id;
            return buffer.Id;
        }

        /// <summary>The buffer holding <paramref name="value"/> in layout <paramref name="block"/>, inserting (once) a layout transform when it lives in another.</summary>
        private int Use(string value, int block)
        {
            block = KernelLayouts.Normalize(block);
            if (!_values.TryGetValue(value, out var loc))
            {
                if (_graph.Initializers.ContainsKey(value) && block == 0)
                    return Constant(value, _graph.Nodes.First(n => n.Inputs.Contains(value)));
                throw new ModelException($"value '{value}' is used before it is computed, or is a constant where an activation is expected");
            }
            if (loc.Block == block)
                return loc.Buffer;
            if (_converted.TryGetValue((value, block), out var done))
                return done.Buffer;
            if (loc.Shape.Length != 4)
                throw new ModelException($"value '{value}' has rank {loc.Shape.Length}; only 4-D tensors have a blocked layout");
            var output = NewBuffer(PlanBuffer.Arena, KernelLayouts.Floats(loc.Shape, block));
            var op = new FixedOp("LayoutTransform", [loc.Shape], loc.Shape, 0, [new("from", Layout(loc.Block)), new("to", Layout(block))]);
            AddStep(new PlanStep(PlanStep.TransformKind, "", "LayoutTransform", new[] { loc.Buffer }.ToEquatableArray(), output.Id, null, PlanFormat.FromFixedOp(op)));
            _report.Transforms.Add($"{value} [{string.Join("x", loc.Shape)}]: {LayoutName(loc.Block)} -> {LayoutName(block)}");
            var converted = new Loc(output.Id, block, loc.Shape);
            _converted[(value, block)] = converted;
            return converted.Buffer;
        }

        private static string Layout(int block) => block.ToString(CultureInfo.InvariantCulture);

        private static string LayoutName(int block) => block == 0 ? "NCHW" : $"NCHW{block}c";

        /// <summary>
        /// Puts each graph output in a caller's buffer: the producing step writes there directly when
        /// the value is standard-layout and owns its buffer; otherwise a transform or copy writes it.
        /// </summary>
        private List<PlanValue> Outputs()
        {
            var outputs = new List<PlanValue>();
            var claimed = new HashSet<int>();
            foreach (var o in _graph.Outputs)
            {
                var type = _graph.TypeOf(o.Name) ?? o.Type;
                if (type.ElementType != DataType.Float)
                    throw new ModelException($"output '{o.Name}' is {type.ElementType.ToString().ToLowerInvariant()}; generated models produce float32 outputs only");
                int index = outputs.Count;
                long floats = type.ElementCount;
                if (!_values.ContainsKey(o.Name) && !_graph.Initializers.ContainsKey(o.Name))
                    throw new ModelException($"output '{o.Name}' is computed by no node and is no constant");
                int source = _values.TryGetValue(o.Name, out var loc) ? loc.Buffer : Constant(o.Name, _graph.Nodes.FirstOrDefault() ?? new Node("", "", [], []));
                var buffer = _buffers[source];
                int outputId;
                if (loc is not null && loc.Block == 0 && buffer.Kind == PlanBuffer.Arena && buffer.Parent is null && buffer.Floats == floats && claimed.Add(source))
                {
                    buffer.Kind = PlanBuffer.Output;
                    buffer.Offset = index;
                    outputId = source;
                }
                else
                {
                    var target = NewBuffer(PlanBuffer.Output, floats);
                    target.Offset = index;
                    outputId = target.Id;
                    bool transform = loc is not null && loc.Block != 0;
                    var op = transform
                        ? new FixedOp("LayoutTransform", [type.Shape], type.Shape, 0, [new("from", Layout(loc!.Block)), new("to", "0")])
                        : new FixedOp("Copy", [type.Shape], type.Shape, 0);
                    AddStep(new PlanStep(transform ? PlanStep.TransformKind : PlanStep.CopyKind, "", op.OpType, new[] { source }.ToEquatableArray(), target.Id, null, PlanFormat.FromFixedOp(op)));
                    if (transform)
                        _report.Transforms.Add($"{o.Name} [{string.Join("x", type.Shape)}]: {LayoutName(loc!.Block)} -> NCHW (model output)");
                }
                outputs.Add(new PlanValue(o.Name, type.Shape.ToEquatableArray(), outputId));
            }
            return outputs;
        }

        /// <summary>
        /// Elementwise fixed kernels whose same-shaped input dies at that step write over it: the
        /// output buffer is merged into the input's. Safe because each output element depends only
        /// on the input element at the same index, which the kernel reads before it writes.
        /// </summary>
        private void RunInPlace()
        {
            for (int i = 0; i < _steps.Count; i++)
            {
                var step = _steps[i];
                if (step.Kind != PlanStep.FixedKind || step.Fixed is not { } f || !InPlaceOps.Contains(f.OpType))
                    continue;
                var y = _buffers[step.Output];
                if (y.Kind != PlanBuffer.Arena || y.Parent is not null)
                    continue;
                for (int k = 0; k < step.Inputs.Count; k++)
                {
                    var x = _buffers[step.Inputs[k]];
                    if (x == y || x.Kind != PlanBuffer.Arena || x.Parent is not null || x.LastStep != i || x.Floats != y.Floats
                        || _buffers.Any(b => b.Parent == x) || !f.Inputs[k].SequenceEqual(f.Output) || step.Inputs.Count(id => id == x.Id) > 1)
                        continue;
                    for (int j = i; j < _steps.Count; j++)
                    {
                        var s = _steps[j];
                        if (s.Output == y.Id || s.Inputs.Contains(y.Id))
                            _steps[j] = s with { Output = s.Output == y.Id ? x.Id : s.Output, Inputs = s.Inputs.Select(id => id == y.Id ? x.Id : id).ToEquatableArray() };
                    }
                    x.LastStep = Math.Max(x.LastStep, y.LastStep);
                    y.Floats = 0;
                    y.FirstStep = y.LastStep = -1;
                    _report.InPlace++;
                    break;
                }
            }
        }

        /// <summary>Fixed kernels that may write over an input of the output's shape (Elementwise.cs's unary, binary and variadic families).</summary>
        private static readonly HashSet<string> InPlaceOps = new(StringComparer.Ordinal)
        {
            "Activation", "Neg", "Abs", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Erf", "Softsign",
            "Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Sum", "Mean", "Min", "Max", "Clip",
        };

        private void PlanArena()
        {
            var requests = _buffers.Where(b => b.Kind == PlanBuffer.Arena && b.Parent is null && b.FirstStep >= 0)
                .Select(b => new ArenaRequest(b.Id, b.Floats, Math.Max(0, b.FirstStep), Math.Max(b.FirstStep, b.LastStep)))
                .ToList();
            var (offsets, arena) = ArenaPlanner.Plan(requests);
            foreach (var (id, offset) in offsets)
                _buffers[id].Offset = offset;
            foreach (var part in _buffers.Where(b => b.Parent is not null))
                part.Offset = part.Parent!.Offset + part.ParentOffset;
            _report.ArenaFloats = arena;
        }

        /// <summary>
        /// Refuses a plan the generated code cannot index (a buffer over <see cref="MaxBufferFloats"/>)
        /// or that needs more memory than the budget: the arena, the weights (estimated before
        /// packing, from the tensors to pack), or arena, weights, inputs and outputs together.
        /// </summary>
        private void CheckLimits()
        {
            foreach (var b in _buffers.Where(b => b.Parent is null && b.Kind != PlanBuffer.WeightsKind))
            {
                if (b.Floats > MaxBufferFloats)
                    throw BufferTooLarge(b, b.Floats);
            }
            foreach (var b in _buffers.Where(b => b.Kind == PlanBuffer.WeightsKind && b.Data is not null))
            {
                if (b.Data!.Length > MaxBufferFloats)
                    throw BufferTooLarge(b, b.Data.Length);
            }
            long arenaBytes = SaturatingBytes(_report.ArenaFloats);
            budget.CheckBytes("the generated model's arena (intermediate tensors)", arenaBytes);
            long weightFloats = _buffers.Where(b => b.Kind == PlanBuffer.WeightsKind && b.Data is not null).Sum(b => (long)b.Data!.Length)
                + _packs.Sum(p => (long)p.Request.Weights.Length + (p.Request.Bias?.Length ?? 0));
            long weightBytes = SaturatingBytes(weightFloats);
            budget.CheckBytes("the generated model's weights", weightBytes);
            long ioBytes = SaturatingBytes(_buffers.Where(b => b.Kind is PlanBuffer.Input or PlanBuffer.Output).Sum(b => b.Floats));
            long total = arenaBytes + weightBytes + ioBytes;
            budget.CheckBytes(string.Create(CultureInfo.InvariantCulture,
                $"an instance of the generated model (arena {MemoryBudget.Format(arenaBytes)}, weights {MemoryBudget.Format(weightBytes)}, inputs and outputs {MemoryBudget.Format(ioBytes)})"), total);
        }

        private static long SaturatingBytes(long floats) => floats > long.MaxValue / 8 ? long.MaxValue / 2 : floats * 4;

        private ModelException BufferTooLarge(BufferDef b, long floats)
        {
            int stepIndex = _steps.FindIndex(s => s.Output == b.Id || s.Inputs.Contains(b.Id));
            var step = stepIndex >= 0 ? _steps[stepIndex] : null;
            var node = step is not null ? _graph.Nodes.FirstOrDefault(n => n.Name == step.Node && n.OpType == step.Op) : null;
            string what = b.Kind switch
            {
                PlanBuffer.Input => "an input",
                PlanBuffer.Output => "an output",
                PlanBuffer.WeightsKind => "a constant",
                _ => "an intermediate tensor",
            };
            string at = node is null && step is not null ? $" (step {stepIndex.ToString(CultureInfo.InvariantCulture)}, {step.Op})" : "";
            return new ModelException(string.Create(CultureInfo.InvariantCulture,
                $"{what}{at} of the generated model holds {floats} floats; generated kernels index buffers with int, so a buffer holds at most {MaxBufferFloats} floats"))
            { Node = node, Kind = ModelErrorKind.MemoryLimit };
        }

        private void PackAndLayWeights(out byte[] payload)
        {
            var packed = KernelPacker.Pack([.. _packs.Select(p => p.Request)]);
            for (int i = 0; i < _packs.Count; i++)
            {
                _buffers[_packs[i].WeightsBuffer].Data = packed[i].Weights;
                _buffers[_packs[i].BiasBuffer].Data = packed[i].Bias;
            }
            var weights = new WeightsBuilder();
            foreach (var b in _buffers.Where(b => b.Kind == PlanBuffer.WeightsKind))
            {
                b.Floats = b.Data!.Length;
                b.Offset = weights.Add(b.Data, b.DedupeKey);
            }
            budget.CheckBytes("the generated model's packed weights", SaturatingBytes(weights.Floats));
            payload = weights.Payload();
        }
    }
}
