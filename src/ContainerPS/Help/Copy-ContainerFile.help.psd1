@{
    Synopsis    = 'Copies files into or out of a container, running or stopped (lxc file push/pull).'

    Description = @'
Copies files and directories between the host and a container's root
filesystem, in the shape of Copy-Item -ToSession/-FromSession. It is the
equivalent of `lxc file push` (-ToContainer) and `lxc file pull`
(-FromContainer); -Recurse is their -r. The container may be running or
stopped. Nothing is written to the pipeline unless -PassThru is given.

As Copy-Item, a -Destination that is an existing directory receives the
copy under the source's name; otherwise -Destination is the new name,
and its parent directory must exist. A -Destination ending in '/' must
be an existing directory. A directory copied onto an existing directory
merges into it; an existing file is replaced.

Paths inside the container are absolute and resolved inside the
container, never on the host. Symbolic links that container root
planted anywhere in the path (/etc/app -> /, /tmp/x -> /etc/shadow, a
symlinked parent directory), '..' and renames racing with the copy all
stay within the container's root: the kernel resolves the path with
openat2(RESOLVE_IN_ROOT) from the container's root directory, and every
later step goes through the file descriptors it returned. A symbolic
link at the destination name is replaced by the new file, not written
through. With -Recurse, symbolic links are copied as symbolic links
(their target text unchanged) and never followed; FIFOs, sockets and
device nodes are skipped with a warning and never opened. A copy is
written under a temporary name next to its destination and renamed into
place when complete, so a failed or stopped copy leaves the old file.

Which files: the container's root filesystem on disk (its storage
volume), which is what a running container sees at / (its rootfs is an
idmapped or bind mount of that volume). Files in custom volumes mounted
into the container (Mount-StorageVolume), and in /proc, /sys, /dev and
other mounts made inside the running container, are not reached: a path
below such a mount point reaches the directory under the mount. Copy
those files with Invoke-ContainerExec, or into the custom volume's own
path (Get-StorageVolume).

