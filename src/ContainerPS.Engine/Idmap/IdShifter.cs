using System.Buffers.Binary;

namespace ContainerPS.Engine.Idmap;

/// <summary>
/// The chown shifter: rewrites a tree's owners from one id map to another where the storage cannot
/// be idmapped. A map of null means "unshifted": on-disk ids are the container's own ids (what an
/// idmapped mount presents). Each file's owner and group, its POSIX ACLs (access and default) and its
/// file capability (security.capability: read before the chown, which drops it, and written back as a
/// v3 capability whose rootid is the host id of container root, or v2 when that is host root) are
/// rewritten, and setuid/setgid bits the chown cleared are put back. Symlinks are not followed and
/// other filesystems mounted below are left alone (nested btrfs subvolumes are shifted).
/// Only ids inside <c>from</c>'s host ranges are rewritten, so running it again over a tree a crash
/// left half-shifted finishes the job (the maps' host ranges must not overlap, as subordinate
/// ranges never overlap the unshifted 0..65535). One thing a crash can lose: a file capability or a
/// setuid bit of the one file being changed when the process died (chown drops them before they are
/// written back).
/// </summary>
public static class IdShifter
{
    public const string CapabilityXattr = "security.capability";
    public const string AclAccessXattr = "system.posix_acl_access";
    public const string AclDefaultXattr = "system.posix_acl_default";

    private const uint S_IFMT = 0xF000, S_IFLNK = 0xA000, S_IFDIR = 0x4000, S_ISUID = 0x800, S_ISGID = 0x400;

    /// <summary>What a shift did.</summary>
    public sealed record Result(long Files, long Changed);

    /// <summary>Shifts every file of <paramref name="root"/> from <paramref name="from"/> to <paramref name="to"/>.</summary>
    /// <param name="progress">Called with (files done, files in all) every 1000 files and at the end.</param>
    public static Result Shift(string root, IdMapping? from, IdMapping? to, Action<long, long>? progress = null)
    {
        var total = Walk(root).LongCount();
        long done = 0, changed = 0;
        foreach (var (path, st) in Walk(root))
        {
            if (ShiftOne(path, st, from, to))
                changed++;
            done++;
            if (done % 1000 == 0)
                progress?.Invoke(done, Math.Max(total, done));
            if (done == Math.Max(1, total / 2))
                FaultPoints.Hit("idmap.shift.halfway");
        }
        progress?.Invoke(done, Math.Max(total, done));
        return new Result(done, changed);
    }

