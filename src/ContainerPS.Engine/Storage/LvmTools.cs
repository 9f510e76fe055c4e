using System.Globalization;
using static ContainerPS.Engine.Storage.LvmNames;

namespace ContainerPS.Engine.Storage;

/// <summary>One logical volume as lvs shows it.</summary>
internal sealed record LogicalVolume(string Name, string Attr, long Size, double? DataPercent, IReadOnlySet<string> Tags, string Origin);

/// <summary>
/// The LVM commands the lvm driver runs (lvs, lvcreate, lvremove, lvrename, lvchange, vgs...), with
/// the rule that only LVs with the pool's tag (<see cref="LvmNames.PoolTag"/>) are ever changed or removed.
/// </summary>
internal sealed class LvmTools(ExternalTool tool, string tag)
{
    /// <summary>The tag arguments of an lvcreate or vgcreate: ContainerPS's and the pool's.</summary>
    public string[] TagArgs => new[] { "--addtag", Tag, "--addtag", tag };

    public bool Ours(LogicalVolume lv) => lv.Tags.Contains(tag);

    // lvs listings by VG, kept until this object runs an LVM command that changes something: each
    // lvs is a scan of every device (seconds on a slow machine), and one operation asks several times.
    private readonly Dictionary<string, IReadOnlyDictionary<string, LogicalVolume>> listed = new(StringComparer.Ordinal);

    /// <summary>The LVs of a volume group by name (none when it does not exist); listed once until a change made through this object.</summary>
    public IReadOnlyDictionary<string, LogicalVolume> Lvs(string vg)
    {
        if (listed.TryGetValue(vg, out var known))
            return known;
        return listed[vg] = List(vg);
    }

    private Dictionary<string, LogicalVolume> List(string vg)
    {
        var r = tool.Execute("lvs", new[] { "--noheadings", "--units", "b", "--nosuffix", "--separator", "|", "-o", "lv_name,lv_attr,lv_size,data_percent,lv_tags,origin", vg }, null, null);
        var result = new Dictionary<string, LogicalVolume>(StringComparer.Ordinal);
        if (r.ExitCode != 0)
            return result;
        foreach (var line in r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.Split('|') is not [var name, var attr, var size, var data, var tags, var origin])
                continue;
            result[name] = new LogicalVolume(name, attr, long.Parse(size, CultureInfo.InvariantCulture),
                double.TryParse(data, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
                tags.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal), origin);
        }
        return result;
    }

    public LogicalVolume? Lv(string vg, string lv) => Lvs(vg).GetValueOrDefault(lv);

    public bool VgExists(string vg) => tool.Execute("vgs", new[] { "--noheadings", "-o", "vg_name", vg }, null, null).ExitCode == 0;

    /// <summary>A VG's tags and physical volumes.</summary>
    public (IReadOnlySet<string> Tags, IReadOnlyList<string> Pvs) Vg(string vg)
    {
        var tags = tool.Execute("vgs", new[] { "--noheadings", "-o", "vg_tags", vg }, null, null).StandardOutput.Trim()
            .Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var pvs = tool.Execute("pvs", new[] { "--noheadings", "-o", "pv_name", "--select", "vg_name=" + vg }, null, null).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return (tags, pvs);
    }

    /// <summary>The volume group a device belongs to as a physical volume: null when it is no PV, "" for a PV in no VG.</summary>
    public string? VgOfPv(string device) =>
        tool.Execute("pvs", new[] { "--noheadings", "-o", "vg_name", device }, null, null) is { ExitCode: 0 } r ? r.StandardOutput.Trim() : null;

    /// <summary>Used and total bytes of the VG (vgs).</summary>
    public (long Size, long Free)? VgSpace(string vg)
    {
        var r = tool.Execute("vgs", new[] { "--noheadings", "--units", "b", "--nosuffix", "--separator", "|", "-o", "vg_size,vg_free", vg }, null, null);
        return r.ExitCode == 0 && r.StandardOutput.Trim().Split('|') is [var s, var f]
            ? (long.Parse(s, CultureInfo.InvariantCulture), long.Parse(f, CultureInfo.InvariantCulture)) : null;
    }

    /// <summary>Runs an LVM command (one that may change LVs: the listings are read again after it).</summary>
    public void Run(params string[] args)
    {
        listed.Clear();
        tool.Run(args[0], args[1..]);
    }

    /// <summary>SourceInUse unless the LV carries the pool's tag.</summary>
    public void CheckOurs(string vg, LogicalVolume lv)
    {
        if (!Ours(lv))
            throw new ContainerPSException(Errors.SourceInUse,
                $"Logical volume {vg}/{lv.Name} was not made by this ContainerPS pool (it has no '{tag}' tag): it is left alone.", $"{vg}/{lv.Name}");
    }

    /// <summary>Activates an LV (thin snapshots are created with activation skipped: -K).</summary>
    public void Activate(string vg, string lv)
    {
        if (!File.Exists(Device(vg, lv)))
            Run("lvchange", "-ay", "-K", $"{vg}/{lv}");
    }

    /// <summary>Removes an LV of ours, if there; VolumeBusy while something still has it open.</summary>
    public void Remove(string vg, string lv)
    {
        if (Lv(vg, lv) is not { } found)
            return;
        CheckOurs(vg, found);
        listed.Clear();
        var r = tool.Execute("lvremove", new[] { "-y", $"{vg}/{lv}" }, null, null);
        if (r.ExitCode != 0 && Lv(vg, lv) is not null)
            throw new ContainerPSException(Errors.VolumeBusy, $"Cannot remove logical volume {vg}/{lv}: {r.StandardError.Trim()} (is a container using it?).", lv);
    }

    /// <summary>Renames an LV of ours.</summary>
    public void Rename(string vg, string from, string to)
    {
        CheckOurs(vg, Lv(vg, from) ?? throw new ContainerPSException(Errors.VolumeNotFound, $"Logical volume {vg}/{from} does not exist.", from));
        Run("lvrename", vg, from, to);
    }

    /// <summary>Unmounts a volume's filesystem in this mount namespace; VolumeBusy while in use.</summary>
    public void Unmount(string path)
    {
        while (Mounts.IsMountPoint(path))
        {
            var r = tool.Execute("umount", new[] { path }, null, null);
            if (r.ExitCode != 0)
                throw new ContainerPSException(Errors.VolumeBusy, $"Cannot unmount {path}: {r.StandardError.Trim()} (is a container using it?).", path);
        }
    }
}
