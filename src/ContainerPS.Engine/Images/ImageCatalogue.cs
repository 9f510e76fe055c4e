namespace ContainerPS.Engine.Images;

/// <summary>
/// The image records: which row an alias, fingerprint or fingerprint prefix names (the naming
/// rules), and the <see cref="ContainerImage"/> objects made from the rows, with the containers
/// that use each image.
/// </summary>
internal sealed class ImageCatalogue(StateStore store)
{
    /// <summary>The fewest fingerprint digits that name an image for a command that uses or changes it (a listing takes any).</summary>
    public const int MinPrefix = 12;

    /// <summary>The images that are ready, with the containers that use each.</summary>
    public IReadOnlyList<ContainerImage> List()
    {
        var refs = store.ContainerImageReferences();
        return store.Images().Where(r => r.State == RowState.Ready).Select(r => ToImage(r, refs)).ToList();
    }

    /// <summary>The image of a full fingerprint (any state); ImageNotFound when there is none.</summary>
    public ContainerImage Get(string fingerprint) =>
        ToImage(store.ImageByFingerprint(fingerprint) ?? throw NotFound(fingerprint));

    /// <summary>The row (any state) an alias, fingerprint or unique 12+ digit prefix names, or null.</summary>
    public ImageRow? FindRow(string aliasOrFingerprint)
    {
        if (string.IsNullOrEmpty(aliasOrFingerprint))
            return null;
        if (store.ImageByAlias(aliasOrFingerprint) is { } byAlias)
            return byAlias;
        var hex = aliasOrFingerprint.ToLowerInvariant();
        if (hex.Length < MinPrefix || hex.Length > 64 || !hex.All(char.IsAsciiHexDigit))
            return null;
        var matches = store.ImagesByFingerprintPrefix(hex);
        if (matches.Count > 1)
            throw new ContainerPSException(Errors.ImageAmbiguous,
                $"The fingerprint prefix '{aliasOrFingerprint}' matches {matches.Count} images ({string.Join(", ", matches.Select(m => m.Fingerprint[..16]))}); give more digits.", aliasOrFingerprint);
        return matches.SingleOrDefault();
    }

    /// <summary>ImageNotFound for what a command was given (with a hint when it is a too short fingerprint prefix).</summary>
    public static ContainerPSException NotFound(string what)
    {
        var hint = what.Length < 12 && what.Length > 0 && what.All(c => char.IsAsciiHexDigit(c))
            ? " A fingerprint prefix needs at least 12 hex digits."
            : "";
        return new ContainerPSException(Errors.ImageNotFound, $"Image '{Names.Printable(what)}' not found.{hint}", what);
    }

    /// <summary>The image of a row, with the containers that use it.</summary>
    public ContainerImage ToImage(ImageRow r) => ToImage(r, store.ContainerImageReferences());

    private static ContainerImage ToImage(ImageRow r, List<(string Name, string Image)> refs) => new()
    {
        Fingerprint = r.Fingerprint,
        Alias = r.Alias,
        Format = r.Format,
        Description = r.Description,
        Properties = new SortedDictionary<string, string>(r.Properties, StringComparer.Ordinal),
        Size = r.Size,
        CreatedAt = r.CreatedAt,
        UsedBy = refs.Where(c => Refers(c.Image, r)).Select(c => c.Name).ToArray(),
    };

    /// <summary>Whether a container's image reference (alias, fingerprint or 12+ digit prefix, as given at creation) names this image.</summary>
    private static bool Refers(string reference, ImageRow r) =>
        reference == r.Fingerprint || IsNamedBy(r.Alias, r.HasFingerprint ? r.Fingerprint : "", reference, MinPrefix);

    /// <summary>
    /// Whether <paramref name="name"/> names an image: its alias, or its fingerprint or a prefix of it
    /// (hex digits, any case) of at least <paramref name="minPrefix"/> digits. The one rule for
    /// Get-ContainerImage's filter, the images a command acts on and the containers an image is used by.
    /// </summary>
    public static bool IsNamedBy(string? alias, string fingerprint, string name, int minPrefix = 1) =>
        name.Length > 0 && (name == alias
            || (name.Length >= minPrefix && fingerprint.Length > 0 && name.All(char.IsAsciiHexDigit)
                && fingerprint.StartsWith(name.ToLowerInvariant(), StringComparison.Ordinal)));
}
