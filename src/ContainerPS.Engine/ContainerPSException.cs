namespace ContainerPS.Engine;

/// <summary>What kind of failure an engine error is; the cmdlet layer maps it to an ErrorCategory.</summary>
public enum ErrorKind
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    InUse,
    InvalidOperation,
    NotSupported,
    ResourceUnavailable,
    OperationFailed,
}

/// <summary>
/// The one exception type the engine throws for expected failures. <see cref="ErrorId"/> is stable
/// (scripts and tests match on it); <see cref="Target"/> names the entity the error is about.
/// </summary>
public class ContainerPSException : Exception
{
    public ContainerPSException(ErrorKind kind, string errorId, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        ErrorId = errorId;
        Target = target;
    }

    public ErrorKind Kind { get; }
    public string ErrorId { get; }
    public object? Target { get; }

    public static ContainerPSException ContainerNotFound(string name) =>
        new(ErrorKind.NotFound, "ContainerNotFound", $"Container '{Names.Printable(name)}' not found.", name);

    public static ContainerPSException PoolNotFound(string name) =>
        new(ErrorKind.NotFound, "PoolNotFound", $"Storage pool '{name}' not found.", name);

    public static ContainerPSException VolumeNotFound(string pool, string type, string name) =>
        new(ErrorKind.NotFound, "VolumeNotFound",
            $"Storage volume '{type}/{name}' not found in {(pool.Length == 0 ? "any selected pool" : $"pool '{pool}'")}.", $"{pool}/{type}/{name}");

    public static ContainerPSException Busy(string what, string errorId) =>
        new(ErrorKind.ResourceUnavailable, errorId, $"{what} is being changed by another operation; try again when it has finished.", what);
}