    /// <summary>
    /// The files of a tree, <paramref name="root"/> first: symlinks are not followed, and what another
    /// mount shows below the tree (its mount point included) is left out. Nested btrfs subvolumes
    /// (another device number, the same mount) are in.
    /// </summary>
    private static IEnumerable<(string Path, LibC.Statx Stat)> Walk(string root)
    {
        var top = LibC.LStat(root);
        yield return (root, top);
        var dirs = new Stack<string>();
        dirs.Push(root);
        while (dirs.Count > 0)
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(dirs.Pop()))
            {
                var st = LibC.LStat(path);
                if (st.stx_mnt_id != top.stx_mnt_id)
                    continue;
                if ((st.stx_mode & S_IFMT) == S_IFDIR)
                    dirs.Push(path);
                yield return (path, st);
            }
        }
    }

    /// <summary>The id on disk after the shift: unchanged when it is not in <paramref name="from"/> (already shifted, or never mapped).</summary>
    public static long Translate(bool uid, long id, IdMapping? from, IdMapping? to)
    {
        var containerId = from is null ? id : from.ToContainer(uid, id);
        if (containerId is not long c)
            return id;
        var host = to is null ? c : to.ToHost(uid, c);
        return host ?? id;
    }

    private static bool ShiftOne(string path, LibC.Statx st, IdMapping? from, IdMapping? to)
    {
        var uid = Translate(true, st.stx_uid, from, to);
        var gid = Translate(false, st.stx_gid, from, to);
        var isLink = (st.stx_mode & S_IFMT) == S_IFLNK;
        var changed = false;
        if (uid != st.stx_uid || gid != st.stx_gid)
        {
            var caps = isLink ? null : LibC.LGetXattr(path, CapabilityXattr);
            LibC.LChown(path, uid, gid);
            if (!isLink && (st.stx_mode & (S_ISUID | S_ISGID)) != 0)
                LibC.Chmod(path, st.stx_mode & 0xFFFu);
            if (caps is not null && ShiftCapability(caps, from, to) is { } newCaps)
                LibC.LSetXattr(path, CapabilityXattr, newCaps);
            changed = true;
        }
        else if (!isLink && LibC.LGetXattr(path, CapabilityXattr) is { } caps && ShiftCapability(caps, from, to) is { } newCaps && !newCaps.AsSpan().SequenceEqual(caps))
        {
            LibC.LSetXattr(path, CapabilityXattr, newCaps);
            changed = true;
        }
        if (isLink)
            return changed;
        foreach (var name in new[] { AclAccessXattr, AclDefaultXattr })
        {
            if (LibC.LGetXattr(path, name) is { } acl && ShiftAcl(acl, from, to) is { } newAcl && !newAcl.AsSpan().SequenceEqual(acl))
            {
                LibC.LSetXattr(path, name, newAcl);
                changed = true;
            }
        }
        return changed;
    }

    // ------------------------------------------------------------------ security.capability

    private const uint VFS_CAP_REVISION_2 = 0x02000000, VFS_CAP_REVISION_3 = 0x03000000, VFS_CAP_REVISION_MASK = 0xFF000000, VFS_CAP_FLAGS_EFFECTIVE = 1;

    /// <summary>
    /// A security.capability value with its root id shifted: v2 (root id 0) or v3 in, v3 out with the
    /// new root id (v2 when it is 0). Null when the value is not a capability this understands.
    /// </summary>
    public static byte[]? ShiftCapability(byte[] value, IdMapping? from, IdMapping? to)
    {
        if (DecodeCapability(value) is not { } cap)
            return null;
        return EncodeCapability(cap.Effective, cap.Permitted, cap.Inheritable, Translate(true, cap.RootId, from, to));
    }

    /// <summary>Reads a v2 or v3 security.capability value: the effective bit, the permitted and inheritable sets and the root id (0 for v2).</summary>
    public static (bool Effective, ulong Permitted, ulong Inheritable, long RootId)? DecodeCapability(byte[] v)
    {
        if (v.Length < 20)
            return null;
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(v);
        var rev = magic & VFS_CAP_REVISION_MASK;
        if (!(rev == VFS_CAP_REVISION_2 && v.Length == 20) && !(rev == VFS_CAP_REVISION_3 && v.Length == 24))
            return null;
        var permitted = BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(4)) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(12)) << 32);
        var inheritable = BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(8)) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(16)) << 32);
        var root = rev == VFS_CAP_REVISION_3 ? BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(20)) : 0;
        return ((magic & VFS_CAP_FLAGS_EFFECTIVE) != 0, permitted, inheritable, root);
    }

    /// <summary>
    /// Writes a security.capability value: magic (revision | effective bit), then permitted and
    /// inheritable as two little-endian 32-bit words each (low words first), then for v3 the root id.
    /// </summary>
    public static byte[] EncodeCapability(bool effective, ulong permitted, ulong inheritable, long rootId)
    {
        var v3 = rootId != 0;
        var v = new byte[v3 ? 24 : 20];
        BinaryPrimitives.WriteUInt32LittleEndian(v, (v3 ? VFS_CAP_REVISION_3 : VFS_CAP_REVISION_2) | (effective ? VFS_CAP_FLAGS_EFFECTIVE : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(4), (uint)permitted);
        BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(8), (uint)inheritable);
        BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(12), (uint)(permitted >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(16), (uint)(inheritable >> 32));
        if (v3)
            BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(20), (uint)rootId);
        return v;
    }

    // ------------------------------------------------------------------ POSIX ACLs

    private const ushort ACL_USER = 0x02, ACL_GROUP = 0x08;

    /// <summary>
    /// A system.posix_acl_* value with its named user and group entries shifted. The format: a
    /// little-endian u32 version (2), then 8-byte entries (u16 tag, u16 permissions, u32 id).
    /// Null when the value is not such an ACL.
    /// </summary>
    public static byte[]? ShiftAcl(byte[] value, IdMapping? from, IdMapping? to)
    {
        if (value.Length < 4 || (value.Length - 4) % 8 != 0 || BinaryPrimitives.ReadUInt32LittleEndian(value) != 2)
            return null;
        var v = (byte[])value.Clone();
        for (var off = 4; off < v.Length; off += 8)
        {
            var tag = BinaryPrimitives.ReadUInt16LittleEndian(v.AsSpan(off));
            if (tag is not (ACL_USER or ACL_GROUP))
                continue;
            var id = BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(off + 4));
            BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(off + 4), (uint)Translate(tag == ACL_USER, id, from, to));
        }
        return v;
    }
}
