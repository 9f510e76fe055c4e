using static ContainerPS.Engine.Storage.LvmNames;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// The volume group under an lvm pool: checking a -Source, making the VG (on a loop file or a block
/// device) or taking an existing empty one, its thin pool, attaching a loop file a reboot detached,
/// its usage, and removing what the pool made (only LVs with its tag, a VG only when the pool made it).
/// </summary>
internal sealed class LvmPools(ExternalTool tool)
{
    private LvmTools Tools(PoolContext pool) => new(tool, PoolTag(pool));

    public PoolSource CheckSource(string? source, string defaultSource)
    {
        var lvm = new LvmTools(tool, "");
        if (Directory.Exists(defaultSource) && Directory.EnumerateFileSystemEntries(defaultSource).Any())
            throw new ContainerPSException(Errors.SourceNotEmpty,
                $"The pool's directory {defaultSource}, where its volumes are mounted, is not empty (left over from an earlier pool?).", defaultSource);
        if (source is null)
            return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [DeviceKey] = PoolDevices.CheckLoopImage(defaultSource) });
        if (PoolDevices.IsDevicePath(source))
        {
            PoolDevices.CheckBlockDevice(tool, source, "LVM2_member", "lvm");
            // A physical volume already in a VG belongs to that VG (pvcreate would refuse it half-way).
            if (lvm.VgOfPv(source) is { Length: > 0 } owner)
                throw new ContainerPSException(Errors.SourceInUse,
                    $"Block device '{source}' is a physical volume of volume group '{owner}': give the volume group's name as -Source (when it is empty), or an unused device.", source);
            return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [DeviceKey] = source });
        }
        if (CheckName(source) is not null)
            throw new ContainerPSException(Errors.InvalidSource,
                $"Invalid source '{Names.Printable(source)}' for an lvm pool: give a block device (/dev/...) or the name of an existing, empty volume group.", source);
        if (!lvm.VgExists(source))
            throw new ContainerPSException(Errors.InvalidSource, $"Invalid source '{source}' for an lvm pool: there is no volume group of that name.", source);
        if (lvm.Lvs(source).Count > 0)
            throw new ContainerPSException(Errors.SourceNotEmpty, $"Volume group '{source}' already holds logical volumes: give an empty one.", source);
        return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [VgKey] = source });
    }

    public void CreatePool(PoolContext pool)
    {
        var lvm = Tools(pool);
        var vg = Vg(pool);
        if (pool.Config.TryGetValue(DeviceKey, out var device))
        {
            if (lvm.VgExists(vg))
                throw new ContainerPSException(Errors.SourceInUse, $"Volume group '{vg}' exists already: give it as -Source (when empty), or choose another {VgKey}.", vg);
            var isImage = !PoolDevices.IsDevicePath(device);
            if (isImage)
                PoolDevices.CreateLoopImage(device, pool.Config);
            var pv = isImage ? Loop(device) : device;
            lvm.Run("pvcreate", "-q", "-y", pv);
            lvm.Run(["vgcreate", "-q", .. lvm.TagArgs, vg, pv]);
        }
        else if (lvm.Lvs(vg).Count > 0)
        {
            throw new ContainerPSException(Errors.SourceNotEmpty, $"Volume group '{vg}' already holds logical volumes: give an empty one.", vg);
        }
        Directory.CreateDirectory(pool.Source, VolumeLayout.Mode0711);
        VolumeLayout.CreateTypeDirs(pool.Source);
        if (!Thin(pool))
            return;
        var args = new List<string> { "lvcreate", "-q", "-y", "--type", "thin-pool", "-l", "100%FREE", "-n", ThinPool(pool) };
        args.AddRange(lvm.TagArgs);
        if (pool.Config.GetValueOrDefault(MetadataSizeKey) is { } meta && ByteSize.TryParse(meta, out var bytes))
            args.AddRange(new[] { "--poolmetadatasize", bytes / 1024 + "k" });
        lvm.Run(args.Append(vg).ToArray());
    }

    /// <summary>The loop device of a pool's loop file, attached when it is not (after a reboot).</summary>
    private string Loop(string file)
    {
        var attached = tool.Run("losetup", new[] { "-j", file, "-O", "NAME", "-n" }).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return attached.FirstOrDefault() ?? tool.Run("losetup", new[] { "-f", "--show", file }).Trim();
    }

    /// <summary>The pool's volume group, its loop file attached first when a reboot detached it.</summary>
    public string Group(PoolContext pool)
    {
        var vg = Vg(pool);
        if (pool.Config.GetValueOrDefault(DeviceKey) is { } device && !PoolDevices.IsDevicePath(device) && File.Exists(device)
            && tool.Run("losetup", new[] { "-j", device, "-O", "NAME", "-n" }).Trim().Length == 0)
        {
            Loop(device);
            tool.Execute("vgchange", new[] { "-q", "--refresh", vg }, null, null);
        }
        return vg;
    }


    /// <summary>Unmounts and removes the pool's LVs (tagged ones only), its thin pool, and the VG, PV and loop file it made.</summary>
    public void DeletePool(PoolContext pool)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        foreach (var type in VolumeTypes.All)
        {
            var dir = Path.Join(pool.Source, VolumeLayout.TypeDir(type));
            if (!Directory.Exists(dir))
                continue;
            foreach (var d in Directory.GetDirectories(dir))
            {
                new LvmTools(tool, "").Unmount(d);
                if (!Directory.EnumerateFileSystemEntries(d).Any())
                    Directory.Delete(d);
            }
        }
        var lvs = lvm.Lvs(vg);
        // Thin volumes first, the thin pool last (its hidden _tdata/_tmeta LVs go with it).
        foreach (var lv in lvs.Values.Where(l => lvm.Ours(l) && !l.Name.StartsWith('[')).OrderBy(l => l.Attr.StartsWith('t') ? 1 : 0))
            lvm.Remove(vg, lv.Name);
        if (pool.Config.TryGetValue(DeviceKey, out var device))
        {
            var pv = PoolDevices.IsDevicePath(device) ? device
                : !File.Exists(device) ? null
                : tool.Run("losetup", new[] { "-j", device, "-O", "NAME", "-n" }).Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault(l => l.Length > 0);
            var (tags, pvs) = lvm.VgExists(vg) ? lvm.Vg(vg) : (new HashSet<string>(), Array.Empty<string>());
            // Only the VG this pool made: tagged, on its own device, and nothing else in it.
            if (tags.Contains(PoolTag(pool)) && pv is not null && pvs.SequenceEqual(new[] { pv }) && lvm.Lvs(vg).Count == 0)
                lvm.Run("vgremove", "-q", "-y", vg);
            if (pv is not null && !lvm.VgExists(vg) && lvm.VgOfPv(pv) == "")
                lvm.Run("pvremove", "-q", "-y", pv);
            if (!PoolDevices.IsDevicePath(device))
            {
                if (pv is not null)
                    tool.Run("losetup", new[] { "-d", pv });
                PoolDevices.DeleteLoopImage(device);
            }
        }
        foreach (var type in VolumeTypes.All)
        {
            var dir = Path.Join(pool.Source, VolumeLayout.TypeDir(type));
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
                Directory.Delete(dir);
        }
        if (pool.OwnsSource && Directory.Exists(pool.Source) && !Directory.EnumerateFileSystemEntries(pool.Source).Any())
            Directory.Delete(pool.Source);
    }

    /// <summary>Used and total bytes: the thin pool's data (size and data%), else the VG's.</summary>
    public (long? Used, long? Size) PoolUsage(PoolContext pool)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        if (Thin(pool))
            return lvm.Lv(vg, ThinPool(pool)) is { } tp ? ((long)(tp.Size * (tp.DataPercent ?? 0) / 100), tp.Size) : (null, null);
        return lvm.VgSpace(vg) is { } s ? (s.Size - s.Free, s.Size) : (null, null);
    }
}