Modes and owners. The permission bits (setuid, setgid and sticky
included) are kept. Owners are container ids: a pushed file keeps its
host owner and group as ids inside the container (a file of host root is
owned by the container's root), stored on disk the way the container's
files are: unshifted on idmapped storage, or shifted to the map in the
volume's volatile.idmap.last where the storage cannot be idmapped (there
container root is stored as the host id of the map's base). An id the
container's map does not have becomes nobody (65534), with a warning. A
pulled file gets the owner and group the container sees (a file of
container uid 1000 is owned by host uid 1000), since the host user is
root; an on-disk owner outside the map is pulled as 65534. Extended
attributes, ACLs, file capabilities and timestamps are not copied; hard
links become separate files.

Large files are streamed (1 MiB at a time, never held in memory) and
show Write-Progress with a percentage; Ctrl+C stops the copy and leaves
nothing half-written. The container's lock is held while it copies, so
a start, stop or removal of the same container waits for it.

Only root can use it, like every ContainerPS command: another user gets
StateUnavailable (the state root is root's) or RootRequired, and
nothing is copied.

Error IDs: PathNotFound (a source does not exist; no file matches a
wildcard), DestinationParentNotFound (the directory to copy into does
not exist), RecurseRequired (a source is a directory and -Recurse was
not given), InvalidPath (a container path is not absolute, or a path
names no file, such as '/'), NotAFile (a source is a FIFO, socket or
device), DestinationIsDirectory (a file would replace a directory),
DestinationNotADirectory (a directory would replace a file),
ContainerNotFound, ContainerBusy, RootRequired, StorageIOError (the
file system refused, such as a full disk). Bad input changes nothing.
'@

    Parameters  = @{
        Path          = @'
What to copy. With -ToContainer: host paths, relative to the current
location, with wildcards (a path that exists is taken literally, so
'[1].conf' is that file); files from Get-ChildItem bind by their
FullName or PSPath property (alias LiteralPath). With -FromContainer:
absolute paths inside the container (no wildcards); symbolic links in
them resolve inside the container.
'@
        Destination   = @'
Where to copy to: an absolute path inside the container with
-ToContainer, a host path with -FromContainer. An existing directory
receives the copies under their own names; otherwise it is the new
name, and its parent must exist. A trailing '/' requires an existing
directory.
'@
        ToContainer   = 'Copy from the host into this container (push). Container names complete with Tab.'
        FromContainer = 'Copy from this container to the host (pull). Container names complete with Tab.'
        Recurse       = 'Copy directories with everything in them. Without it, a directory is refused with RecurseRequired.'
        PassThru      = @'
Write what was written: with -ToContainer a ContainerPS.ContainerFile
for each file, directory and symbolic link (its path, type, length,
mode and owner inside the container); with -FromContainer the host
FileInfo and DirectoryInfo items, as Copy-Item -PassThru does.
'@
    }

    Inputs      = @(
        @{
            Type        = 'System.IO.FileInfo'
            Description = 'Files and directories from Get-ChildItem, bound to -Path by their FullName or PSPath property.'
        }
        @{
            Type        = 'System.String'
            Description = 'Paths to copy, bound to -Path.'
        }
    )

    Outputs     = @{
        'ContainerPS.ContainerFile' = @'
With -ToContainer -PassThru: Container, Path, Type (File, Directory or
SymbolicLink), Length, Mode (octal text such as 0644) and Uid and Gid as
the container sees them.
'@
        'System.IO.FileInfo'        = 'With -FromContainer -PassThru: each file and symbolic link written on the host.'
        'System.IO.DirectoryInfo'   = 'With -FromContainer -PassThru: each directory written on the host.'
    }

    Examples    = @(
        @{
            Title   = 'Push configuration files into a running container'
            Code    = @'
Invoke-ContainerExec web1 -- mkdir -p /etc/app
Get-ChildItem *.conf | Copy-ContainerFile -ToContainer web1 -Destination /etc/app/ -PassThru
'@
            Remarks = @'
Like `lxc file push *.conf web1/etc/app/`. Each file keeps its mode and
owner (a file of host root is owned by root in web1):

Container Path               Type Length Mode Uid Gid
--------- ----               ---- ------ ---- --- ---
web1      /etc/app/app.conf  File    312 0644   0   0
web1      /etc/app/log.conf  File     98 0600   0   0
'@
        }
        @{
            Title   = 'Pull a file from a stopped container'
            Code    = 'Copy-ContainerFile /etc/passwd -FromContainer web1 -Destination ./web1-passwd'
            Remarks = 'Like `lxc file pull web1/etc/passwd ./web1-passwd`. The container does not have to run.'
        }
        @{
            Title   = 'Copy a directory tree both ways'
            Code    = @'
Copy-ContainerFile ./site -ToContainer web1 -Destination /var/www -Recurse
Copy-ContainerFile /var/log -FromContainer web1 -Destination ./web1-logs -Recurse
'@
            Remarks = @'
When /var/www exists, the tree arrives as /var/www/site, else as
/var/www itself. Pulled files are owned by the ids the container sees
(a log of container uid 33 is owned by host uid 33).
'@
        }
        @{
            Title   = 'See what would be copied'
            Code    = 'Copy-ContainerFile ./*.sh -ToContainer web1 -Destination /usr/local/bin/ -WhatIf'
            Remarks = 'Names each copy and changes nothing.'
        }
        @{
            Title   = 'A symbolic link planted in the container stays in the container'
            Code    = @'
Invoke-ContainerExec web1 -- ln -s / /tmp/esc
Copy-ContainerFile ./note -ToContainer web1 -Destination /tmp/esc/
Copy-ContainerFile /tmp/esc/etc/hostname -FromContainer web1 -Destination ./hostname
'@
            Remarks = @'
/tmp/esc/ is the container's own root: the note is written to the
container's /note, and the hostname read is web1's, never the host's.
'@
        }
    )

    Links       = @(
        'Invoke-ContainerExec'
        'Get-StorageVolume'
        'Mount-StorageVolume'
        'Get-ContainerIdmap'
        'Copy-Item'
        'about_ContainerPS'
    )
}
