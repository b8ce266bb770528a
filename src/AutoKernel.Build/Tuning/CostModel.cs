using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace AutoKernel.Build.Tuning;

public enum CostModelTrainer
{
    LightGbm,
    FastTree,
}

public enum CostModelObjective
{
    /// <summary>LambdaRank over per-workload relevance grades (0..15) of normalized throughput.</summary>
    Rank,

    /// <summary>Squared error on throughput normalized by the workload's best.</summary>
    Regression,
}

/// <summary>The gradient-boosted trees behind the model-based tuner.</summary>
public sealed record CostModelOptions
{
    public CostModelTrainer Trainer { get; init; } = CostModelTrainer.LightGbm;

    public CostModelObjective Objective { get; init; } = CostModelObjective.Regression;

    public int Trees { get; init; } = 100;

    public int Leaves { get; init; } = 8;

    public int MinExamplesPerLeaf { get; init; } = 2;

    public double LearningRate { get; init; } = 0.2;

    public int Seed { get; init; }

    /// <summary>"lgbm-rank", "fasttree-reg", ...: the command-line spelling.</summary>
    public string Describe() => (Trainer == CostModelTrainer.LightGbm ? "lgbm" : "fasttree") + (Objective == CostModelObjective.Rank ? "-rank" : "-reg");

    public static CostModelOptions Parse(string text) => text switch
    {
        "lgbm-rank" => new() { Trainer = CostModelTrainer.LightGbm, Objective = CostModelObjective.Rank },
        "lgbm-reg" => new() { Trainer = CostModelTrainer.LightGbm, Objective = CostModelObjective.Regression },
        "fasttree-rank" => new() { Trainer = CostModelTrainer.FastTree, Objective = CostModelObjective.Rank },
        "fasttree-reg" => new() { Trainer = CostModelTrainer.FastTree, Objective = CostModelObjective.Regression },
        _ => throw new ArgumentException($"unknown cost model '{text}' (expected lgbm-rank, lgbm-reg, fasttree-rank or fasttree-reg)"),
    };

    public static readonly string[] Names = ["lgbm-rank", "lgbm-reg", "fasttree-rank", "fasttree-reg"];
}

/// <summary>One training example: a feature vector, its throughput (0 for a failed trial) and its workload group.</summary>
public readonly record struct CostSample(float[] Features, double Gflops, int Group);

/// <summary>
/// A learned cost model (AutoTVM's XGBoostCostModel, on Microsoft.ML): gradient-boosted trees
/// over schedule features that score how fast a configuration will run. Throughput is
/// normalized by the best of its workload group so that records of different workloads train
/// one model (transfer learning). Only the ordering of scores is meaningful.
/// <para>
/// Training goes through ML.NET; scoring walks the trained trees directly, because the
/// simulated-annealing explorer scores tens of thousands of points per plan and ML.NET's
/// per-row prediction path costs microseconds and allocations per row.
/// </para>
/// </summary>
public sealed class CostModel
{
    /// <summary>Relevance grades of the ranking objective, with gains 2^g - 1 (LightGBM's default shape).</summary>
    private const int Grades = 16;

    private const int MaxQueryRows = 5000;

    private static readonly int[] s_gains = [.. Enumerable.Range(0, Grades).Select(g => (1 << g) - 1)];

    private readonly MLContext _ml;
    private Tree[] _trees = [];
    private double _bias;

    public CostModel(CostModelOptions options, int featureLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(featureLength, 1);
        Options = options;
        FeatureLength = featureLength;
        _ml = new MLContext(options.Seed);
    }

    public CostModelOptions Options { get; }

    public int FeatureLength { get; }

    public bool IsTrained { get; private set; }

    /// <summary>The ML.NET model of the last fit (for checking the fast scorer against ML.NET).</summary>
    internal ITransformer? Transformer { get; private set; }

    /// <summary>Fits a fresh model to all samples. Needs at least two samples with different throughput.</summary>
    public void Fit(IReadOnlyList<CostSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var rows = MakeRows(samples);
        if (rows.Count < 2 || rows.All(r => r.Label == rows[0].Label))
            return;
        var data = Load(rows);
        var transformer = _ml.Transforms.Conversion.MapValueToKey(nameof(Row.GroupId)).Append(Trainer()).Fit(data);
        var model = transformer.LastTransformer switch
        {
            ISingleFeaturePredictionTransformer<TreeEnsembleModelParametersBasedOnRegressionTree> t => t.Model,
            var other => throw new InvalidOperationException($"unexpected model type {other.GetType()}"),
        };
        var ensemble = model.TrainedTreeEnsemble;
        _trees = [.. ensemble.Trees.Select((t, i) => new Tree(t, ensemble.TreeWeights[i]))];
        _bias = ensemble.Bias;
        Transformer = transformer;
        IsTrained = true;
    }

    /// <summary>The score of one feature vector (higher: predicted faster).</summary>
    public double Predict(ReadOnlySpan<float> features)
    {
        if (features.Length != FeatureLength)
            throw new ArgumentException($"expected {FeatureLength} features, got {features.Length}", nameof(features));
        double sum = _bias;
        foreach (var tree in _trees)
            sum += tree.Evaluate(features);
        return sum;
    }

    /// <summary>Scores through ML.NET's own prediction pipeline (slow; for tests).</summary>
    internal float[] PredictWithMlNet(IReadOnlyList<float[]> features)
    {
        if (Transformer is null)
            throw new InvalidOperationException("the model is not trained");
        var rows = features.Select(f => new Row { Features = f, Label = 0, GroupId = 1 }).ToList();
        var scored = Transformer.Transform(Load(rows));
        return [.. scored.GetColumn<float>("Score")];
    }

