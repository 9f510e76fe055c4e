using System.Runtime.InteropServices;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// One connection to a Ceph cluster through librados/librbd (P/Invoke), for the ceph driver's image
/// and snapshot operations: one connect per command instead of one rbd process (and connect) per
/// call. Every call is checked; a negative return becomes a ContainerPSException with the call,
/// the image and errno text. Not thread-safe: a driver uses it from one thread.
/// </summary>
internal sealed unsafe partial class RbdClient : IDisposable
{
    private const string Rados = "librados.so.2", Rbd = "librbd.so.1";
    private const int ENOENT = 2, ERANGE = 34;

    /// <summary>RBD feature bits (librbd's RBD_FEATURE_*), for ceph.rbd.features.</summary>
    public static readonly IReadOnlyDictionary<string, ulong> FeatureBits = new Dictionary<string, ulong>(StringComparer.Ordinal)
    {
        ["layering"] = 1, ["striping"] = 2, ["exclusive-lock"] = 4, ["object-map"] = 8,
        ["fast-diff"] = 16, ["deep-flatten"] = 32, ["journaling"] = 64, ["data-pool"] = 128,
    };

    [LibraryImport(Rados, StringMarshalling = StringMarshalling.Utf8)] private static partial int rados_create2(out nint cluster, string clusterName, string name, ulong flags);
    [LibraryImport(Rados, StringMarshalling = StringMarshalling.Utf8)] private static partial int rados_conf_read_file(nint cluster, string path);
    [LibraryImport(Rados, StringMarshalling = StringMarshalling.Utf8)] private static partial int rados_conf_set(nint cluster, string option, string value);
    [LibraryImport(Rados)] private static partial int rados_connect(nint cluster);
    [LibraryImport(Rados)] private static partial void rados_shutdown(nint cluster);
    [LibraryImport(Rados, StringMarshalling = StringMarshalling.Utf8)] private static partial int rados_ioctx_create(nint cluster, string pool, out nint ioctx);
    [LibraryImport(Rados)] private static partial void rados_ioctx_destroy(nint ioctx);

    [LibraryImport(Rbd)] private static partial int rbd_list(nint io, byte* names, ref nuint size);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_open_read_only(nint io, string name, out nint image, string? snap);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_open(nint io, string name, out nint image, string? snap);
    [LibraryImport(Rbd)] private static partial int rbd_close(nint image);
    [LibraryImport(Rbd)] private static partial int rbd_get_size(nint image, out ulong size);
    [LibraryImport(Rbd)] private static partial int rbd_snap_list(nint image, SnapInfo* snaps, ref int max);
    [LibraryImport(Rbd)] private static partial void rbd_snap_list_end(SnapInfo* snaps);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_snap_is_protected(nint image, string snap, out int isProtected);
    [LibraryImport(Rbd)] private static partial int rbd_get_parent_info2(nint image, byte* pool, nuint poolLen, byte* name, nuint nameLen, byte* id, nuint idLen, byte* snap, nuint snapLen);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_snap_create(nint image, string snap);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_snap_protect(nint image, string snap);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_snap_unprotect(nint image, string snap);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_snap_remove(nint image, string snap);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_snap_rename(nint image, string from, string to);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_snap_rollback(nint image, string snap);
    [LibraryImport(Rbd)] private static partial int rbd_resize(nint image, ulong size);
    [LibraryImport(Rbd)] private static partial void rbd_image_options_create(out nint opts);
    [LibraryImport(Rbd)] private static partial void rbd_image_options_destroy(nint opts);
    [LibraryImport(Rbd)] private static partial int rbd_image_options_set_uint64(nint opts, int option, ulong value);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_create4(nint io, string name, ulong size, nint opts);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_clone3(nint parentIo, string parent, string snap, nint childIo, string child, nint opts);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_remove(nint io, string name);
    [LibraryImport(Rbd, StringMarshalling = StringMarshalling.Utf8)] private static partial int rbd_rename(nint io, string from, string to);

    [StructLayout(LayoutKind.Sequential)]
    private struct SnapInfo
    {
        public ulong Id;
        public ulong Size;
        public byte* Name;
    }

    public sealed record Snapshot(string Name, long Size, bool Protected);

