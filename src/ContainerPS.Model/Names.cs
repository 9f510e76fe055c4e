using System.Text.RegularExpressions;

namespace ContainerPS.Engine;

/// <summary>Validation of the names users give to pools, volumes, containers, snapshots and networks.</summary>
public static partial class Names
{
    public const int MaxLength = 63;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ValidName();

    public static bool IsValid(string? name) =>
        name is not null && ValidName().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal);

    /// <summary>Throws <c>InvalidName</c> unless <paramref name="name"/> is a valid entity name.</summary>
    public static string Validate(string? name, string what)
    {
        if (IsValid(name))
            return name!;
        var shown = name is null ? "(null)" : Printable(name);
        throw new ContainerPSException(Errors.InvalidName,
            $"Invalid {what} name '{shown}': a name is 1 to {MaxLength} characters of letters, digits, '.', '_' and '-', " +
            "starts with a letter or digit, and contains no '..', '/' or control characters.", name);
    }

    /// <summary>Renders control characters visibly so an error message never carries them raw.</summary>
    public static string Printable(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length);
        foreach (var c in s)
            sb.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString());
        return sb.ToString();
    }
}
