@{
    Synopsis    = 'Builds a Debian image with debootstrap, or the built-in busybox image.'

    Description = @'
Builds a container image on this host and writes it to the pipeline as a
ContainerPS.ContainerImage object. LXD has no direct equivalent (its images
come from image servers or from distrobuilder); this is the local way to
get a Debian system image without a download service.

-Distribution NAME (a Debian suite or codename such as bookworm, trixie or
stable) runs `debootstrap --variant=minbase NAME ROOTFS MIRROR`: a minimal
Debian system with apt and the essential packages. It downloads about 40 MB
of packages and takes several minutes. The image has format debootstrap
and the properties os=debian, release=NAME, architecture (from dpkg, amd64
here) and variant=minbase. debootstrap copies the host's etc/hostname and
etc/resolv.conf into the target: the image gets hostname debian instead
and no resolv.conf.

A minbase system has no init: neither systemd-sysv nor sysvinit-core is
installed, so there is no /sbin/init. Such an image gets the property
init, the command its containers start as pid 1:
/bin/sh -c 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'
a shell that sleeps until it receives SIGTERM (the image's stop.signal)
and then exits 0. It is not a service manager: install an init package in
the container (and remove the init property from images made from it)
when you need services.

-Distribution busybox builds the built-in busybox image instead (in well
under a second, no network): the host's static busybox (Debian package
busybox-static) with a symlink per applet, /sbin/init pointing to busybox,
an inittab that runs /etc/init.d/rcS and keeps init running without
gettys, and passwd, group, hostname and hosts files. Format builtin;
properties os=busybox, release=BUSYBOX-VERSION, architecture=x86_64 and
stop.signal=SIGUSR2 (busybox init runs its shutdown action and powers off
on SIGUSR2). The same busybox always gives the same image fingerprint. The
alias defaults to busybox; when that image exists already it is returned.
New-Container builds this image by itself on first use, so building it by
hand is only needed to have it ready.

The build is crash safe and leaves nothing when it fails. A debootstrap
image that is already there (the same bytes) fails with ImageExists.

Error IDs: InvalidName (a bad distribution name or alias), InvalidMirror,
MirrorNotFound (no Debian mirror in the apt sources and no -Mirror),
ImageBuildFailed (debootstrap failed: an unknown distribution, an
unreachable mirror; the message has the end of debootstrap's log),
ImageExists (the alias is taken), ToolMissing (debootstrap or a static
busybox is not installed).
'@

    Parameters  = @{
        Distribution = @'
The Debian suite or codename to bootstrap (bookworm, trixie, stable,
testing...), or busybox for the built-in busybox image.
'@
        Alias        = @'
A name for the image: 1 to 63 letters, digits, '.', '_' and '-',
starting with a letter or digit. Unique among images. For busybox the
default is busybox; otherwise there is no default alias.
'@
        Mirror       = @'
The Debian archive to download from, as an http://, https:// or file://
URL (for example http://deb.debian.org/debian). The default is the first
Debian archive apt uses on this host: the first deb line (one-line
format) or URIs field (deb822 .sources format) of /etc/apt/sources.list
and /etc/apt/sources.list.d that is a Debian archive and not its
security or updates suite.
'@
    }

    Outputs     = @{
        'ContainerPS.ContainerImage' = 'The new image.'
    }

    Examples    = @(
        @{
            Title   = 'Build a Debian bookworm image'
            Code    = 'New-ContainerImage bookworm -Alias bookworm -Verbose'
            Remarks = @'
Runs debootstrap --variant=minbase bookworm from the mirror apt uses. It
takes a few minutes; -Verbose shows the steps.
'@
        }
        @{
            Title   = 'Build from a given mirror'
            Code    = "New-ContainerImage trixie -Alias trixie -Mirror 'http://ftp.de.debian.org/debian'"
            Remarks = 'Bootstraps Debian trixie from another mirror.'
        }
        @{
            Title   = 'Build the built-in busybox image ahead of time'
            Code    = 'New-ContainerImage busybox'
            Remarks = @'
Builds (or returns) the image with alias busybox from the host's
/bin/busybox. Its properties show the busybox version and stop signal:
(New-ContainerImage busybox).Properties
'@
        }
    )

    Notes       = @'
debootstrap runs as root and needs network access to the mirror (or a
file:// mirror). Use Import-ContainerImage for images built elsewhere.
'@

    Links       = @(
        'Import-ContainerImage'
        'Get-ContainerImage'
        'Remove-ContainerImage'
        'about_ContainerPS'
    )
}