    /// <summary>An image as `rbd ls -l` shows it: size, snapshots, and its parent when it is a clone.</summary>
    public sealed record Image(string Name, long Size, string? ParentPool, string? ParentImage, string? ParentSnapshot, List<Snapshot> Snapshots);

    private nint cluster;
    private readonly Dictionary<string, nint> pools = new(StringComparer.Ordinal);

    private RbdClient(nint cluster) => this.cluster = cluster;

    /// <summary>Connects as client.<paramref name="user"/> with <paramref name="conf"/>; CephNotReachable when that fails.</summary>
    public static RbdClient Connect(string clusterName, string user, string conf)
    {
        nint handle;
        int r;
        try { r = rados_create2(out handle, clusterName, "client." + user, 0); }
        catch (DllNotFoundException e)
        {
            throw new ContainerPSException(Errors.ToolMissing, $"librados/librbd are not installed ({e.Message}): run 'build.ps1 -Task Bootstrap'.", clusterName, e);
        }
        if (r < 0)
            throw Unreachable(clusterName, user, conf, "rados_create2", r);
        var call = "rados_conf_read_file";
        r = rados_conf_read_file(handle, conf);
        if (r == 0)
            (call, r) = ("rados_conf_set", rados_conf_set(handle, "client_mount_timeout", "20"));
        if (r == 0)
            (call, r) = ("rados_connect", rados_connect(handle));
        if (r == 0)
            return new RbdClient(handle);
        rados_shutdown(handle);
        throw Unreachable(clusterName, user, conf, call, r);
    }

    private static ContainerPSException Unreachable(string cluster, string user, string conf, string call, int r) =>
        new(Errors.CephNotReachable,
            $"Cannot reach Ceph cluster '{cluster}' as client.{user} (config {conf}): {call}: {LibC.StrError(-r)} (errno {-r}).", cluster);

    private nint Io(string pool)
    {
        if (pools.TryGetValue(pool, out var io))
            return io;
        Check(rados_ioctx_create(cluster, pool, out io), "rados_ioctx_create", pool);
        return pools[pool] = io;
    }

    private static void Check(int r, string call, string what)
    {
        if (r >= 0)
            return;
        throw new ContainerPSException(-r == ENOENT ? Errors.VolumeNotFound : Errors.ToolFailed,
            $"librbd {call}({what}) failed: {LibC.StrError(-r)} (errno {-r}).", what);
    }

    /// <summary>Runs <paramref name="body"/> on the image opened read-write (a change goes through the lock owner, such as a mapping's rbd-fuse).</summary>
    private void WithImage(string pool, string image, Action<nint> body)
    {
        Check(rbd_open(Io(pool), image, out var handle, null), "rbd_open", $"{pool}/{image}");
        try { body(handle); }
        finally { rbd_close(handle); }
    }

