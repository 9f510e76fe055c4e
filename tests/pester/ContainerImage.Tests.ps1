#Requires -Version 7.4
# Container images through the real cmdlets: import (rootfs tarballs), the built-in busybox image,
# get by alias/fingerprint/wildcards, pipelines, -WhatIf, errors with their IDs leaving nothing
# behind, the table view (also after serialization), crash repair with a SIGKILLed child, and
# (tagged Slow) a debootstrap build.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    # Input files, built once: a rootfs tree packed as .tar and .tar.gz, a second different rootfs,
    # a file that is not a tarball.
    $Inputs = Join-Path '/tmp' ('cps-pester-img-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
    $null = New-Item -ItemType Directory -Path $Inputs
    & bash -ec @"
cd '$Inputs'
mkdir -p tree/bin tree/etc tree/home/user tree/tmp
cp /bin/busybox tree/bin/busybox && ln -s busybox tree/bin/sh
printf 'ID=pestos\nVERSION_ID=9\nPRETTY_NAME="Pester OS 9"\n' > tree/etc/os-release
echo hello > tree/etc/greeting
echo mine > tree/home/user/file && chown -R 1000:1000 tree/home/user && chmod 1777 tree/tmp
tar -C tree -cf rootfs.tar --numeric-owner --xattrs --xattrs-include='*' --acls .
tar -C tree -czf rootfs.tar.gz --numeric-owner --xattrs --xattrs-include='*' --acls .
cp -a tree tree2 && echo other > tree2/etc/greeting
tar -C tree2 -cJf other.tar.xz --numeric-owner .
head -c 30000 /dev/urandom > junk.tar
"@
    if ($LASTEXITCODE -ne 0) { throw 'could not build the test inputs' }
    $RootfsTar = Join-Path $Inputs 'rootfs.tar'
    $RootfsTgz = Join-Path $Inputs 'rootfs.tar.gz'
    $OtherTxz = Join-Path $Inputs 'other.tar.xz'
    $Junk = Join-Path $Inputs 'junk.tar'

    function Get-ImageFiles {
        # Every file below $root/images (tarballs, files in work directories) and every work directory, relative.
        $dir = Join-Path $script:t.Root 'images'
        if (-not (Test-Path $dir)) { return @() }
        $files = @(Get-ChildItem -LiteralPath $dir -Recurse -Force -File)
        $work = if (Test-Path (Join-Path $dir 'tmp')) { @(Get-ChildItem -LiteralPath (Join-Path $dir 'tmp') -Force) } else { @() }
        @(($files + $work) | ForEach-Object { $_.FullName.Substring($dir.Length) })
    }
}

AfterAll {
    if ($Inputs -like '/tmp/cps-pester-img-*') { & rm -rf -- $Inputs }
}

