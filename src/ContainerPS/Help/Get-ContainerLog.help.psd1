@{
    Synopsis    = 'Gets the console output of a container (lxc console --show-log).'

    Description = @'
Gets what the container's init and the processes that share its console
wrote to standard output and standard error, during the current run or,
for a stopped container, the last one. It is the equivalent of
`lxc console NAME --show-log` and `lxc info NAME --show-log` (Incus:
incus console --show-log).

The container's monitor writes the output to
RUNTIME/containers/NAME/console.log (RUNTIME is /run/containerps for the
default state root, else ROOT/run). The log holds up to 1 MiB; when it is
full it is rotated once to console.log.1, and the cmdlet returns the last
1 MiB of both. The log is emptied when the container starts again and
removed with the container; /run/containerps does not survive a reboot.

By default each line is a string in the pipeline; -Raw returns the whole
log as one string, line ends included.

The built-in busybox image prints 'booted' when its boot script has run,
and the shutdown messages ('shutting down', 'The system is going down
NOW!'...) when it is stopped cleanly.

Not in this version: an interactive console (lxc console without
--show-log).

Error IDs: ContainerNotFound.
'@

    Parameters  = @{
        Name = @'
The container (exact name). A container from Get-Container binds by its
Name.
'@
        Raw  = 'Return the whole log as one string instead of one string per line.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'A container from Get-Container, bound by its Name property.'
        }
    )

    Outputs     = @{
        'System.String' = @'
The lines of the log, or with -Raw one string. An empty string when
the container has no log (it never started).
'@
    }

    Examples    = @(
        @{
            Title   = 'Show the console log'
            Code    = 'Get-ContainerLog web1'
            Remarks = 'Like `lxc console web1 --show-log`. For busybox: booted.'
        }
        @{
            Title   = 'Wait until a container has booted'
            Code    = @'
Start-Container web1
while ((Get-ContainerLog web1) -notcontains 'booted') { Start-Sleep -Milliseconds 100 }
'@
            Remarks = 'Polls the log for the line the busybox boot script prints.'
        }
        @{
            Title   = 'Search the log'
            Code    = 'Get-ContainerLog web1 | Select-String -Pattern error, fail'
            Remarks = 'Lines are plain strings, ready for Select-String.'
        }
    )

    Links       = @(
        'Get-Container'
        'Start-Container'
        'Stop-Container'
        'about_ContainerPS'
    )
}