    public List<string> List(string pool)
    {
        nuint size = 1024;
        while (true)
        {
            var buffer = new byte[(int)size];
            int r;
            fixed (byte* p = buffer)
                r = rbd_list(Io(pool), p, ref size);
            if (r == -ERANGE)
                continue;
            Check(r, "rbd_list", pool);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, Math.Min(r, buffer.Length)).Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
        }
    }

    /// <summary>The image's size, snapshots and parent; null when it is gone (removed meanwhile).</summary>
    public Image? Info(string pool, string image)
    {
        var r = rbd_open_read_only(Io(pool), image, out var handle, null);
        if (r == -ENOENT)
            return null;
        Check(r, "rbd_open_read_only", $"{pool}/{image}");
        try
        {
            Check(rbd_get_size(handle, out var size), "rbd_get_size", $"{pool}/{image}");
            var snaps = new List<Snapshot>();
            for (var max = 16; ;)
            {
                var infos = new SnapInfo[max];
                int n;
                fixed (SnapInfo* p = infos)
                {
                    n = rbd_snap_list(handle, p, ref max);
                    if (n == -ERANGE)
                        continue;
                    Check(n, "rbd_snap_list", $"{pool}/{image}");
                    try
                    {
                        for (var i = 0; i < n; i++)
                        {
                            var name = Marshal.PtrToStringUTF8((nint)p[i].Name)!;
                            Check(rbd_snap_is_protected(handle, name, out var prot), "rbd_snap_is_protected", $"{pool}/{image}@{name}");
                            snaps.Add(new Snapshot(name, (long)p[i].Size, prot != 0));
                        }
                    }
                    finally { rbd_snap_list_end(p); }
                }
                break;
            }
            const int len = 512;
            var parentPool = stackalloc byte[len];
            var parentName = stackalloc byte[len];
            var parentId = stackalloc byte[len];
            var parentSnap = stackalloc byte[len];
            var pr = rbd_get_parent_info2(handle, parentPool, len, parentName, len, parentId, len, parentSnap, len);
            if (pr == -ENOENT)
                return new Image(image, (long)size, null, null, null, snaps);
            Check(pr, "rbd_get_parent_info2", $"{pool}/{image}");
            return new Image(image, (long)size, Marshal.PtrToStringUTF8((nint)parentPool), Marshal.PtrToStringUTF8((nint)parentName),
                Marshal.PtrToStringUTF8((nint)parentSnap), snaps);
        }
        finally { rbd_close(handle); }
    }

    public void SnapCreate(string pool, string image, string snap) =>
        WithImage(pool, image, h => Check(rbd_snap_create(h, snap), "rbd_snap_create", $"{pool}/{image}@{snap}"));

    public void SnapProtect(string pool, string image, string snap) =>
        WithImage(pool, image, h => Check(rbd_snap_protect(h, snap), "rbd_snap_protect", $"{pool}/{image}@{snap}"));

    public void SnapUnprotect(string pool, string image, string snap) =>
        WithImage(pool, image, h => Check(rbd_snap_unprotect(h, snap), "rbd_snap_unprotect", $"{pool}/{image}@{snap}"));

    public void SnapRemove(string pool, string image, string snap) =>
        WithImage(pool, image, h => Check(rbd_snap_remove(h, snap), "rbd_snap_remove", $"{pool}/{image}@{snap}"));

    public void SnapRename(string pool, string image, string from, string to) =>
        WithImage(pool, image, h => Check(rbd_snap_rename(h, from, to), "rbd_snap_rename", $"{pool}/{image}@{from}"));

    public void SnapRollback(string pool, string image, string snap) =>
        WithImage(pool, image, h => Check(rbd_snap_rollback(h, snap), "rbd_snap_rollback", $"{pool}/{image}@{snap}"));

    public void Resize(string pool, string image, long size) =>
        WithImage(pool, image, h => Check(rbd_resize(h, (ulong)size), "rbd_resize", $"{pool}/{image}"));

    /// <summary>Image options carrying the feature bits of ceph.rbd.features (none: the cluster's default features).</summary>
    private static nint Options(ulong? features)
    {
        rbd_image_options_create(out var opts);
        if (features is { } f)
            Check(rbd_image_options_set_uint64(opts, 1 /* RBD_IMAGE_OPTION_FEATURES */, f), "rbd_image_options_set_uint64", "features");
        return opts;
    }

    public void Create(string pool, string image, long size, ulong? features)
    {
        var opts = Options(features);
        try { Check(rbd_create4(Io(pool), image, (ulong)size, opts), "rbd_create4", $"{pool}/{image}"); }
        finally { rbd_image_options_destroy(opts); }
    }

    public void Clone(string pool, string image, string snap, string childPool, string child, ulong? features)
    {
        var opts = Options(features);
        try { Check(rbd_clone3(Io(pool), image, snap, Io(childPool), child, opts), "rbd_clone3", $"{pool}/{image}@{snap} -> {childPool}/{child}"); }
        finally { rbd_image_options_destroy(opts); }
    }

    public void Remove(string pool, string image) => Check(rbd_remove(Io(pool), image), "rbd_remove", $"{pool}/{image}");

    public void Rename(string pool, string from, string to) => Check(rbd_rename(Io(pool), from, to), "rbd_rename", $"{pool}/{from}");

    public void Dispose()
    {
        foreach (var io in pools.Values)
            rados_ioctx_destroy(io);
        pools.Clear();
        if (cluster != 0)
            rados_shutdown(cluster);
        cluster = 0;
    }
}
