using Formats = ContainerPS.Engine.Images.ImageService.Formats;

namespace ContainerPS.Engine.Images;

/// <summary>
/// New images: importing one from a file (rootfs tarball or LXD/Incus unified tarball) or an OCI
/// image layout directory, building one with debootstrap or from the host's busybox, and the steps
/// every new image shares (work directory, normalised tarball, fingerprint, row, rollback).
/// </summary>
/// <param name="waitReady">Waits until another process's create of the image with this fingerprint is ready.</param>
internal sealed class ImageImporter(StateStore store, ExternalTool tool, IEngineLog log, ImageFiles files, ImagePaths paths,
    ImageCatalogue catalogue, Func<string, ContainerImage> waitReady)
{
    private const UnixFileMode Mode0755 = ImagePaths.Mode0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>
    /// Imports an image from a file (rootfs tarball .tar/.tar.gz/.tgz/.tar.xz, or an LXD/Incus unified
    /// tarball with metadata.yaml and rootfs/) or a directory (OCI image layout). The same content
    /// imported again without an alias returns the existing image; with an alias it is ImageExists.
    /// </summary>
    public ContainerImage Import(string path, string? alias, string? description = null)
    {
        if (alias is not null)
            Names.Validate(alias, "image alias");
        if (string.IsNullOrEmpty(path) || path.Any(char.IsControl))
            throw new ContainerPSException(Errors.PathNotFound, $"Invalid image path '{Names.Printable(path ?? "")}'.", path);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            if (!OciLayout.IsLayout(full))
                throw new ContainerPSException(Errors.ImageInvalid,
                    $"The directory {full} is not an OCI image layout (it has no oci-layout and index.json). Import a directory only when it is an OCI layout; pack a rootfs directory with tar first.", path);
            log.Verbose($"Importing the OCI image layout {full}.");
            return Create(alias, Formats.Oci, description, returnExisting: alias is null, work =>
            {
                var rootfs = NewDir(work, "rootfs");
                var props = new OciLayout(full, files, log).Unpack(rootfs);
                return (rootfs, props);
            });
        }
        if (!File.Exists(full))
            throw new ContainerPSException(Errors.PathNotFound, $"Cannot import '{path}': no such file or directory.", path);

        string format = Formats.Rootfs;
        var image = Create(alias, Formats.Rootfs, description, returnExisting: alias is null, work =>
        {
            var content = NewDir(work, "content");
            log.Verbose($"Extracting {full}.");
            try { files.Extract(full, content, activity: $"Importing {Path.GetFileName(full)}"); }
            catch (ContainerPSException e) when (e.Code == Errors.ToolFailed)
            {
                throw new ContainerPSException(Errors.ImageInvalid,
                    $"{full} is not a readable tar archive (plain, gzip, xz or bzip2): {ImageFiles.ToolOutput(e)}", path, e);
            }
            var metadata = Path.Join(content, "metadata.yaml");
            var lxdRootfs = Path.Join(content, "rootfs");
            if (File.Exists(metadata) && !HostPath.IsSymlink(metadata) && Directory.Exists(lxdRootfs) && !HostPath.IsSymlink(lxdRootfs))
            {
                format = Formats.Lxd;
                log.Verbose("The tarball is an LXD/Incus unified image (metadata.yaml and rootfs/).");
                LxdMetadata meta;
                try { meta = LxdMetadata.Parse(File.ReadAllText(metadata)); }
                catch (FormatException e)
                {
                    throw new ContainerPSException(Errors.ImageInvalid, $"The metadata.yaml of {full} cannot be read: {e.Message}.", path);
                }
                var props = new SortedDictionary<string, string>(meta.Properties, StringComparer.Ordinal);
                if (!props.ContainsKey("architecture") && meta.TopLevel.TryGetValue("architecture", out var arch))
                    props["architecture"] = arch;
                return (lxdRootfs, props);
            }
            if (File.Exists(metadata) && Directory.EnumerateFileSystemEntries(content).All(e => Path.GetFileName(e) is "metadata.yaml" or "templates"))
                throw new ContainerPSException(Errors.ImageInvalid,
                    $"{full} holds only the metadata of an LXD split image (metadata.yaml without rootfs/). Split images (a metadata tarball plus a squashfs rootfs) are not supported; import a unified image (metadata.yaml and rootfs/ in one tarball).", path);
            if (!Directory.EnumerateFileSystemEntries(content).Any())
                throw new ContainerPSException(Errors.ImageInvalid, $"{full} is an empty archive: there is no rootfs in it.", path);
            log.Verbose("The tarball is a rootfs.");
            return (content, RootfsProperties(content));
        }, formatOf: () => format);
        return image;
    }

    /// <summary>Builds a Debian image with debootstrap --variant=minbase (minutes). "busybox" builds the built-in image instead.</summary>
    public ContainerImage Build(string distribution, string? alias, string? mirror = null)
    {
        if (distribution == ImageService.BuiltinAlias && mirror is null)
            return BuildBuiltin(alias ?? ImageService.BuiltinAlias);
        Debootstrap.ValidateDistribution(distribution);
        if (alias is not null)
            Names.Validate(alias, "image alias");
        mirror = mirror is null
            ? Debootstrap.DefaultMirror() ?? throw new ContainerPSException(Errors.MirrorNotFound,
                "No Debian mirror was found in /etc/apt/sources.list or /etc/apt/sources.list.d; give one with -Mirror (for example http://deb.debian.org/debian).")
            : Debootstrap.ValidateMirror(mirror);
        return Create(alias, Formats.Debootstrap, null, returnExisting: false, work =>
        {
            var rootfs = NewDir(work, "rootfs");
            return (rootfs, Debootstrap.Build(distribution, rootfs, mirror, tool, log));
        });
    }

    /// <summary>The built-in image under <paramref name="alias"/>: built from the host's busybox unless an image of that alias is already built so.</summary>
    public ContainerImage BuildBuiltin(string alias)
    {
        Names.Validate(alias, "image alias");
        if (store.ImageByAlias(alias) is { Format: Formats.Builtin, State: RowState.Ready } built)
            return catalogue.ToImage(built);
        log.Verbose($"Building the built-in busybox image from {BusyboxRootfs.BusyboxPath}.");
        return Create(alias, Formats.Builtin, null, returnExisting: true, work =>
        {
            var rootfs = NewDir(work, "rootfs");
            return (rootfs, BusyboxRootfs.Build(rootfs, tool));
        }, deterministic: true);
    }

    /// <summary>Properties of a plain rootfs: os and release from etc/os-release, architecture from its binaries.</summary>
    private static SortedDictionary<string, string> RootfsProperties(string rootfs)
    {
        var props = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var osRelease = ImageFiles.ResolveInside(rootfs, "etc/os-release") ?? ImageFiles.ResolveInside(rootfs, "usr/lib/os-release");
        if (osRelease is not null && File.Exists(osRelease) && new FileInfo(osRelease).Length < 64 * 1024)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in File.ReadLines(osRelease))
            {
                var eq = line.IndexOf('=');
                if (eq > 0)
                    fields[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('"', '\'');
            }
            if (fields.TryGetValue("ID", out var id) && id.Length > 0)
                props["os"] = id;
            var release = fields.GetValueOrDefault("VERSION_CODENAME");
            if (string.IsNullOrEmpty(release))
                release = fields.GetValueOrDefault("VERSION_ID");
            if (!string.IsNullOrEmpty(release))
                props["release"] = release;
            if (fields.TryGetValue("PRETTY_NAME", out var pretty) && pretty.Length > 0)
                props["description"] = pretty;
        }
        if (ElfInfo.ArchitectureOf(rootfs) is { } arch)
            props["architecture"] = arch;
        return props;
    }

    private static string NewDir(string parent, string name)
    {
        var path = Path.Join(parent, name);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, Mode0755);
        return path;
    }

    /// <summary>
    /// The common steps of every new image. <paramref name="produce"/> fills the work directory and
    /// returns the rootfs in it and the image's properties; the rest (tarball, fingerprint, row,
    /// rollback) is here.
    /// </summary>
    private ContainerImage Create(string? alias, string format, string? description, bool returnExisting,
        Func<string, (string Rootfs, SortedDictionary<string, string> Properties)> produce,
        bool deterministic = false, Func<string>? formatOf = null)
    {
        paths.EnsureDirectories();
        var workName = Guid.NewGuid().ToString("N");
        var work = Path.Join(paths.WorkDirectory, workName);
        var id = store.Write(() => store.InsertImage(alias, format, description ?? "", workName));
        string? placed = null;
        ImageRow? existing;
        string fingerprint;
        try
        {
            Directory.CreateDirectory(work, ImagePaths.Mode0700);
            // What an archive holds is unpacked on a nodev,nosuid mount of its own (the tarball is
            // written beside it, on the images' filesystem, and moved into place). debootstrap, our
            // own builder, needs its /dev nodes usable in its chroot.
            var unpack = NewDir(work, "unpack");
            if (format != Formats.Debootstrap)
                files.MountNoDevices(unpack);
            var (rootfs, props) = produce(unpack);
            if (files.RemoveDeviceNodes(rootfs) is { Count: > 0 } nodes)
            {
                var text = $"skipped {nodes.Count} device node(s) of the image ({ImageFiles.NameList(nodes)}): device nodes from images are never created on the host; a container gets its /dev from the runtime.";
                if (format == Formats.Debootstrap)
                    log.Verbose("debootstrap " + text);
                else
                    log.Warning("Image import " + text);
            }
            FaultPoints.Hit("image.create.after-rootfs");
            var finalFormat = formatOf?.Invoke() ?? format;
            var finalDescription = description ?? (props.Remove("description", out var d) ? d : "");
            props.Remove("description");

            var tarball = Path.Join(work, "image.tar");
            log.Verbose("Writing the image tarball.");
            log.Progress($"Image {alias ?? format}", "writing the image tarball and its fingerprint", -2);
            files.Create(rootfs, tarball, deterministic);
            fingerprint = ImageFiles.Sha256(tarball);
            var size = new FileInfo(tarball).Length;
            log.Progress($"Image {alias ?? format}", "done", -1);
            log.Verbose($"Image fingerprint {fingerprint} ({ByteSize.Format(size)}).");

            existing = store.Write(() =>
            {
                var other = store.ImageByFingerprint(fingerprint);
                if (other is null)
                    store.CompleteImage(id, fingerprint, finalFormat, props, size, finalDescription);
                return other;
            });
            if (existing is null)
            {
                placed = paths.TarballPath(fingerprint);
                File.Move(tarball, placed, overwrite: true);
                FaultPoints.Hit("image.create.after-tarball");
                files.RemoveTree(work);
                store.Write(() => store.Release("images", id));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Discard(id, work, placed);
            if (e is IOException or UnauthorizedAccessException)
                throw new ContainerPSException(Errors.StorageIOError, e.Message, alias, e);
            throw;
        }
        if (existing is null)
            return catalogue.Get(fingerprint);

        // The same content is already an image: drop this copy.
        Discard(id, work, null);
        if (!returnExisting)
            throw new ContainerPSException(Errors.ImageExists,
                $"This image is already imported as {existing.Fingerprint}{(existing.Alias is null ? "" : $" (alias '{existing.Alias}')")}.", existing.Fingerprint);
        log.Verbose($"The image is already there as {existing.Fingerprint[..12]}{(existing.Alias is null ? "" : $" ({existing.Alias})")}.");
        return existing.State == RowState.Ready ? catalogue.ToImage(existing) : waitReady(existing.Fingerprint);
    }

    /// <summary>Undoes a create: work directory, tarball (when placed), row. A failure leaves the row for the repair.</summary>
    private void Discard(long id, string work, string? tarball)
    {
        try
        {
            files.RemoveTree(work);
            if (tarball is not null)
                File.Delete(tarball);
            store.Write(() => store.DeleteImageRow(id));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ContainerPSException)
        {
            log.Warning($"Could not clean up after the failed image import: {e.Message}. It is repaired when this process has exited.");
        }
    }
}