    /// <summary>The rows <see cref="Fit"/> trains on, in training order: each sample's label and query (for tests).</summary>
    internal IReadOnlyList<(float Label, uint Query)> TrainingRows(IReadOnlyList<CostSample> samples) =>
        [.. MakeRows(samples).Select(r => (r.Label, r.GroupId))];

    private List<Row> MakeRows(IReadOnlyList<CostSample> samples)
    {
        // Rows are grouped contiguously by workload, as LightGBM's ranking requires.
        var best = new Dictionary<int, double>();
        var keys = new Dictionary<int, uint>();
        foreach (var s in samples)
        {
            if (s.Features.Length != FeatureLength)
                throw new ArgumentException($"expected {FeatureLength} features, got {s.Features.Length}", nameof(samples));
            best[s.Group] = Math.Max(best.GetValueOrDefault(s.Group), s.Gflops);
            keys.TryAdd(s.Group, (uint)keys.Count + 1);
        }
        var rows = samples
            .Select(s =>
            {
                double y = best[s.Group] > 0 ? Math.Max(0, s.Gflops) / best[s.Group] : 0;
                float label = Options.Objective == CostModelObjective.Rank ? (float)Math.Round(y * (Grades - 1)) : (float)y;
                return new Row { Features = s.Features, Label = label, GroupId = keys[s.Group] };
            })
            .OrderBy(r => r.GroupId)
            .ToList();
        // LightGBM refuses queries of more than 10,000 rows: cut larger groups into consecutive
        // queries (the labels stay normalized by the whole workload's best).
        uint next = 0, previous = 0;
        int inGroup = 0;
        foreach (var row in rows)
        {
            if (row.GroupId != previous || inGroup == MaxQueryRows)
            {
                previous = row.GroupId;
                inGroup = 0;
                next++;
            }
            inGroup++;
            row.GroupId = next;
        }
        return rows;
    }

    private IDataView Load(List<Row> rows)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, FeatureLength);
        return _ml.Data.LoadFromEnumerable(rows, schema);
    }

    private IEstimator<ISingleFeaturePredictionTransformer<object>> Trainer()
    {
        var o = Options;
        const string label = nameof(Row.Label), features = nameof(Row.Features), group = nameof(Row.GroupId);
        return (o.Trainer, o.Objective) switch
        {
            (CostModelTrainer.LightGbm, CostModelObjective.Regression) => _ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
            {
                LabelColumnName = label, FeatureColumnName = features,
                NumberOfIterations = o.Trees, NumberOfLeaves = o.Leaves, MinimumExampleCountPerLeaf = o.MinExamplesPerLeaf,
                LearningRate = o.LearningRate, Seed = o.Seed, NumberOfThreads = 1, Verbose = false, Silent = true,
            }),
            (CostModelTrainer.LightGbm, CostModelObjective.Rank) => _ml.Ranking.Trainers.LightGbm(new LightGbmRankingTrainer.Options
            {
                LabelColumnName = label, FeatureColumnName = features, RowGroupColumnName = group,
                NumberOfIterations = o.Trees, NumberOfLeaves = o.Leaves, MinimumExampleCountPerLeaf = o.MinExamplesPerLeaf,
                LearningRate = o.LearningRate, Seed = o.Seed, NumberOfThreads = 1, Verbose = false, Silent = true,
                CustomGains = s_gains,
            }),
            (CostModelTrainer.FastTree, CostModelObjective.Regression) => _ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
            {
                LabelColumnName = label, FeatureColumnName = features,
                NumberOfTrees = o.Trees, NumberOfLeaves = Math.Max(2, o.Leaves), MinimumExampleCountPerLeaf = o.MinExamplesPerLeaf,
                LearningRate = o.LearningRate, NumberOfThreads = 1,
            }),
            _ => _ml.Ranking.Trainers.FastTree(new FastTreeRankingTrainer.Options
            {
                LabelColumnName = label, FeatureColumnName = features, RowGroupColumnName = group,
                NumberOfTrees = o.Trees, NumberOfLeaves = Math.Max(2, o.Leaves), MinimumExampleCountPerLeaf = o.MinExamplesPerLeaf,
                LearningRate = o.LearningRate, NumberOfThreads = 1,
                CustomGains = [.. s_gains.Select(g => (double)g)],
            }),
        };
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];

        public float Label { get; set; }

        public uint GroupId { get; set; }
    }

    /// <summary>A regression tree as flat arrays: node i goes left when feature[split[i]] &lt;= threshold[i]; a negative child ~c is leaf c.</summary>
    private sealed class Tree
    {
        private readonly int[] _left, _right, _feature;
        private readonly float[] _threshold;
        private readonly double[] _leaf;
        private readonly double _weight;

        public Tree(RegressionTree tree, double weight)
        {
            if (tree.CategoricalSplitFlags.Any(f => f))
                throw new InvalidOperationException("categorical splits are not expected: all features are numeric");
            _left = [.. tree.LeftChild];
            _right = [.. tree.RightChild];
            _feature = [.. tree.NumericalSplitFeatureIndexes];
            _threshold = [.. tree.NumericalSplitThresholds];
            _leaf = [.. tree.LeafValues];
            _weight = weight;
        }

        public double Evaluate(ReadOnlySpan<float> x)
        {
            if (_left.Length == 0)
                return _leaf.Length > 0 ? _weight * _leaf[0] : 0;
            int node = 0;
            while (node >= 0)
                node = x[_feature[node]] <= _threshold[node] ? _left[node] : _right[node];
            return _weight * _leaf[~node];
        }
    }
}
