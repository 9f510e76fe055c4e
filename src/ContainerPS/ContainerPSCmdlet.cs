using System.Collections;
using System.Globalization;
using System.Management.Automation;
using ContainerPS.Engine;

namespace ContainerPS.Commands;

/// <summary>
/// Base of every ContainerPS cmdlet: opens the engine for the command, forwards engine diagnostics
/// to the verbose and warning streams, and turns engine errors into ErrorRecords with stable IDs.
/// </summary>
public abstract class ContainerPSCmdlet : PSCmdlet, IEngineLog, IDisposable
{
    private ContainerHost? engine;

    /// <summary>The engine for this command, opened on first use (which also repairs interrupted operations).</summary>
    protected ContainerHost Engine
    {
        get
        {
            if (engine is null)
            {
                try { engine = ContainerHost.Open(null, this); }
                catch (ContainerPSException e) { ThrowTerminatingError(ToErrorRecord(e)); }
            }
            return engine!;
        }
    }

    /// <summary>Runs one unit of work; an engine error becomes a non-terminating error and false.</summary>
    protected bool Try(Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (ContainerPSException e)
        {
            WriteError(ToErrorRecord(e));
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(Record(e, Errors.StorageIOError, null));
            return false;
        }
        catch (Exception e) when (e is not (RuntimeException or OperationCanceledException or OutOfMemoryException))
        {
            // A failure the engine did not foresee still gets a stable ID (never System.*), with the exception inside.
            var record = Record(e, Errors.UnexpectedError, null);
            record.ErrorDetails = new ErrorDetails($"Unexpected error ({e.GetType().Name}): {e.Message}");
            WriteError(record);
            return false;
        }
    }

    public static ErrorRecord ToErrorRecord(ContainerPSException e) => Record(e, e.Code, e.Target);

    /// <summary>An error record for a catalogued error (<see cref="Errors"/>): its ID, and the category of its kind.</summary>
    public static ErrorRecord Record(Exception e, ErrorCode code, object? target) => new(e, code.Id, Category(code.Kind), target);

    private static ErrorCategory Category(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        ErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        ErrorKind.AlreadyExists => ErrorCategory.ResourceExists,
        ErrorKind.InUse => ErrorCategory.ResourceBusy,
        ErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        ErrorKind.NotSupported => ErrorCategory.NotImplemented,
        ErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        ErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        ErrorKind.WriteError => ErrorCategory.WriteError,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>A -Config hashtable as config changes: values as invariant strings, $null to unset.</summary>
    protected static Dictionary<string, string?> ConfigFrom(IDictionary? table)
    {
        var d = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (table is null)
            return d;
        foreach (DictionaryEntry e in table)
        {
            var key = Convert.ToString(e.Key is PSObject pk ? pk.BaseObject : e.Key, CultureInfo.InvariantCulture) ?? "";
            var value = e.Value is PSObject pv ? pv.BaseObject : e.Value;
            d[key] = value switch
            {
                null => null,
                bool b => b ? "true" : "false",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString(),
            };
        }
        return d;
    }

    /// <summary>Names matching <paramref name="patterns"/> (wildcards allowed); a literal name that matches nothing is an error.</summary>
    protected IEnumerable<T> Select<T>(IEnumerable<T> items, Func<T, string> name, string[]? patterns, Func<string, ContainerPSException> notFound)
    {
        var list = items.ToList();
        if (patterns is null || patterns.Length == 0)
        {
            foreach (var item in list)
                yield return item;
            yield break;
        }
        var emitted = new HashSet<T>();
        foreach (var pattern in patterns)
        {
            var wildcard = WildcardPattern.ContainsWildcardCharacters(pattern);
            var matcher = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
            var any = false;
            foreach (var item in list)
            {
                if (wildcard ? matcher.IsMatch(name(item)) : name(item) == pattern)
                {
                    any = true;
                    if (emitted.Add(item))
                        yield return item;
                }
            }
            if (!any && !wildcard)
                WriteError(ToErrorRecord(notFound(pattern)));
        }
    }

    /// <summary>Writes one property's bare value (-Property) or the object itself.</summary>
    protected void WriteEntity(object entity, string? property)
    {
        if (property is null)
        {
            WriteObject(entity);
            return;
        }
        Try(() =>
        {
            // An unset config key writes nothing, as `lxc config get` prints nothing.
            var value = EntityProperties.Get(entity, property);
            if (value is not null || !property.Contains('.'))
                WriteObject(value);
        });
    }

    // The engine's messages never throw into it: after Ctrl+C (Stopping) a Write* call throws
    // PipelineStoppedException, which would cut an engine step at an arbitrary line and run its undo
    // half-way. The step finishes (or stops at its own cancellation) and its messages are dropped.
    void IEngineLog.Verbose(string message) => UnlessStopping(() => WriteVerbose(message));
    void IEngineLog.Warning(string message) => UnlessStopping(() => WriteWarning(message));

    void IEngineLog.Progress(string activity, string status, int percent) =>
        UnlessStopping(() => WriteProgress(new ProgressRecord(1, activity, status)
        {
            PercentComplete = Math.Clamp(percent, -1, 100),
            RecordType = percent == -1 ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        }));

    private void UnlessStopping(Action write)
    {
        if (Stopping)
            return;
        try { write(); }
        catch (PipelineStoppedException) { } // Ctrl+C came between the check and the write
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        engine?.Dispose();
        engine = null;
    }
}
