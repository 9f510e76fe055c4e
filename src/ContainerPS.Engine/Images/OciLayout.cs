using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;

namespace ContainerPS.Engine.Images;

/// <summary>
/// Reads an OCI image layout directory (oci-layout, index.json, blobs/sha256/...) and unpacks its
/// image into a rootfs: index.json → the first linux/amd64 manifest (else the first manifest,
/// following nested indexes) → config → layers in order. Each layer's whiteouts are applied before
/// its other entries are extracted: <c>.wh.NAME</c> removes NAME from the lower layers and
/// <c>.wh..wh..opq</c> empties its directory of lower content. Every blob read is checked against
/// its digest.
/// </summary>
internal sealed class OciLayout
{
    private const string Opaque = ".wh..wh..opq";
    private const string WhiteoutPrefix = ".wh.";

    private static readonly HashSet<string> IndexTypes = new(StringComparer.Ordinal)
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    };

    private static readonly HashSet<string> LayerTypes = new(StringComparer.Ordinal)
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    };

    private readonly string layout;
    private readonly ImageFiles files;
    private readonly IEngineLog log;

    public OciLayout(string layout, ImageFiles files, IEngineLog log)
    {
        this.layout = layout;
        this.files = files;
        this.log = log;
    }

    /// <summary>True when <paramref name="directory"/> looks like an OCI image layout.</summary>
    public static bool IsLayout(string directory) =>
        File.Exists(Path.Join(directory, "oci-layout")) && File.Exists(Path.Join(directory, "index.json"));

    private static ContainerPSException Invalid(string why) =>
        new(Errors.ImageInvalid, "Not a usable OCI image layout: " + why + ".");

    /// <summary>Unpacks the image into the existing directory <paramref name="rootfs"/>; returns its properties.</summary>
    public SortedDictionary<string, string> Unpack(string rootfs)
    {
        var props = new SortedDictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using (var layoutFile = JsonDocument.Parse(File.ReadAllBytes(Path.Join(layout, "oci-layout"))))
            {
                if (!layoutFile.RootElement.TryGetProperty("imageLayoutVersion", out var v) || v.ValueKind != JsonValueKind.String)
                    throw Invalid("oci-layout has no imageLayoutVersion");
            }
            using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Join(layout, "index.json")));
            var (manifestDescriptor, manifest) = SelectManifest(index.RootElement, depth: 0);
            using var _ = manifest;
            AddAnnotations(props, manifestDescriptor);
            AddAnnotations(props, manifest.RootElement);

            var configDescriptor = Property(manifest.RootElement, "config", JsonValueKind.Object, "manifest");
            using (var config = JsonDocument.Parse(ReadBlob(configDescriptor)))
            {
                foreach (var (key, name) in new[] { ("os", "os"), ("architecture", "architecture"), ("variant", "variant") })
                    if (config.RootElement.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s)
                        props[name] = s;
            }

            var layers = Property(manifest.RootElement, "layers", JsonValueKind.Array, "manifest");
            var n = 0;
            var count = layers.GetArrayLength();
            foreach (var layer in layers.EnumerateArray())
            {
                n++;
                var mediaType = layer.TryGetProperty("mediaType", out var mt) ? mt.GetString() ?? "" : "";
                if (!LayerTypes.Contains(mediaType))
                    throw Invalid($"layer {n} has media type '{Names.Printable(mediaType)}'; supported are tar and tar+gzip layers");
                var blob = BlobPath(layer);
                VerifyDigest(layer, blob);
                log.Verbose($"Applying OCI layer {n}/{count} ({Digest(layer)[..19]}, {mediaType}).");
                ApplyLayer(blob, rootfs, n);
            }
        }
        catch (JsonException e)
        {
            throw Invalid("bad JSON: " + e.Message);
        }
        catch (InvalidDataException e)
        {
            throw Invalid("a layer is not a valid tar or gzip stream: " + e.Message);
        }
        catch (FileNotFoundException e)
        {
            throw Invalid("a file is missing: " + e.FileName);
        }
        catch (DirectoryNotFoundException e)
        {
            throw Invalid("a file is missing: " + e.Message);
        }
        return props;
    }

    private (JsonElement Descriptor, JsonDocument Manifest) SelectManifest(JsonElement index, int depth)
    {
        if (depth > 4)
            throw Invalid("image indexes are nested too deeply");
        var manifests = Property(index, "manifests", JsonValueKind.Array, "index");
        JsonElement? chosen = null;
        foreach (var m in manifests.EnumerateArray())
        {
            if (m.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object
                && p.TryGetProperty("os", out var os) && os.GetString() == "linux"
                && p.TryGetProperty("architecture", out var arch) && arch.GetString() == "amd64")
            {
                chosen = m;
                break;
            }
            chosen ??= m;
        }
        if (chosen is not JsonElement descriptor)
            throw Invalid("index.json lists no manifests");
        var doc = JsonDocument.Parse(ReadBlob(descriptor));
        var mediaType = descriptor.TryGetProperty("mediaType", out var mt) ? mt.GetString() ?? "" : "";
        if (!IndexTypes.Contains(mediaType) && !(doc.RootElement.TryGetProperty("mediaType", out var inner) && IndexTypes.Contains(inner.GetString() ?? "")))
            return (descriptor.Clone(), doc);
        using (doc)
            return SelectManifest(doc.RootElement, depth + 1);
    }

    private static JsonElement Property(JsonElement e, string name, JsonValueKind kind, string where)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out var v) || v.ValueKind != kind)
            throw Invalid($"the {where} has no '{name}' {kind.ToString().ToLowerInvariant()}");
        return v;
    }

    private static void AddAnnotations(SortedDictionary<string, string> props, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("annotations", out var a) || a.ValueKind != JsonValueKind.Object)
            return;
        foreach (var p in a.EnumerateObject())
            if (p.Value.ValueKind == JsonValueKind.String)
                props[p.Name] = p.Value.GetString()!;
    }

    private static string Digest(JsonElement descriptor)
    {
        var digest = descriptor.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
        var parts = digest.Split(':');
        if (parts.Length != 2 || parts[0] != "sha256" || parts[1].Length != 64 || !parts[1].All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
            throw Invalid($"the digest '{Names.Printable(digest)}' is not a sha256 digest");
        return digest;
    }

    private string BlobPath(JsonElement descriptor) => Path.Join(layout, "blobs", "sha256", Digest(descriptor)["sha256:".Length..]);

    private void VerifyDigest(JsonElement descriptor, string path)
    {
        if (!File.Exists(path))
            throw Invalid($"blob {Digest(descriptor)} is missing");
        var actual = "sha256:" + ImageFiles.Sha256(path);
        if (actual != Digest(descriptor))
            throw Invalid($"blob {Digest(descriptor)} is corrupt (its content hashes to {actual})");
    }

    private byte[] ReadBlob(JsonElement descriptor)
    {
        var path = BlobPath(descriptor);
        VerifyDigest(descriptor, path);
        var info = new FileInfo(path);
        if (info.Length > 16 << 20)
            throw Invalid($"blob {Digest(descriptor)} is too large for a JSON document");
        return File.ReadAllBytes(path);
    }

    private static bool IsGzip(string path)
    {
        using var f = File.OpenRead(path);
        return f.ReadByte() == 0x1f && f.ReadByte() == 0x8b;
    }

    /// <summary>Whiteouts first (against the lower layers), then the layer's other entries.</summary>
    private void ApplyLayer(string blob, string rootfs, int n)
    {
        var gzip = IsGzip(blob);
        var (whiteouts, opaques) = ListWhiteouts(blob, gzip);
        foreach (var dir in opaques)
        {
            var path = ImageFiles.SafePath(rootfs, dir);
            if (dir.Length == 0)
                path = rootfs;
            if (path is null || !Directory.Exists(path) || Engine.Platform.HostPath.IsSymlink(path))
                continue;
            foreach (var child in Directory.EnumerateFileSystemEntries(path).ToList())
                files.RemoveTree(child);
        }
        foreach (var target in whiteouts)
        {
            var path = ImageFiles.SafePath(rootfs, target);
            if (path is null)
                log.Verbose($"Layer {n}: ignored the unsafe whiteout of '{Names.Printable(target)}'.");
            else
                files.RemoveTree(path);
        }
        try
        {
            var args = new List<string> { "--exclude=.wh.*" };
            if (gzip)
                args.Insert(0, "--gzip");
            files.Extract(blob, rootfs, args);
        }
        catch (ContainerPSException e) when (e.Code == Errors.ToolFailed)
        {
            throw new ContainerPSException(Errors.ImageInvalid, $"Not a usable OCI image layout: layer {n} could not be extracted: {ImageFiles.ToolOutput(e)}", null, e);
        }
    }

    /// <summary>The paths (relative, no leading ./) that the layer whites out, and the directories it makes opaque.</summary>
    private static (List<string> Whiteouts, List<string> Opaques) ListWhiteouts(string blob, bool gzip)
    {
        var whiteouts = new List<string>();
        var opaques = new List<string>();
        using var file = File.OpenRead(blob);
        using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new TarReader(stream);
        while (reader.GetNextEntry(copyData: false) is { } entry)
        {
            var name = entry.Name.Replace('\\', '/');
            while (name.StartsWith("./", StringComparison.Ordinal))
                name = name[2..];
            name = name.TrimStart('/').TrimEnd('/');
            var slash = name.LastIndexOf('/');
            var dir = slash < 0 ? "" : name[..slash];
            var baseName = slash < 0 ? name : name[(slash + 1)..];
            if (baseName == Opaque)
                opaques.Add(dir);
            else if (baseName.StartsWith(WhiteoutPrefix + WhiteoutPrefix, StringComparison.Ordinal))
                continue; // other AUFS metadata (.wh..wh.plnk ...): not content
            else if (baseName.StartsWith(WhiteoutPrefix, StringComparison.Ordinal) && baseName.Length > WhiteoutPrefix.Length)
                whiteouts.Add((dir.Length == 0 ? "" : dir + "/") + baseName[WhiteoutPrefix.Length..]);
        }
        return (whiteouts, opaques);
    }
}
