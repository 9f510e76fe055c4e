#Requires -Version 7.4
# Enforced sizes on dir pools: on a filesystem with project quotas (ext4 -O quota,project mounted
# prjquota) a dir volume's size is a project quota (writes past it fail with EDQUOT for a writer
# without CAP_SYS_RESOURCE: ext4 does not limit root), SizeEnforced is True; where the filesystem
# has no project quotas the size is only recorded, with a warning. A lane file (*.Lane.Tests.ps1):
# it needs a kernel with quota support, so it runs in the TestVm lane only, never on this VM's
# kernel (which cannot mount ext4 with quota features). Run it in a private mount namespace.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    # The project id of a file or (-Directory) of a directory itself, as lsattr -p prints it (right-aligned).
    function Get-Project([string] $Path, [switch] $Directory) {
        $out = if ($Directory) { & lsattr -pd -- $Path } else { & lsattr -p -- $Path }
        [long]((("$out").Trim() -split '\s+')[0])
    }

    # A loop file of Size with ext4 (quota,project features, mounted prjquota) or xfs (mounted pquota) at $mnt; its device in $script:dev.
    function Mount-TestQuotaFs([ValidateSet('ext4', 'xfs')] [string] $Fs, [string] $Size) {
        $file = Join-Path $script:t.Base "$Fs.img"
        & truncate -s $Size -- $file
        $script:dev = (& losetup -f --show -- $file).Trim()
        $out = if ($Fs -eq 'ext4') { & mkfs.ext4 -q -F -I 256 -O quota,project -- $script:dev 2>&1 } else { & mkfs.xfs -q -f -- $script:dev 2>&1 }
        $LASTEXITCODE | Should -Be 0 -Because "$out"
        $null = New-Item -ItemType Directory -Force $script:mnt
        & mount -o $(if ($Fs -eq 'ext4') { 'prjquota' } else { 'pquota' }) -- $script:dev $script:mnt
        $LASTEXITCODE | Should -Be 0
    }

    # Writes N MiB into File as uid 1000 (no capabilities); the error text when it fails, else $null.
    function Write-MiBAs1000([string] $File, [int] $MiB) {
        $out = & setpriv --reuid=1000 --regid=1000 --clear-groups -- dd if=/dev/zero "of=$File" bs=1M "count=$MiB" conv=fsync status=none 2>&1
        if ($LASTEXITCODE -eq 0) { $null } else { "$out" }
    }
}

