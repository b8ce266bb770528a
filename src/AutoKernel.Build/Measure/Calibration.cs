namespace AutoKernel.Build.Measure;

/// <summary>
/// How the runner chooses Number, the runs per timed repeat (AutoTVM's number and min_repeat_ms),
/// as decisions on observed timings: the timing itself is a callback (seconds for N runs), so the
/// decisions are tested without timing anything. Two steps:
/// <list type="number">
/// <item><see cref="Calibrate"/>: time Number runs; a timing shorter than the minimum repeat is taken
/// <see cref="ShortTimingSamples"/> times and the least kept (one preempted timing must not end the
/// search early); while it is still short, raise Number (<see cref="Raise"/>) and time again, for at
/// most <see cref="CalibrationRounds"/> timings of distinct Numbers.</item>
/// <item><see cref="Repeat"/>, once per timed repeat: a repeat shorter than
/// <see cref="DisturbedFraction"/> of the minimum means the calibration was disturbed (a slow timing
/// made Number too small): raise Number and redo the repeat, at most <see cref="RepeatAttempts"/>
/// timings in all; the last one counts whatever it shows.</item>
/// </list>
/// No raise asks for a repeat longer than <see cref="RepeatBudget"/>.
/// </summary>
internal static class Calibration
{
    /// <summary>Most timings of distinct Numbers while calibrating.</summary>
    public const int CalibrationRounds = 10;

    /// <summary>Timings of one Number taken when the first is short; the least counts.</summary>
    public const int ShortTimingSamples = 3;

    /// <summary>Most timings of one repeat (the first and its redos).</summary>
    public const int RepeatAttempts = 4;

    /// <summary>A repeat shorter than this fraction of the minimum is redone with a larger Number.</summary>
    public const double DisturbedFraction = 0.5;

    /// <summary>A raise aims this much past the minimum, so that the next timing is not just short of it again.</summary>
    public const double Overshoot = 1.05;

    /// <summary>A raise at least multiplies Number by this much.</summary>
    public const int MinimumGrowth = 2;

    /// <summary>Shares of the time budget besides the repeats: the warm-up and the calibration.</summary>
    public const int OverheadShares = 2;

    /// <summary>
    /// The longest one repeat may last: the budget split over the repeats plus
    /// <see cref="OverheadShares"/>, but never below the minimum repeat.
    /// </summary>
    public static double RepeatBudget(double budgetSeconds, int repeat, double minSeconds) =>
        Math.Max(minSeconds, budgetSeconds / Math.Max(1, repeat + OverheadShares));

    /// <summary>
    /// A larger Number after <paramref name="number"/> runs took <paramref name="seconds"/>: enough
    /// for <see cref="Overshoot"/> times the minimum at the observed rate, at least
    /// <see cref="MinimumGrowth"/> times as many, at most what <paramref name="maxRepeatSeconds"/>
    /// allows at that rate (and <see cref="int.MaxValue"/>). Null when that is no more than now.
    /// A timing of zero (below the clock's resolution) gives no rate: the raise is the growth alone.
    /// </summary>
    public static int? Raise(int number, double seconds, double minSeconds, double maxRepeatSeconds)
    {
        long wanted;
        double cap;
        if (seconds <= 0)
        {
            wanted = (long)number * MinimumGrowth;
            cap = int.MaxValue;
        }
        else
        {
            double perRun = seconds / number;
            wanted = Math.Max((long)number * MinimumGrowth, (long)Math.Min(Math.Ceiling(minSeconds * Overshoot / perRun), int.MaxValue));
            cap = maxRepeatSeconds / perRun;
        }
        wanted = (long)Math.Min(wanted, Math.Min(cap, int.MaxValue));
        return wanted > number ? (int)wanted : null;
    }

    /// <summary>
    /// Step 1: the Number to time repeats with, starting from <paramref name="number"/>;
    /// <paramref name="time"/>(n) runs the kernel n times and returns the seconds taken.
    /// Without a minimum (<paramref name="minSeconds"/> ≤ 0), Number stays as given and nothing is timed.
    /// </summary>
    public static int Calibrate(int number, double minSeconds, double maxRepeatSeconds, Func<int, double> time)
    {
        if (minSeconds <= 0)
            return number;
        for (int round = 0; round < CalibrationRounds; round++)
        {
            double t = time(number);
            for (int sample = 1; sample < ShortTimingSamples && t < minSeconds; sample++)
                t = Math.Min(t, time(number));
            if (t >= minSeconds || Raise(number, t, minSeconds, maxRepeatSeconds) is not { } raised)
                break;
            number = raised;
        }
        return number;
    }

    /// <summary>
    /// Step 2: one timed repeat with <paramref name="number"/> runs, redone with a raised Number
    /// when it is disturbed (see the class). Returns the seconds per run of the timing that counts
    /// and the Number that timing used (the one later repeats start from).
    /// </summary>
    public static (double SecondsPerRun, int Number) Repeat(int number, double minSeconds, double maxRepeatSeconds, Func<int, double> time)
    {
        for (int attempt = 1; ; attempt++)
        {
            double t = time(number);
            if (attempt == RepeatAttempts || t >= minSeconds * DisturbedFraction || Raise(number, t, minSeconds, maxRepeatSeconds) is not { } raised)
                return (t / number, number);
            number = raised;
        }
    }
}
