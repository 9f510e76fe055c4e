namespace ContainerPS.Engine;

/// <summary>An error's stable ID (scripts and tests match on it) and its kind (the cmdlets' ErrorCategory).</summary>
public sealed record ErrorCode(string Id, ErrorKind Kind)
{
    public override string ToString() => Id;
}

/// <summary>
/// Every error ContainerPS reports, each defined once: the engine's (thrown as ContainerPSException)
/// and the cmdlets' own (written as ErrorRecords). An ID is the field's name.
/// </summary>
public static class Errors
{
    public static readonly ErrorCode ArchiveMissing = new(nameof(ArchiveMissing), ErrorKind.InvalidOperation);
    public static readonly ErrorCode CarryNotSupported = new(nameof(CarryNotSupported), ErrorKind.NotSupported);
    public static readonly ErrorCode CephConfigNotFound = new(nameof(CephConfigNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode CephNotReachable = new(nameof(CephNotReachable), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode CheckpointFailed = new(nameof(CheckpointFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode CheckpointNotFound = new(nameof(CheckpointNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode CheckpointOfAnotherContainer = new(nameof(CheckpointOfAnotherContainer), ErrorKind.InvalidOperation);
    public static readonly ErrorCode CheckpointPathNotEmpty = new(nameof(CheckpointPathNotEmpty), ErrorKind.AlreadyExists);
    public static readonly ErrorCode CheckpointPathNotFound = new(nameof(CheckpointPathNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode CniPluginError = new(nameof(CniPluginError), ErrorKind.OperationFailed);
    public static readonly ErrorCode CniPluginNotFound = new(nameof(CniPluginNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode ConfigKeyReadOnly = new(nameof(ConfigKeyReadOnly), ErrorKind.InvalidArgument);
    public static readonly ErrorCode ContainerBusy = new(nameof(ContainerBusy), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode ContainerExecStderr = new(nameof(ContainerExecStderr), ErrorKind.OperationFailed);
    public static readonly ErrorCode ContainerExists = new(nameof(ContainerExists), ErrorKind.AlreadyExists);
    public static readonly ErrorCode ContainerNotFound = new(nameof(ContainerNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode ContainerNotRunning = new(nameof(ContainerNotRunning), ErrorKind.InvalidOperation);
    public static readonly ErrorCode ContainerRunning = new(nameof(ContainerRunning), ErrorKind.InvalidOperation);
    public static readonly ErrorCode ContainerStartFailed = new(nameof(ContainerStartFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode ContainerStopFailed = new(nameof(ContainerStopFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode CriuMissing = new(nameof(CriuMissing), ErrorKind.NotSupported);
    public static readonly ErrorCode DestinationIsDirectory = new(nameof(DestinationIsDirectory), ErrorKind.InvalidOperation);
    public static readonly ErrorCode DestinationNotADirectory = new(nameof(DestinationNotADirectory), ErrorKind.InvalidOperation);
    public static readonly ErrorCode DestinationParentNotFound = new(nameof(DestinationParentNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode DeviceExists = new(nameof(DeviceExists), ErrorKind.AlreadyExists);
    public static readonly ErrorCode DriverNotSupported = new(nameof(DriverNotSupported), ErrorKind.NotSupported);
    public static readonly ErrorCode DuplicateNetwork = new(nameof(DuplicateNetwork), ErrorKind.InvalidArgument);
    public static readonly ErrorCode EmptyCommand = new(nameof(EmptyCommand), ErrorKind.InvalidArgument);
    public static readonly ErrorCode ExecFailed = new(nameof(ExecFailed), ErrorKind.OperationStopped);
    public static readonly ErrorCode HotMountNotCheckpointable = new(nameof(HotMountNotCheckpointable), ErrorKind.InvalidOperation);
    public static readonly ErrorCode IdmapExhausted = new(nameof(IdmapExhausted), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode IdmapMismatch = new(nameof(IdmapMismatch), ErrorKind.InvalidOperation);
    public static readonly ErrorCode IdmapNotDelegated = new(nameof(IdmapNotDelegated), ErrorKind.InvalidArgument);
    public static readonly ErrorCode IdmapNotSupported = new(nameof(IdmapNotSupported), ErrorKind.NotSupported);
    public static readonly ErrorCode IdmapsNotIdentical = new(nameof(IdmapsNotIdentical), ErrorKind.InvalidOperation);
    public static readonly ErrorCode ImageAmbiguous = new(nameof(ImageAmbiguous), ErrorKind.InvalidArgument);
    public static readonly ErrorCode ImageBuildFailed = new(nameof(ImageBuildFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode ImageBusy = new(nameof(ImageBusy), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode ImageExists = new(nameof(ImageExists), ErrorKind.AlreadyExists);
    public static readonly ErrorCode ImageInvalid = new(nameof(ImageInvalid), ErrorKind.InvalidArgument);
    public static readonly ErrorCode ImageNotFound = new(nameof(ImageNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode ImageUnsafe = new(nameof(ImageUnsafe), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InterfaceExists = new(nameof(InterfaceExists), ErrorKind.AlreadyExists);
    public static readonly ErrorCode InvalidArchivePart = new(nameof(InvalidArchivePart), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidCheckpoint = new(nameof(InvalidCheckpoint), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidCheckpointTarget = new(nameof(InvalidCheckpointTarget), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidConfigKey = new(nameof(InvalidConfigKey), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidConfigValue = new(nameof(InvalidConfigValue), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidEnvironment = new(nameof(InvalidEnvironment), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidExecInput = new(nameof(InvalidExecInput), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidExecOutput = new(nameof(InvalidExecOutput), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidIPAddress = new(nameof(InvalidIPAddress), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidIdmap = new(nameof(InvalidIdmap), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidInterfaceName = new(nameof(InvalidInterfaceName), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidMacAddress = new(nameof(InvalidMacAddress), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidIterations = new(nameof(InvalidIterations), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidMigrationPlan = new(nameof(InvalidMigrationPlan), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidMigrationToken = new(nameof(InvalidMigrationToken), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidMirror = new(nameof(InvalidMirror), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidMountPath = new(nameof(InvalidMountPath), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidName = new(nameof(InvalidName), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidNetworkConfig = new(nameof(InvalidNetworkConfig), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidPath = new(nameof(InvalidPath), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidPortMapping = new(nameof(InvalidPortMapping), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidRoot = new(nameof(InvalidRoot), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidSnapshot = new(nameof(InvalidSnapshot), ErrorKind.InvalidOperation);
    public static readonly ErrorCode InvalidSource = new(nameof(InvalidSource), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidUnitValue = new(nameof(InvalidUnitValue), ErrorKind.InvalidArgument);
    public static readonly ErrorCode InvalidVolumeType = new(nameof(InvalidVolumeType), ErrorKind.InvalidArgument);
    public static readonly ErrorCode MigrationDataFailed = new(nameof(MigrationDataFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode MigrationFormatNotSupported = new(nameof(MigrationFormatNotSupported), ErrorKind.InvalidOperation);
    public static readonly ErrorCode MigrationNotFound = new(nameof(MigrationNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode MigrationTimedOut = new(nameof(MigrationTimedOut), ErrorKind.OperationFailed);
    public static readonly ErrorCode MirrorNotFound = new(nameof(MirrorNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode ModuleNotFound = new(nameof(ModuleNotFound), ErrorKind.InvalidOperation);
    public static readonly ErrorCode MonitorFailed = new(nameof(MonitorFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode MountFailed = new(nameof(MountFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode MountPathInUse = new(nameof(MountPathInUse), ErrorKind.AlreadyExists);
    public static readonly ErrorCode MoveFailed = new(nameof(MoveFailed), ErrorKind.OperationStopped);
    public static readonly ErrorCode MoveRefused = new(nameof(MoveRefused), ErrorKind.InvalidOperation);
    public static readonly ErrorCode MoveUnconfirmed = new(nameof(MoveUnconfirmed), ErrorKind.OperationStopped);
    public static readonly ErrorCode NativeHelperNotExecutable = new(nameof(NativeHelperNotExecutable), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode NetworkAlreadyConnected = new(nameof(NetworkAlreadyConnected), ErrorKind.AlreadyExists);
    public static readonly ErrorCode NetworkConfigNotFound = new(nameof(NetworkConfigNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode NetworkExists = new(nameof(NetworkExists), ErrorKind.AlreadyExists);
    public static readonly ErrorCode NetworkInUse = new(nameof(NetworkInUse), ErrorKind.InUse);
    public static readonly ErrorCode NetworkNotAttached = new(nameof(NetworkNotAttached), ErrorKind.InvalidOperation);
    public static readonly ErrorCode NetworkNotConnected = new(nameof(NetworkNotConnected), ErrorKind.InvalidOperation);
    public static readonly ErrorCode NetworkNotFound = new(nameof(NetworkNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode NoSubordinateIds = new(nameof(NoSubordinateIds), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode NotAFile = new(nameof(NotAFile), ErrorKind.InvalidArgument);
    public static readonly ErrorCode OutFileUnavailable = new(nameof(OutFileUnavailable), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode OutFileWriteFailed = new(nameof(OutFileWriteFailed), ErrorKind.WriteError);
    public static readonly ErrorCode PathNotFound = new(nameof(PathNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode PoolBusy = new(nameof(PoolBusy), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode PoolExists = new(nameof(PoolExists), ErrorKind.AlreadyExists);
    public static readonly ErrorCode PoolInUse = new(nameof(PoolInUse), ErrorKind.InUse);
    public static readonly ErrorCode PoolNotFound = new(nameof(PoolNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode PoolSpaceInsufficient = new(nameof(PoolSpaceInsufficient), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode PostCopyNotSupported = new(nameof(PostCopyNotSupported), ErrorKind.NotSupported);
    public static readonly ErrorCode PreCopyNotSupported = new(nameof(PreCopyNotSupported), ErrorKind.NotSupported);
    public static readonly ErrorCode PropertyNotFound = new(nameof(PropertyNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode PwshNotFound = new(nameof(PwshNotFound), ErrorKind.InvalidOperation);
    public static readonly ErrorCode RecurseRequired = new(nameof(RecurseRequired), ErrorKind.InvalidArgument);
    public static readonly ErrorCode RestoreFailed = new(nameof(RestoreFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode RootRequired = new(nameof(RootRequired), ErrorKind.InvalidOperation);
    public static readonly ErrorCode RuncFailed = new(nameof(RuncFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode RuntimeDirNotTraversable = new(nameof(RuntimeDirNotTraversable), ErrorKind.InvalidOperation);
    public static readonly ErrorCode SnapshotExists = new(nameof(SnapshotExists), ErrorKind.AlreadyExists);
    public static readonly ErrorCode SnapshotNotFound = new(nameof(SnapshotNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode SnapshotNotLatest = new(nameof(SnapshotNotLatest), ErrorKind.InvalidOperation);
    public static readonly ErrorCode SnapshotNotMountable = new(nameof(SnapshotNotMountable), ErrorKind.NotSupported);
    public static readonly ErrorCode SnapshotNotStateful = new(nameof(SnapshotNotStateful), ErrorKind.InvalidOperation);
    public static readonly ErrorCode SourceInUse = new(nameof(SourceInUse), ErrorKind.InUse);
    public static readonly ErrorCode SourceInsideRoot = new(nameof(SourceInsideRoot), ErrorKind.InvalidArgument);
    public static readonly ErrorCode SourceNotEmpty = new(nameof(SourceNotEmpty), ErrorKind.InvalidOperation);
    public static readonly ErrorCode StateTooNew = new(nameof(StateTooNew), ErrorKind.NotSupported);
    public static readonly ErrorCode StateUnavailable = new(nameof(StateUnavailable), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode StatefulCopyIsolatedIdmap = new(nameof(StatefulCopyIsolatedIdmap), ErrorKind.InvalidOperation);
    public static readonly ErrorCode StatefulCopyNetworked = new(nameof(StatefulCopyNetworked), ErrorKind.InvalidOperation);
    public static readonly ErrorCode StorageIOError = new(nameof(StorageIOError), ErrorKind.WriteError);
    public static readonly ErrorCode ToolFailed = new(nameof(ToolFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode ToolMissing = new(nameof(ToolMissing), ErrorKind.NotSupported);
    public static readonly ErrorCode ToolTimedOut = new(nameof(ToolTimedOut), ErrorKind.OperationFailed);
    public static readonly ErrorCode UnexpectedError = new(nameof(UnexpectedError), ErrorKind.OperationFailed);
    public static readonly ErrorCode UnknownDriver = new(nameof(UnknownDriver), ErrorKind.InvalidArgument);
    public static readonly ErrorCode UnsupportedCniVersion = new(nameof(UnsupportedCniVersion), ErrorKind.NotSupported);
    public static readonly ErrorCode UserNamespaceFailed = new(nameof(UserNamespaceFailed), ErrorKind.OperationFailed);
    public static readonly ErrorCode VolumeAlreadyMounted = new(nameof(VolumeAlreadyMounted), ErrorKind.AlreadyExists);
    public static readonly ErrorCode VolumeBusy = new(nameof(VolumeBusy), ErrorKind.ResourceUnavailable);
    public static readonly ErrorCode VolumeExists = new(nameof(VolumeExists), ErrorKind.AlreadyExists);
    public static readonly ErrorCode VolumeInUse = new(nameof(VolumeInUse), ErrorKind.InUse);
    public static readonly ErrorCode VolumeNotFound = new(nameof(VolumeNotFound), ErrorKind.NotFound);
    public static readonly ErrorCode VolumeNotMounted = new(nameof(VolumeNotMounted), ErrorKind.NotFound);
    public static readonly ErrorCode VolumeShrinkNotSupported = new(nameof(VolumeShrinkNotSupported), ErrorKind.InvalidOperation);
    public static readonly ErrorCode VolumeTypeNotRemovable = new(nameof(VolumeTypeNotRemovable), ErrorKind.InvalidOperation);
    public static readonly ErrorCode VolumeTypeNotSupported = new(nameof(VolumeTypeNotSupported), ErrorKind.InvalidOperation);
    public static readonly ErrorCode VolumesNotMoved = new(nameof(VolumesNotMoved), ErrorKind.InvalidOperation);
    public static readonly ErrorCode WaitTimeout = new(nameof(WaitTimeout), ErrorKind.OperationFailed);
    public static readonly ErrorCode ZfsNotRunning = new(nameof(ZfsNotRunning), ErrorKind.ResourceUnavailable);

    /// <summary>Every error in the catalogue, by ID.</summary>
    public static readonly IReadOnlyDictionary<string, ErrorCode> ById = typeof(Errors).GetFields()
        .Where(f => f.FieldType == typeof(ErrorCode)).Select(f => (ErrorCode)f.GetValue(null)!).ToDictionary(c => c.Id, StringComparer.Ordinal);
}
