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

    /// <summary>An operation that was under way and stopped part-way (a move that failed and was rolled back).</summary>
    OperationStopped,

    /// <summary>Writing data failed (a full disk, an I/O error).</summary>
    WriteError,
}

/// <summary>
/// The one exception type the engine throws for expected failures. Its <see cref="Code"/> comes from
/// the catalogue (<see cref="Errors"/>): a stable ID, which scripts and tests match on, and a kind;
/// <see cref="Target"/> names the entity the error is about.
/// </summary>
public class ContainerPSException : Exception
{
    public ContainerPSException(ErrorCode code, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        Target = target;
    }

    public ErrorCode Code { get; }
    public ErrorKind Kind => Code.Kind;
    public string ErrorId => Code.Id;
    public object? Target { get; }

    public static ContainerPSException ContainerNotFound(string name) =>
        new(Errors.ContainerNotFound, $"Container '{Names.Printable(name)}' not found.", name);

    public static ContainerPSException PoolNotFound(string name) =>
        new(Errors.PoolNotFound, $"Storage pool '{name}' not found.", name);

    public static ContainerPSException VolumeNotFound(string pool, VolumeType type, string name) => VolumeNotFound(pool, type.Name(), name);

    public static ContainerPSException VolumeNotFound(string pool, string type, string name) =>
        new(Errors.VolumeNotFound,
            $"Storage volume '{type}/{name}' not found in {(pool.Length == 0 ? "any selected pool" : $"pool '{pool}'")}.", $"{pool}/{type}/{name}");

    public static ContainerPSException Busy(string what, ErrorCode code) =>
        new(code, $"{what} is being changed by another operation; try again when it has finished.", what);
}