Describe 'dir pool sizes' {
    BeforeEach {
        $script:t = New-TestRoot
        $script:mnt = Join-Path $t.Base 'prj'
        $script:dev = $null
    }
    AfterEach {
        try {
            Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
        }
        finally {
            if ((Get-Content /proc/self/mountinfo) | Where-Object { ($_ -split ' ')[4] -eq $mnt }) { & umount -l -- $mnt }
            if ($dev) { & losetup -d $dev 2>$null }
            Remove-TestRoot
        }
    }

    It 'on ext4 with project quotas (prjquota): size is a project quota, writes past it fail, SizeEnforced is True' {
        Mount-TestQuotaFs ext4 256M

        $p = New-StoragePool q -Driver dir -Source (Join-Path $mnt 'pool')
        $v = Add-StorageVolume q v -Size 16MiB -WarningVariable w
        @($w).Count | Should -Be 0 -Because 'the size is enforced: no warning'
        $v.SizeEnforced | Should -BeTrue
        (Get-StorageVolume q v).SizeEnforced | Should -BeTrue
        $v.Size | Should -Be 16MB

        # The volume's tree is one project (the inode number of its directory), inherited by new files.
        $proj = (Get-Project $v.Path -Directory)
        $proj | Should -Be ([long](& stat -c %i -- $v.Path))
        & chown 1000:1000 -- $v.Path
        & chmod o+x -- (Split-Path $v.Path)   # custom/ is 0700: let uid 1000 reach the volume
        $err = Write-MiBAs1000 (Join-Path $v.Path 'big') 24
        $err | Should -Match 'Disk quota exceeded|No space left on device'
        (Get-Project (Join-Path $v.Path 'big')) | Should -Be $proj
        (Get-Item (Join-Path $v.Path 'big')).Length | Should -BeLessOrEqual 16MB
        & rm -f -- (Join-Path $v.Path 'big')

        # A copy is its own project with the same limit.
        $c = Copy-StorageVolume q v c -PassThru
        $c.SizeEnforced | Should -BeTrue
        $cproj = (Get-Project $c.Path -Directory)
        $cproj | Should -Be ([long](& stat -c %i -- $c.Path))
        $cproj | Should -Not -Be $proj
        & chown 1000:1000 -- $c.Path   # a copy's root is root's again (0711), as every new volume's
        & chmod o+x -- (Split-Path $c.Path)   # and custom/ was made 0700 again
        Write-MiBAs1000 (Join-Path $c.Path 'big') 24 | Should -Match 'Disk quota exceeded|No space left on device'

        # Raised: the same write fits; removed: no limit at all.
        $v = Set-StorageVolume q v -Config @{ size = '40MiB' } -PassThru -WarningVariable w2
        @($w2).Count | Should -Be 0
        $v.SizeEnforced | Should -BeTrue
        Write-MiBAs1000 (Join-Path $v.Path 'big') 24 | Should -BeNullOrEmpty
        Write-MiBAs1000 (Join-Path $v.Path 'more') 24 | Should -Match 'Disk quota exceeded|No space left on device'
        Set-StorageVolume q v -Config @{ size = $null }
        (Get-StorageVolume q v).SizeEnforced | Should -BeFalse -Because 'there is no size any more'
        & rm -f -- (Join-Path $v.Path 'more')
        Write-MiBAs1000 (Join-Path $v.Path 'more') 24 | Should -BeNullOrEmpty

        # A volume without a size on the same pool stays outside any limit.
        $u = Add-StorageVolume q u
        $u.SizeEnforced | Should -BeFalse

        # What a volume's user put there cannot lead the tagging outside it: a symlink to a host
        # directory (and a hard link's other name outside is the same inode, which ext4 refuses to
        # link across projects anyway) keeps the host's files out of the project.
        $hostDir = Join-Path $mnt 'hostfiles'
        $null = New-Item -ItemType Directory -Force $hostDir
        Set-Content (Join-Path $hostDir 'secret') 'x'
        & ln -s -- $hostDir (Join-Path $u.Path 'link')
        $null = New-Item -ItemType Directory (Join-Path $u.Path 'sub')
        Set-Content (Join-Path $u.Path 'sub/f') 'y'
        $u = Set-StorageVolume q u -Config @{ size = '8MiB' } -PassThru
        $uproj = (Get-Project $u.Path -Directory)
        $uproj | Should -Not -Be 0
        (Get-Project (Join-Path $u.Path 'sub/f')) | Should -Be $uproj -Because 'an existing volume is tagged when it gets a size'
        (Get-Project (Join-Path $hostDir 'secret')) | Should -Be 0 -Because 'the symlink is not followed'
        (Get-Project $hostDir -Directory) | Should -Be 0
        Remove-StoragePool q -Force -Confirm:$false
    }

    It 'a pool inside an admin''s project: volumes get projects of their own, never the inherited one' {
        Mount-TestQuotaFs ext4 128M
        $admin = Join-Path $mnt 'admin'
        $null = New-Item -ItemType Directory $admin
        & chattr -p 4242 +P -- $admin
        $LASTEXITCODE | Should -Be 0

        $null = New-StoragePool a -Driver dir -Source (Join-Path $admin 'pool')
        (Get-Project (Join-Path $admin 'pool') -Directory) | Should -Be 4242 -Because 'the pool directory inherited the admin''s project'
        $v = Add-StorageVolume a v -Size 16MiB
        $v.SizeEnforced | Should -BeTrue
        $proj = (Get-Project $v.Path -Directory)
        $proj | Should -Be ([long](& stat -c %i -- $v.Path)) -Because 'a project of its own, not the inherited 4242'
        Set-StorageVolume a v -Config @{ size = $null }
        Remove-StorageVolume a v
        (Get-Project (Join-Path $admin 'pool') -Directory) | Should -Be 4242
        Remove-StoragePool a -Force -Confirm:$false
    }

    It 'on xfs mounted pquota: root is limited too' {
        Mount-TestQuotaFs xfs 320M

        $null = New-StoragePool x -Driver dir -Source (Join-Path $mnt 'pool')
        $v = Add-StorageVolume x v -Size 16MiB -WarningVariable w
        @($w).Count | Should -Be 0
        $v.SizeEnforced | Should -BeTrue
        $out = & dd if=/dev/zero "of=$(Join-Path $v.Path 'big')" bs=1M count=24 conv=fsync status=none 2>&1
        $LASTEXITCODE | Should -Not -Be 0
        "$out" | Should -Match 'Disk quota exceeded|No space left on device'
        Remove-StoragePool x -Force -Confirm:$false
    }

    It 'on a filesystem without project quotas: the size is recorded with a warning and SizeEnforced is False' {
        $null = New-StoragePool d -Driver dir
        $v = Add-StorageVolume d v -Size 16MiB -WarningVariable w -WarningAction SilentlyContinue
        $v.SizeEnforced | Should -BeFalse
        $v.Size | Should -Be 16MB
        @($w).Count | Should -Be 1
        "$($w[0])" | Should -BeLike '*not enforced*'
        # A plain write of more than the size succeeds (nothing limits it).
        & dd if=/dev/zero "of=$(Join-Path $v.Path 'big')" bs=1M count=24 status=none
        $LASTEXITCODE | Should -Be 0
    }
}
