using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace AutoKernel.Generator.Schedules
{
    /// <summary>
    /// The cartesian product of a template's knobs, with validity constraints. A point has a stable
    /// index (mixed radix over the knobs in declaration order, first knob least significant) that
    /// tuning logs record and <see cref="Decode"/> turns back into a <see cref="Config"/>.
    /// </summary>
    public sealed class ConfigSpace
    {
        private readonly Knob[] _knobs;
        private readonly Dictionary<string, int> _byName;
        private readonly Func<Config, bool>[] _constraints;

        public ConfigSpace(string template, IEnumerable<Knob> knobs, IEnumerable<Func<Config, bool>>? constraints = null)
        {
            Template = template;
            _knobs = knobs.ToArray();
            _byName = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < _knobs.Length; i++)
            {
                if (_byName.ContainsKey(_knobs[i].Name))
                    throw new ArgumentException($"knob '{_knobs[i].Name}' appears twice", nameof(knobs));
                _byName[_knobs[i].Name] = i;
            }
            _constraints = (constraints ?? Enumerable.Empty<Func<Config, bool>>()).ToArray();
            long size = 1;
            foreach (var k in _knobs)
                size = checked(size * k.Count);
            Size = size;
        }

        /// <summary>The template this space schedules (e.g. "conv2d_nchwc").</summary>
        public string Template { get; }

        public IReadOnlyList<Knob> Knobs => _knobs;

        /// <summary>Points in the space, valid or not.</summary>
        public long Size { get; }

        public int IndexOf(string knob) =>
            _byName.TryGetValue(knob, out int i) ? i : throw new KeyNotFoundException($"template {Template} has no knob '{knob}'");

        public Config Decode(long index)
        {
            if (index < 0 || index >= Size)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"the space has {Size} points");
            var choices = new int[_knobs.Length];
            for (int i = 0; i < _knobs.Length; i++)
            {
                choices[i] = (int)(index % _knobs[i].Count);
                index /= _knobs[i].Count;
            }
            return new Config(this, choices);
        }

        public long Encode(IReadOnlyList<int> choices)
        {
            if (choices.Count != _knobs.Length)
                throw new ArgumentException($"expected {_knobs.Length} choices, got {choices.Count}", nameof(choices));
            long index = 0;
            for (int i = _knobs.Length - 1; i >= 0; i--)
            {
                if (choices[i] < 0 || choices[i] >= _knobs[i].Count)
                    throw new ArgumentOutOfRangeException(nameof(choices), $"choice {choices[i]} of knob '{_knobs[i].Name}' is outside 0..{_knobs[i].Count - 1}");
                index = index * _knobs[i].Count + choices[i];
            }
            return index;
        }

        public bool IsValid(Config config)
        {
            foreach (var c in _constraints)
            {
                if (!c(config))
                    return false;
            }
            return true;
        }

        /// <summary>The point with the given choice per knob (validity not checked).</summary>
        public Config FromChoices(IReadOnlyList<int> choices) => new Config(this, choices.ToArray());

        /// <summary>Every valid point, in index order. For tests and small spaces only.</summary>
        public IEnumerable<Config> EnumerateValid()
        {
            for (long i = 0; i < Size; i++)
            {
                var c = Decode(i);
                if (IsValid(c))
                    yield return c;
            }
        }

        public override string ToString()
        {
            var sb = new StringBuilder(Template).Append(" (").Append(Size).Append(" points)");
            foreach (var k in _knobs)
                sb.Append("\n  ").Append(k.Name).Append(": ").Append(k.Kind).Append(", ").Append(k.Count).Append(" choices");
            return sb.ToString();
        }
    }

    /// <summary>A point of a <see cref="ConfigSpace"/>: one choice per knob.</summary>
    public sealed class Config : IEquatable<Config>
    {
        private readonly int[] _choices;

        internal Config(ConfigSpace space, int[] choices)
        {
            Space = space;
            _choices = choices;
            Index = space.Encode(choices);
        }

        public ConfigSpace Space { get; }

        public long Index { get; }

        public IReadOnlyList<int> Choices => _choices;

        /// <summary>The value list of the chosen entry of a knob.</summary>
        public IReadOnlyList<int> this[string knob]
        {
            get
            {
                int i = Space.IndexOf(knob);
                return Space.Knobs[i][_choices[i]];
            }
        }

        /// <summary>The single value of an annotate or other knob.</summary>
        public int Value(string knob) => this[knob][0];

        public bool Equals(Config? other) => other is not null && ReferenceEquals(Space, other.Space) && Index == other.Index;

        public override bool Equals(object? obj) => Equals(obj as Config);

        public override int GetHashCode() => Index.GetHashCode();

        /// <summary>"tile_oc=[4, 16] unroll_kw=1 ...": knob values in declaration order.</summary>
        public override string ToString() =>
            string.Join(" ", Space.Knobs.Select((k, i) => k.Name + "=" + k.Describe(_choices[i])));
    }
}
