namespace ContainerPS;

/// <summary>The boot unit Initialize-ContainerHost installed (ContainerPS.ContainerHostBoot).</summary>
public sealed class ContainerHostBoot
{
    /// <summary>The unit's name: containerps.service.</summary>
    public string Unit { get; init; } = "";
    public string Path { get; init; } = "";
    /// <summary>False when the file already said the same.</summary>
    public bool Changed { get; init; }
    /// <summary>Whether systemd is the init here; without it the unit is written but nothing runs it at boot.</summary>
    public bool Systemd { get; init; }
    /// <summary>Whether systemd starts the unit at boot (systemctl is-enabled).</summary>
    public bool Enabled { get; init; }

    public override string ToString() => Path;
}
