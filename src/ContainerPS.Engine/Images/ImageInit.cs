using System.Text;

namespace ContainerPS.Engine.Images;

/// <summary>
/// How a container of an image is started and stopped, from the image's properties:
/// <c>init</c> (a shell-quoted command line; default /sbin/init) and <c>stop.signal</c>
/// (default SIGPWR, the signal LXC sends to halt a system container's init).
/// </summary>
public static class ImageInit
{
    public const string DefaultInit = "/sbin/init";
    public const string DefaultStopSignal = "SIGPWR";

    /// <summary>The argv of the container's init.</summary>
    public static string[] Argv(ContainerImage image) =>
        image.Properties.TryGetValue("init", out var init) && init.Trim().Length > 0 ? Split(init) : new[] { DefaultInit };

    public static string StopSignal(ContainerImage image) =>
        image.Properties.TryGetValue("stop.signal", out var s) && s.Trim().Length > 0 ? s.Trim() : DefaultStopSignal;

    /// <summary>Splits a command line into words by POSIX shell quoting rules ('...', "...", backslash); no expansions.</summary>
    public static string[] Split(string commandLine)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < commandLine.Length; i++)
        {
            var c = commandLine[i];
            switch (c)
            {
                case ' ' or '\t' or '\n':
                    if (inWord)
                    {
                        words.Add(current.ToString());
                        current.Clear();
                        inWord = false;
                    }
                    break;
                case '\'':
                    inWord = true;
                    var end = commandLine.IndexOf('\'', i + 1);
                    if (end < 0)
                        throw new FormatException("unterminated single quote in " + commandLine);
                    current.Append(commandLine, i + 1, end - i - 1);
                    i = end;
                    break;
                case '"':
                    inWord = true;
                    for (i++; ; i++)
                    {
                        if (i >= commandLine.Length)
                            throw new FormatException("unterminated double quote in " + commandLine);
                        if (commandLine[i] == '"')
                            break;
                        if (commandLine[i] == '\\' && i + 1 < commandLine.Length && commandLine[i + 1] is '"' or '\\' or '$' or '`')
                            i++;
                        current.Append(commandLine[i]);
                    }
                    break;
                case '\\' when i + 1 < commandLine.Length:
                    inWord = true;
                    current.Append(commandLine[++i]);
                    break;
                default:
                    inWord = true;
                    current.Append(c);
                    break;
            }
        }
        if (inWord)
            words.Add(current.ToString());
        return words.ToArray();
    }
}