Describe 'Container images' {
    BeforeEach { $script:t = New-TestRoot; $t = $script:t }
    AfterEach { Remove-TestRoot }

    Context 'import, get, remove' {
        It 'imports a rootfs tarball and stores it as images/FINGERPRINT.tar' {
            $i = Import-ContainerImage $RootfsTgz -Alias pest -Description 'from pester'
            $i | Should -BeOfType ([ContainerPS.ContainerImage])
            $i.pstypenames[0] | Should -Be 'ContainerPS.ContainerImage'
            $i.Alias | Should -Be 'pest'
            $i.Format | Should -Be 'rootfs'
            $i.Description | Should -Be 'from pester'
            $i.Fingerprint | Should -Match '^[0-9a-f]{64}$'
            $i.Properties['os'] | Should -Be 'pestos'
            $i.Properties['release'] | Should -Be '9'
            $i.Properties['architecture'] | Should -Be 'x86_64'
            $i.CreatedAt.Kind | Should -Be 'Utc'
            @($i.UsedBy).Count | Should -Be 0
            $tarball = Join-Path $t.Root "images/$($i.Fingerprint).tar"
            $tarball | Should -Exist
            (Get-Item $tarball).Length | Should -Be $i.Size
            (Get-FileHash $tarball -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $i.Fingerprint
            Invoke-DbQuery 'select alias, format, state from images' | Should -Be 'pest|rootfs|ready'
            @(Get-ChildItem -Force (Join-Path $t.Root 'images/tmp')).Count | Should -Be 0
        }

        It 'resolves a relative -Path against the current location' {
            Push-Location $Inputs
            try { $i = Import-ContainerImage ./rootfs.tar } finally { Pop-Location }
            $i.Alias | Should -BeNullOrEmpty
            $i.Format | Should -Be 'rootfs'
        }

        It 'returns the existing image for the same content without -Alias, and ImageExists with one' {
            $a = Import-ContainerImage $RootfsTar -Alias a
            $b = Import-ContainerImage $RootfsTgz
            $b.Fingerprint | Should -Be $a.Fingerprint
            $b.Alias | Should -Be 'a'
            $err = $null
            $null = Import-ContainerImage $RootfsTgz -Alias b -ErrorVariable err -ErrorAction SilentlyContinue
            Get-ErrorId $err[0] | Should -Be 'ImageExists'
            $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
            "$($err[0])" | Should -BeLike "*$($a.Fingerprint)*"
            @(Get-ContainerImage).Count | Should -Be 1
        }

        It 'gets images by alias, fingerprint prefix and wildcard, aliased ones first' {
            $p = Import-ContainerImage $RootfsTar -Alias pest
            $o = Import-ContainerImage $OtherTxz
            @(Get-ContainerImage).Fingerprint | Should -Be @($p.Fingerprint, $o.Fingerprint)
            (Get-ContainerImage pest).Fingerprint | Should -Be $p.Fingerprint
            (Get-ContainerImage $o.Fingerprint.Substring(0, 8)).Fingerprint | Should -Be $o.Fingerprint
            (Get-ContainerImage $o.Fingerprint).Fingerprint | Should -Be $o.Fingerprint
            (Get-ContainerImage 'pe*').Fingerprint | Should -Be $p.Fingerprint
            (Get-ContainerImage ($o.Fingerprint.Substring(0, 4) + '*')).Fingerprint | Should -Be $o.Fingerprint
            @(Get-ContainerImage 'zz*' -ErrorVariable e).Count | Should -Be 0
            $e | Should -BeNullOrEmpty
            @(Get-ContainerImage pest, pest, 'p*').Count | Should -Be 1
        }

        It 'reports a literal name that matches nothing as ImageNotFound' {
            $null = Get-ContainerImage nope -ErrorVariable err -ErrorAction SilentlyContinue
            Get-ErrorId $err[0] | Should -Be 'ImageNotFound'
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            { Get-ContainerImage nope -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound,ContainerPS.Commands.GetContainerImageCommand'
        }

        It 'imports files piped from Get-ChildItem by FullName' {
            $images = @(Get-ChildItem $Inputs | Where-Object Name -Like '*.tar.*' | Import-ContainerImage)
            $images.Count | Should -Be 2
            @(Get-ContainerImage).Count | Should -Be 2
        }

        It 'removes by alias and by fingerprint prefix, with its tarball' {
            $p = Import-ContainerImage $RootfsTar -Alias pest
            $o = Import-ContainerImage $OtherTxz
            Remove-ContainerImage pest
            Remove-ContainerImage $o.Fingerprint.Substring(0, 12)
            @(Get-ContainerImage).Count | Should -Be 0
            Join-Path $t.Root "images/$($p.Fingerprint).tar" | Should -Not -Exist
            Invoke-DbQuery 'select count(*) from images' | Should -Be '0'
            $null = Remove-ContainerImage pest -ErrorVariable err -ErrorAction SilentlyContinue
            Get-ErrorId $err[0] | Should -Be 'ImageNotFound'
        }

        It 'removes what Get-ContainerImage pipes (binding the Fingerprint by property name)' {
            $null = Import-ContainerImage $RootfsTar -Alias pest
            $null = Import-ContainerImage $OtherTxz
            $cmd = Get-Command Remove-ContainerImage
            $cmd.Parameters['Name'].Aliases | Should -Contain 'Fingerprint'
            Get-ContainerImage | Remove-ContainerImage
            @(Get-ContainerImage).Count | Should -Be 0
            @(Get-ImageFiles).Count | Should -Be 0
        }

        It 'removes an image whose volume a pool holds' {
            $i = New-ContainerImage busybox
            $null = New-StoragePool p -Driver dir
            # Unpack it the way New-Container does (engine API), then remove the image.
            $h = (Get-EngineType ContainerPS.Engine.ContainerHost)::Open($t.Root, $null)
            try { $null = $h.Images.EnsureVolume($i, 'p') } finally { $h.Dispose() }
            (Get-StorageVolume p -Type image).Name | Should -Be $i.Fingerprint
            $i | Remove-ContainerImage
            @(Get-StorageVolume p -Type image).Count | Should -Be 0
        }
    }

    Context 'the built-in busybox image' {
        It 'is built by New-ContainerImage busybox with its properties, once' {
            $i = New-ContainerImage busybox
            $i.Alias | Should -Be 'busybox'
            $i.Format | Should -Be 'builtin'
            $i.Properties['os'] | Should -Be 'busybox'
            $i.Properties['stop.signal'] | Should -Be 'SIGUSR2'
            $i.Properties['release'] | Should -Match '^\d+\.\d+'
            (New-ContainerImage busybox).Fingerprint | Should -Be $i.Fingerprint
            @(Get-ContainerImage).Count | Should -Be 1
        }

        It 'has the same fingerprint in every state root (deterministic)' {
            $a = New-ContainerImage busybox
            Remove-TestRoot
            $script:t = New-TestRoot
            Start-Sleep -Milliseconds 1100
            (New-ContainerImage busybox -Alias bb).Fingerprint | Should -Be $a.Fingerprint
        }
    }

    Context '-WhatIf' {
        It 'Import-ContainerImage -WhatIf changes nothing' {
            $before = Get-StateSnapshot
            $r = Import-ContainerImage $RootfsTar -Alias pest -WhatIf
            $r | Should -BeNullOrEmpty
            Get-StateSnapshot | Should -Be $before
        }

        It 'New-ContainerImage -WhatIf changes nothing' {
            $before = Get-StateSnapshot
            New-ContainerImage bookworm -WhatIf | Should -BeNullOrEmpty
            New-ContainerImage busybox -WhatIf | Should -BeNullOrEmpty
            Get-StateSnapshot | Should -Be $before
        }

        It 'Remove-ContainerImage -WhatIf removes nothing and names the image' {
            $i = Import-ContainerImage $RootfsTar -Alias pest
            $before = Get-StateSnapshot
            # What-if lines go to the host, so run the pipeline in a child pwsh and read its output.
            $r = Wait-ChildPwsh (Start-ChildPwsh -Script 'Get-ContainerImage | Remove-ContainerImage -WhatIf') -TimeoutSeconds 90
            $r.ExitCode | Should -Be 0
            $r.Stdout | Should -Match ([regex]::Escape("What if: Performing the operation `"Remove container image`" on target `"pest ($($i.Fingerprint.Substring(0, 12)))`"."))
            Get-StateSnapshot | Should -Be $before
            @(Get-ContainerImage).Count | Should -Be 1
        }
    }

    Context 'errors leave nothing behind' {
        It 'a missing path is PathNotFound' {
            $null = Import-ContainerImage (Join-Path $Inputs 'missing.tar') -ErrorVariable err -ErrorAction SilentlyContinue
            Get-ErrorId $err[0] | Should -Be 'PathNotFound'
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }

        It 'a file that is not a tarball is ImageInvalid' {
            $null = Import-ContainerImage $Junk -Alias junk -ErrorVariable err -ErrorAction SilentlyContinue
            Get-ErrorId $err[0] | Should -Be 'ImageInvalid'
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            @(Get-ImageFiles).Count | Should -Be 0
            Invoke-DbQuery 'select count(*) from images' | Should -Be '0'
        }

        It 'an unsafe tarball (<Case>) is ImageUnsafe, says why, and writes nothing outside' -TestCases @(
            @{ Case = 'a .. member'; File = 'dotdot.tar'; Why = "*contains '..'*" }
            @{ Case = 'a path through its own symlink'; File = 'symlink.tar'; Why = '*through a symbolic link*' }
            @{ Case = 'a hard link to /etc/shadow'; File = 'hardlink.tar'; Why = '*hard link points outside*' }
        ) {
            $dir = Join-Path $t.Ext 'unsafe'
            $null = New-Item -ItemType Directory -Force $dir
            # Made with GNU tar itself: -P keeps '../', an appended member goes through the symlink
            # the first one made, and a hard link whose target member was deleted points outside.
            & bash -ec @"
cd '$dir'
mkdir -p d/sub s1 s2/etc h
echo pwn > d/escape && tar -C d/sub -cPf dotdot.tar ../escape
ln -sfn '$dir/outside' s1/etc && echo pwn > s2/etc/passwd
tar -cf symlink.tar -C s1 etc && tar -rf symlink.tar -C s2 etc/passwd
echo x > h/a && ln -f h/a h/b
tar -C h -cPf hardlink.tar --transform 's,^a`$,/etc/shadow,' a b && tar --delete -Pf hardlink.tar /etc/shadow
"@
            $LASTEXITCODE | Should -Be 0
            $null = Import-ContainerImage (Join-Path $dir $File) -ErrorVariable err -ErrorAction SilentlyContinue
            Get-ErrorId $err[0] | Should -Be 'ImageUnsafe'
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            "$($err[0])" | Should -BeLike $Why
            @(Get-ImageFiles).Count | Should -Be 0
            Invoke-DbQuery 'select count(*) from images' | Should -Be '0'
            Join-Path $dir 'outside' | Should -Not -Exist
            Join-Path $t.Root 'images/escape' | Should -Not -Exist
        }

        It 'a directory that is not an OCI layout is ImageInvalid' {
            $null = Import-ContainerImage (Join-Path $Inputs 'tree') -ErrorVariable err -ErrorAction SilentlyContinue
            Get-ErrorId $err[0] | Should -Be 'ImageInvalid'
            "$($err[0])" | Should -BeLike '*OCI*'
        }

        It 'a bad alias is InvalidName and a taken one ImageExists' {
            $null = Import-ContainerImage $RootfsTar -Alias 'bad/alias' -ErrorVariable err -ErrorAction SilentlyContinue
            Get-ErrorId $err[0] | Should -Be 'InvalidName'
            $null = Import-ContainerImage $RootfsTar -Alias pest
            $null = Import-ContainerImage $OtherTxz -Alias pest -ErrorVariable err2 -ErrorAction SilentlyContinue
            Get-ErrorId $err2[0] | Should -Be 'ImageExists'
            @(Get-ContainerImage).Count | Should -Be 1
            @(Get-ImageFiles).Count | Should -Be 1
        }

        It 'a bad distribution or mirror is refused before anything runs' {
            $null = New-ContainerImage 'Not A Suite' -ErrorVariable err -ErrorAction SilentlyContinue
            Get-ErrorId $err[0] | Should -Be 'InvalidName'
            $null = New-ContainerImage bookworm -Mirror 'ftp:/x y' -ErrorVariable err2 -ErrorAction SilentlyContinue
            Get-ErrorId $err2[0] | Should -Be 'InvalidMirror'
            Invoke-DbQuery 'select count(*) from images' | Should -Be '0'
        }
    }

    Context 'table view' {
        It 'renders alias, short fingerprint, format, description, architecture, size and date' {
            $i = Import-ContainerImage $RootfsTar -Alias pest -Description 'the pest'
            $text = Get-ContainerImage | Format-Table | Out-String -Width 200
            $text | Should -Match 'Alias\s+Fingerprint\s+Format\s+Description\s+Architecture\s+Size\s+CreatedAt'
            $text | Should -Match "pest\s+$($i.Fingerprint.Substring(0, 12))\s+rootfs\s+the pest\s+x86_64\s+[\d.]+MiB\s+\d{4}-\d\d-\d\d \d\d:\d\dZ"
            $text | Should -Not -Match $i.Fingerprint.Substring(0, 13)
        }

        It 'renders the same after serialization (remoting)' {
            $i = Import-ContainerImage $RootfsTar -Alias pest
            $d = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($i))
            $d.pstypenames[0] | Should -Be 'Deserialized.ContainerPS.ContainerImage'
            $live = $i | Format-Table | Out-String -Width 200
            $remote = $d | Format-Table | Out-String -Width 200
            $remote | Should -Be $live
            $d.Properties['architecture'] | Should -Be 'x86_64'
        }
    }

    Context 'crash repair' {
        It 'rolls back an import whose process was SIGKILLed after placing its tarball' {
            $signal = Join-Path $t.Base 'fault-signal'
            $c = Start-ChildPwsh -Script "Import-ContainerImage '$RootfsTar' -Alias crashed" -Environment @{
                CONTAINERPS_FAULT        = 'image.create.after-tarball'
                CONTAINERPS_FAULT_SIGNAL = $signal
            }
            try {
                (Wait-SignalFile -File $signal -Child $c -TimeoutSeconds 60) | Should -Be 'image.create.after-tarball'
                # While the owner lives: pending, not listed, not repaired.
                Invoke-DbQuery 'select alias, state from images' | Should -Be 'crashed|creating'
                @(Get-ContainerImage -WarningVariable alive -WarningAction SilentlyContinue).Count | Should -Be 0
                $alive | Should -BeNullOrEmpty
                @(Get-ImageFiles | Where-Object { $_ -like '*.tar' -and $_ -notlike '/tmp/*' }).Count | Should -Be 1
            } finally {
                if (-not $c.Process.HasExited) { $null = Stop-ChildHard $c }
            }
            $c.Process.ExitCode | Should -Be 137
            $null = Get-ContainerImage -WarningVariable w -WarningAction SilentlyContinue
            @($w).Count | Should -Be 1
            "$($w[0])" | Should -BeLike "Repaired an interrupted operation: rolled back the unfinished import of image * ('crashed')."
            @(Get-ImageFiles).Count | Should -Be 0
            Invoke-DbQuery 'select count(*) from images' | Should -Be '0'
            (Import-ContainerImage $RootfsTar -Alias crashed).Alias | Should -Be 'crashed'
        }
    }

    Context 'debootstrap' -Tag Slow {
        It 'builds a minbase Debian image with New-ContainerImage' {
            $i = New-ContainerImage bookworm -Alias bookworm
            $i.Format | Should -Be 'debootstrap'
            $i.Properties['os'] | Should -Be 'debian'
            $i.Properties['release'] | Should -Be 'bookworm'
            $i.Properties['architecture'] | Should -Be 'amd64'
            $i.Properties['init'] | Should -BeLike '/bin/sh -c *'
            $i.Properties['stop.signal'] | Should -Be 'SIGTERM'
            (Get-ContainerImage bookworm).Fingerprint | Should -Be $i.Fingerprint
            @(Get-ChildItem -Force (Join-Path $t.Root 'images/tmp')).Count | Should -Be 0
            Remove-ContainerImage bookworm
            @(Get-ContainerImage).Count | Should -Be 0
        }
    }
}
