using AutoKernel.Build.Measure;

namespace AutoKernel.Build.Tests.Measure;

/// <summary>
/// The runner's choice of Number on scripted timings: nothing is timed, so every expectation is
/// exact. Times are powers of two (or small multiples), so the arithmetic in the comments is exact
/// too; only the 1.05 overshoot is inexact, and the values it scales land well away from integers.
/// </summary>
public sealed class CalibrationTests
{
    private const double Min = 1.0 / 64; // 2^-6 s, the minimum repeat
    private const double Roomy = 1.0; // a budget that never caps

    /// <summary>A kernel that takes <paramref name="perRun"/>(k) seconds a run at the k-th timing (k from 0); records each timing's Number.</summary>
    private sealed class ScriptedClock(Func<int, double> perRun)
    {
        public List<int> Numbers { get; } = [];

        public double Time(int number)
        {
            double seconds = number * perRun(Numbers.Count);
            Numbers.Add(number);
            return seconds;
        }
    }

    [Theory]
    // (budget, repeat, min) -> budget / (repeat + 2), at least min.
    [InlineData(5.0, 3, 0.05, 1.0)]
    [InlineData(0.1, 3, 0.05, 0.05)]
    [InlineData(6.0, 0, 0.0, 3.0)]
    [InlineData(6.0, 1, 0.0, 2.0)]
    public void The_repeat_budget_shares_the_time_among_the_repeats_the_warmup_and_the_calibration(double budget, int repeat, double min, double expected) =>
        Assert.Equal(expected, Calibration.RepeatBudget(budget, repeat, min));

    [Fact]
    public void Raise_aims_five_percent_past_the_minimum_at_the_observed_rate()
    {
        // 4 runs in 2^-8 s: 2^-10 s a run; 1.05 · 2^-6 / 2^-10 = 16.8 -> 17 runs (more than 2 · 4).
        Assert.Equal(17, Calibration.Raise(4, 1.0 / 256, Min, Roomy));
        // 1 run in 2^-20 s: 1.05 · 2^14 = 17203.2 -> 17204.
        Assert.Equal(17204, Calibration.Raise(1, 1.0 / (1 << 20), Min, Roomy));
    }

    [Fact]
    public void Raise_at_least_doubles()
    {
        // 3 runs in 2^-8 s: the rate asks for ceil(1.05 · 4 · 3) = ceil(12.6) = 13, doubling for 6: 13.
        Assert.Equal(13, Calibration.Raise(3, 1.0 / 256, Min, Roomy));
        // 10 runs in 0.6 · 2^-6 s: the rate asks for ceil(1.05 / 0.6 · 10) = ceil(17.5) = 18, doubling for 20: 20.
        Assert.Equal(20, Calibration.Raise(10, 0.6 * Min, Min, Roomy));
    }

    [Fact]
    public void Raise_doubles_when_the_timing_is_below_the_clocks_resolution()
    {
        Assert.Equal(14, Calibration.Raise(7, 0, Min, Roomy));
        Assert.Equal(int.MaxValue, Calibration.Raise(int.MaxValue / 2 + 1, 0, Min, Roomy));
        Assert.Null(Calibration.Raise(int.MaxValue, 0, Min, Roomy));
    }

    [Fact]
    public void Raise_stays_within_the_budget_and_gives_up_when_it_allows_no_more()
    {
        // 3 · 2^-12 s a run, budget 2^-6 s a repeat: at most 64 / 3 = 21.3 runs; the rate asks for 23.
        double perRun = 3.0 / 4096;
        Assert.Equal(21, Calibration.Raise(1, perRun, Min, Min));
        Assert.Null(Calibration.Raise(21, 21 * perRun, Min, Min));
        // A rate so slow that one run fills the budget: nothing to raise to.
        Assert.Null(Calibration.Raise(1, Min, 2 * Min, Min));
    }

    [Fact]
    public void Calibrate_raises_number_until_a_repeat_lasts_the_minimum()
    {
        // 2^-20 s a run: 1 run is short (timed three times), 17204 runs last 17204 · 2^-20 ≈ 0.0164 s ≥ 2^-6.
        var clock = new ScriptedClock(_ => 1.0 / (1 << 20));
        Assert.Equal(17204, Calibration.Calibrate(1, Min, Roomy, clock.Time));
        Assert.Equal([1, 1, 1, 17204], clock.Numbers);
    }

