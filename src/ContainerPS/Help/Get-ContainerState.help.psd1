@{
    Synopsis    = 'Gets what containers use now: memory, CPU time, processes, network and disk (lxc info / podman stats).'

    Description = @'
Gets one ContainerPS.ContainerState object per container: all of them, or
those whose names match -Name. It is the equivalent of the resources part
of `lxc info NAME` and of `podman stats --no-stream` (Incus: incus info).

The figures are read when the command runs:

- MemoryUsage: bytes charged to the container's cgroup, page cache and
  tmpfs pages (/dev/shm) included (cgroup v1 memory.usage_in_bytes, v2
  memory.current).
- MemoryPeak: the most bytes charged since the container started (v1
  memory.max_usage_in_bytes, v2 memory.peak; $null on kernels before 5.19
  with cgroup v2, which have no memory.peak).
- CpuTime: CPU time of all its processes since it started, a TimeSpan (v1
  cpuacct.usage, v2 usage_usec of cpu.stat).
- Processes: tasks in its cgroup (pids.current; threads count).
- Network: the interfaces of its network namespace, read from
  /proc/PID/net/dev of its init, as ContainerPS.InterfaceCounters objects
  (Name, Loopback, RxBytes, RxPackets, TxBytes, TxPackets); loopback (lo)
  is included and marked. RxBytes and TxBytes are the totals of all
  interfaces but loopback.
- RootDiskUsage: bytes used by its root volume, as Get-StorageVolume
  reports them (Used): the allocated blocks of the tree on dir and btrfs,
  the dataset's usage on zfs, the filesystem's on ceph. It is also given
  for a stopped container.
- Timestamp: when the figures were read (UTC).

The cgroup is the one the init is in, as /proc/PID/cgroup names it, so it
works on cgroup v1 (each controller's hierarchy), v2 (the unified
hierarchy) and hybrid hosts alike. A counter the host does not keep is
$null, never an error.

A container that is not running (Stopped, Error, Starting, Stopping,
Creating, Deleting) has State set as Get-Container shows it and $null
for Pid and every counter except RootDiskUsage.

The objects hold only plain values (strings, numbers, TimeSpan, DateTime
and an array of small records), so they stay usable through PowerShell
remoting; the table view also formats Deserialized.ContainerPS.ContainerState
objects when ContainerPS is imported locally.

Error IDs: ContainerNotFound (a name without wildcards that matches no
container; the other names are still returned).
'@

    Parameters  = @{
        Name = @'
Names of containers; wildcards (*, ?, [a-z]) are allowed and match
without regard to case. Without -Name, every container is returned,
sorted by name. Containers from Get-Container bind by their Name.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'A container from Get-Container (or any object with a Name property), bound to -Name.'
        }
    )

    Outputs     = @{
        'ContainerPS.ContainerState' = @'
One object per container: Name, State, Pid, MemoryUsage, MemoryPeak,
CpuTime, Processes, Network, RxBytes, TxBytes, RootDiskUsage, Timestamp.
'@
    }

    Examples    = @(
        @{
            Title   = 'What every container uses'
            Code    = 'Get-ContainerState'
            Remarks = @'
Like `podman stats --no-stream`, for example:

Name State   Memory(MiB) Peak(MiB) CPU(s) Processes    Rx    Tx    Disk
---- -----   ----------- --------- ------ ---------    --    --    ----
db1  Stopped                                                    1.98MiB
web1 Running        50.8      52.0   0.42         4 5.1KiB 4.9KiB 1.98MiB
'@
        }
        @{
            Title   = 'The counters of each interface'
            Code    = 'Get-ContainerState web1 | Select-Object -ExpandProperty Network'
            Remarks = @'
Like the Network usage part of `lxc info web1`:

Name Loopback RxBytes RxPackets TxBytes TxPackets
---- -------- ------- --------- ------- ---------
lo   True           0         0       0         0
eth0 False       5230        42    5018        40
'@
        }
        @{
            Title   = 'The running containers that use the most memory'
            Code    = @'
Get-Container | Where-Object State -eq Running | Get-ContainerState |
    Sort-Object MemoryUsage -Descending | Select-Object -First 3 Name, @{ n = 'MiB'; e = { [math]::Round($_.MemoryUsage / 1MB, 1) } }
'@
            Remarks = 'Containers bind by name; the counters are plain numbers to sort and compute with.'
        }
        @{
            Title   = 'CPU use over an interval'
            Code    = @'
$a = Get-ContainerState web*; Start-Sleep -Seconds 5; $b = Get-ContainerState web*
foreach ($s in $b) {
    $before = $a | Where-Object Name -eq $s.Name
    if ($s.CpuTime -and $before.CpuTime) {
        '{0}: {1:P0} of a CPU' -f $s.Name, (($s.CpuTime - $before.CpuTime).TotalSeconds / ($s.Timestamp - $before.Timestamp).TotalSeconds)
    }
}
'@
            Remarks = 'CpuTime is cumulative; two readings and their Timestamps give the rate, as podman stats computes CPU %.'
        }
        @{
            Title   = 'From another host over remoting'
            Code    = @'
$s = New-PSSession -HostName host2 -UserName root
Invoke-Command -Session $s { Get-ContainerState } | Format-Table
'@
            Remarks = @'
The objects come back as Deserialized.ContainerPS.ContainerState with
their values (numbers stay numbers, CpuTime a TimeSpan, Network a list of
objects) and the same table view when ContainerPS is imported locally.
'@
        }
    )

    Links       = @(
        'Get-Container'
        'Get-StorageVolume'
        'Get-ContainerNetworkAttachment'
        'about_ContainerPS'
    )
}
