namespace ContainerPS.Engine.Platform;

/// <summary>
/// Named points in multi-step operations where crash tests stop the process. When the environment
/// variable CONTAINERPS_FAULT names the point, the engine touches the file named by
/// CONTAINERPS_FAULT_SIGNAL (if set) and then sleeps, so the test can SIGKILL it there.
/// Costs one string comparison when unset.
/// </summary>
public static class FaultPoints
{
    private static readonly string? armed = Environment.GetEnvironmentVariable("CONTAINERPS_FAULT");

    public static void Hit(string point)
    {
        if (armed is null || !string.Equals(armed, point, StringComparison.Ordinal))
            return;
        var signal = Environment.GetEnvironmentVariable("CONTAINERPS_FAULT_SIGNAL");
        if (!string.IsNullOrEmpty(signal))
        {
            // Written aside and renamed, so a test that sees the file never reads it empty.
            File.WriteAllText(signal + ".tmp", point);
            File.Move(signal + ".tmp", signal, overwrite: true);
        }
        Thread.Sleep(TimeSpan.FromMinutes(5));
        throw new InvalidOperationException($"fault point {point} was not killed in time");
    }
}