    [Fact]
    public void Calibrate_keeps_the_least_of_three_short_timings()
    {
        // The third timing is preempted (half a second for one run): the least, 2^-20 s, counts.
        var clock = new ScriptedClock(k => k == 2 ? 0.5 : 1.0 / (1 << 20));
        Assert.Equal(17204, Calibration.Calibrate(1, Min, Roomy, clock.Time));
        Assert.Equal([1, 1, 1, 17204], clock.Numbers);
    }

    [Fact]
    public void Calibrate_stops_at_the_budget()
    {
        // 3 · 2^-12 s a run, budget 2^-6: raised to 21 (see Raise), where 21 runs (63 · 2^-12 s) are
        // still short and the budget allows no more.
        var clock = new ScriptedClock(_ => 3.0 / 4096);
        Assert.Equal(21, Calibration.Calibrate(1, Min, Min, clock.Time));
        Assert.Equal([1, 1, 1, 21, 21, 21], clock.Numbers);
    }

    [Fact]
    public void Calibrate_gives_up_after_ten_numbers()
    {
        // A clock that always reads 0: doubling from 1, each Number timed three times; after the
        // tenth Number (512) the raise to 1024 is kept untimed.
        var clock = new ScriptedClock(_ => 0);
        Assert.Equal(1024, Calibration.Calibrate(1, Min, Roomy, clock.Time));
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(p => Enumerable.Repeat(1 << p, 3)), clock.Numbers);
    }

    [Fact]
    public void Without_a_minimum_nothing_is_calibrated()
    {
        var clock = new ScriptedClock(_ => 1.0 / (1 << 20));
        Assert.Equal(5, Calibration.Calibrate(5, 0, Roomy, clock.Time));
        Assert.Empty(clock.Numbers);
        Assert.Equal((1.0 / (1 << 20), 5), Calibration.Repeat(5, 0, Roomy, clock.Time));
        Assert.Equal([5], clock.Numbers);
    }

    [Fact]
    public void A_repeat_of_at_least_half_the_minimum_counts_as_it_is()
    {
        // 2^-20 s a run; 8192 runs = 2^-7 s, exactly half the minimum: not disturbed.
        var clock = new ScriptedClock(_ => 1.0 / (1 << 20));
        Assert.Equal((1.0 / (1 << 20), 8192), Calibration.Repeat(8192, Min, Roomy, clock.Time));
        Assert.Equal([8192], clock.Numbers);
    }

    [Fact]
    public void A_disturbed_repeat_is_redone_with_a_raised_number()
    {
        // Calibration stopped at 1 run (its only timing was preempted); the repeat times 1 run at
        // 2^-20 s, far short, and redoes it with 17204.
        var clock = new ScriptedClock(_ => 1.0 / (1 << 20));
        Assert.Equal((1.0 / (1 << 20), 17204), Calibration.Repeat(1, Min, Roomy, clock.Time));
        Assert.Equal([1, 17204], clock.Numbers);
    }

    [Fact]
    public void The_last_redo_counts_with_the_number_it_was_timed_with()
    {
        // The kernel gets 4 times faster at each timing, so every repeat is short:
        //   1 run at 2^-20 s           -> raise to ceil(1.05 · 2^14) = 17204
        //   17204 runs at 2^-22 s each -> 0.0041 s, short; raise to ceil(1.05 · 2^16) = 68813
        //   68813 runs at 2^-24 s each -> short; raise to ceil(1.05 · 2^18) = 275252
        //   275252 runs at 2^-26 s     -> the fourth timing counts: 2^-26 s a run with Number 275252
        //      (not divided by a Number raised after it).
        var clock = new ScriptedClock(k => 1.0 / (1L << (20 + 2 * k)));
        Assert.Equal((1.0 / (1 << 26), 275252), Calibration.Repeat(1, Min, Roomy, clock.Time));
        Assert.Equal([1, 17204, 68813, 275252], clock.Numbers);
    }
}
