using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace AutoKernel.Generator.Schedules
{
    /// <summary>The kinds of schedule knob, as in AutoTVM.</summary>
    public enum KnobKind
    {
        /// <summary>Tile factors of one loop axis (outermost first; their product covers the extent).</summary>
        Split,

        /// <summary>A permutation of loops.</summary>
        Reorder,

        /// <summary>An annotation choice for a loop: none, unroll, vectorize, parallel...</summary>
        Annotate,

        /// <summary>A plain list of alternatives.</summary>
        Other,
    }

    /// <summary>
    /// One dimension of a configuration space: a name and a list of choices. Each choice is an
    /// int array: tile factors for Split, a loop permutation for Reorder, one value otherwise.
    /// </summary>
    public sealed class Knob
    {
        private readonly int[][] _choices;

        public Knob(string name, KnobKind kind, IEnumerable<int[]> choices)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Kind = kind;
            _choices = choices.Select(c => (int[])c.Clone()).ToArray();
            if (_choices.Length == 0)
                throw new ArgumentException($"knob '{name}' has no choices", nameof(choices));
        }

        public string Name { get; }

        public KnobKind Kind { get; }

        public int Count => _choices.Length;

        public IReadOnlyList<int> this[int choice] => _choices[choice];

        /// <summary>The choice's values, e.g. "[7, 8]" for a split, "2" for an annotate or other knob.</summary>
        public string Describe(int choice) =>
            Kind is KnobKind.Split or KnobKind.Reorder
                ? "[" + string.Join(", ", _choices[choice].Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]"
                : _choices[choice][0].ToString(CultureInfo.InvariantCulture);

        /// <summary>
        /// Split of an axis into <paramref name="parts"/> factors whose product is <paramref name="extent"/>
        /// (AutoTVM's "factors" policy). <paramref name="innermost"/> limits the candidates for the last factor.
        /// </summary>
        public static Knob Split(string name, int extent, int parts, Func<int, bool>? innermost = null)
        {
            var result = new List<int[]>();
            var current = new int[parts];
            Fill(extent, 0);
            return new Knob(name, KnobKind.Split, result);

            void Fill(int remaining, int index)
            {
                if (index == parts - 1)
                {
                    if (innermost is null || innermost(remaining))
                    {
                        current[index] = remaining;
                        result.Add((int[])current.Clone());
                    }
                    return;
                }
                for (int f = 1; f <= remaining; f++)
                {
                    if (remaining % f != 0)
                        continue;
                    current[index] = f;
                    Fill(remaining / f, index + 1);
                }
            }
        }

        /// <summary>A list of alternatives, each one value.</summary>
        public static Knob Choice(string name, KnobKind kind, params int[] values) =>
            new Knob(name, kind, values.Select(v => new[] { v }));

        /// <summary>The given loop orders (each a permutation of 0..n-1).</summary>
        public static Knob Reorder(string name, params int[][] orders) => new Knob(name, KnobKind.Reorder, orders);
    }
}
