using System.Runtime.InteropServices;
using System.Text;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// The cluster's identity and atomic compare-and-swap on one xattr of a rados object: what the
/// ceph driver's image ownership records (<see cref="CephOwnership"/>) are built on. Each change is
/// one rados write operation, applied by the OSD atomically: of two hosts that race, one wins.
/// </summary>
internal sealed unsafe partial class RbdClient
{
    private const int EEXIST = 17, ENODATA = 61, ECANCELED = 125;
    private const byte CmpXattrEq = 1; // LIBRADOS_CMPXATTR_OP_EQ

    [LibraryImport(Rados)] private static partial int rados_cluster_fsid(nint cluster, byte* buf, nuint len);
    [LibraryImport(Rados)] private static partial nint rados_create_write_op();
    [LibraryImport(Rados)] private static partial void rados_release_write_op(nint op);
    [LibraryImport(Rados, StringMarshalling = StringMarshalling.Utf8)] private static partial void rados_write_op_create(nint op, int exclusive, string? category);
    [LibraryImport(Rados, StringMarshalling = StringMarshalling.Utf8)] private static partial void rados_write_op_cmpxattr(nint op, string name, byte comparison, byte* value, nuint len);
    [LibraryImport(Rados, StringMarshalling = StringMarshalling.Utf8)] private static partial void rados_write_op_setxattr(nint op, string name, byte* value, nuint len);
    [LibraryImport(Rados)] private static partial void rados_write_op_remove(nint op);
    [LibraryImport(Rados, StringMarshalling = StringMarshalling.Utf8)] private static partial int rados_write_op_operate(nint op, nint io, string oid, nint mtime, int flags);
    [LibraryImport(Rados, StringMarshalling = StringMarshalling.Utf8)] private static partial int rados_getxattr(nint io, string oid, string name, byte* buf, nuint len);

    /// <summary>The cluster's fsid: two pools name the same cluster when their fsids are equal, whatever config or user they connect with.</summary>
    public string Fsid()
    {
        var buffer = new byte[64];
        int r;
        fixed (byte* p = buffer)
            r = rados_cluster_fsid(cluster, p, (nuint)buffer.Length);
        Check(r, "rados_cluster_fsid", "cluster");
        return Encoding.ASCII.GetString(buffer, 0, r).TrimEnd('\0');
    }

    /// <summary>The value of xattr <paramref name="name"/> of object <paramref name="oid"/>, or null when the object or the xattr is not there.</summary>
    public string? GetXattr(string pool, string oid, string name)
    {
        var buffer = new byte[4096];
        int r;
        fixed (byte* p = buffer)
            r = rados_getxattr(Io(pool), oid, name, p, (nuint)buffer.Length);
        if (r == -ENOENT || r == -ENODATA)
            return null;
        Check(r, "rados_getxattr", $"{pool}/{oid}");
        return Encoding.UTF8.GetString(buffer, 0, r);
    }

    /// <summary>
    /// One atomic change of xattr <paramref name="name"/> of object <paramref name="oid"/>: from
    /// <paramref name="expected"/> (null: the object must not exist yet, it is created) to
    /// <paramref name="value"/> (null: the object is removed). False when the object is not as expected.
    /// </summary>
    public bool SwapXattr(string pool, string oid, string name, string? expected, string? value)
    {
        var op = rados_create_write_op();
        try
        {
            var old = Encoding.UTF8.GetBytes(expected ?? "");
            var now = Encoding.UTF8.GetBytes(value ?? "");
            fixed (byte* o = old)
            fixed (byte* n = now)
            {
                if (expected is null)
                    rados_write_op_create(op, 1, null);
                else
                    rados_write_op_cmpxattr(op, name, CmpXattrEq, o, (nuint)old.Length);
                if (value is null)
                    rados_write_op_remove(op);
                else
                    rados_write_op_setxattr(op, name, n, (nuint)now.Length);
                var r = rados_write_op_operate(op, Io(pool), oid, 0, 0);
                if (r == -EEXIST || r == -ECANCELED || r == -ENOENT || r == -ENODATA)
                    return false;
                Check(r, "rados_write_op_operate", $"{pool}/{oid}");
                return true;
            }
        }
        finally { rados_release_write_op(op); }
    }
}
