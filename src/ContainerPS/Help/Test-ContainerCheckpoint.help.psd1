@{
    Synopsis    = 'Reports whether CRIU can checkpoint and restore containers on this host, and whether live migration by pre-copy is possible (criu check).'

    Description = @'
Runs CRIU's own checks and reports what checkpoint and restore can do
on this host, as one ContainerPS.CheckpointSupport object. It is the
equivalent of `criu check` together with `criu check --feature
mem_dirty_track` and `criu check --feature uffd-noncoop`. It never
fails: when CRIU is missing, Supported is False and Message says how to
install it (build.ps1 -Task Bootstrap).

Properties:

- Supported: True when Checkpoint-Container, Restore-Container,
  Stop-Container -Stateful and Move-Container can work: CRIU 4.0 or
  later is installed and `criu check` says "Looks good.".
- CriuPath, Version: where criu is, and its version (4.1.1 on this
  host, from Debian 13; Debian 12's 3.17 fails on Linux 6.x).
- Check: the last line of `criu check`.
- MemoryTracking: whether the kernel tracks dirty memory (soft-dirty
  bits, CONFIG_MEM_SOFT_DIRTY). Pre-copy live migration
  (Move-Container -Live) needs it. False on this host: `criu check
  --feature mem_dirty_track` says "Dirty tracking is OFF".
- LazyPages: whether userfaultfd allows lazy (post-copy) restores.
- Message: one sentence that sums it up.

With -Quiet only $true or $false (Supported) is written, for scripts.

Test-ContainerCheckpoint changes nothing; it runs criu four times
(about 0.2 s here).
'@

    Parameters  = @{
        Quiet = 'Write only $true or $false (whether checkpoint and restore work here).'
    }

    Outputs     = @{
        'ContainerPS.CheckpointSupport' = @'
What CRIU can do here. With -Quiet a System.Boolean instead.
'@
    }

    Examples    = @(
        @{
            Title   = 'What can CRIU do on this host?'
            Code    = 'Test-ContainerCheckpoint'
            Remarks = @'
On the test machine: Supported True, Version 4.1.1, Check "Looks good.",
MemoryTracking False, LazyPages True, and the Message "CRIU works here:
checkpoint, restore and stop-and-copy migration. Pre-copy (-Live) needs
memory dirty tracking, which this kernel lacks (CONFIG_MEM_SOFT_DIRTY)."
'@
        }
        @{
            Title   = 'Save state only where it is possible'
            Code    = @'
if (Test-ContainerCheckpoint -Quiet) { Stop-Container web -Stateful } else { Stop-Container web }
'@
            Remarks = 'A stateful stop where CRIU works, a clean shutdown elsewhere.'
        }
        @{
            Title   = 'Compare the hosts of a migration'
            Code    = @'
$s = New-PSSession -HostName host2 -UserName root
Test-ContainerCheckpoint | Select-Object Version, MemoryTracking
Invoke-Command $s { Test-ContainerCheckpoint | Select-Object Version, MemoryTracking }
'@
            Remarks = @'
Both ends of Move-Container need a working CRIU; -Live would need
MemoryTracking on the source.
'@
        }
    )

    Links       = @(
        'Checkpoint-Container'
        'Restore-Container'
        'Move-Container'
        'about_ContainerPS'
        @{ Text = 'criu check'; Uri = 'https://criu.org/Checking_the_kernel' }
    )
}
