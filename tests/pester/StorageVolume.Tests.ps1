#Requires -Version 7.4
# Custom storage volumes through the real cmdlets: add/list/get/set/rename/copy/remove,
# -Property, pipelines, -PassThru, -WhatIf, and rejected input leaving no trace.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
    $GiB = 1073741824L
}

Describe 'Storage volumes' {
    BeforeEach {
        $t = New-TestRoot
        $pool = New-StoragePool p -Driver dir
    }
    AfterEach { Remove-TestRoot }

    Context 'add, list, get, set, rename, copy, remove' {
        It 'adds a volume as a directory SOURCE/custom/NAME and returns it' {
            $v = Add-StorageVolume p v1 -Description 'data'
            $v | Should -BeOfType ([ContainerPS.StorageVolume])
            $v.Pool | Should -Be 'p'
            $v.Name | Should -Be 'v1'
            $v.Type | Should -Be 'custom'
            $v.Description | Should -Be 'data'
            $v.Status | Should -Be 'Created'
            $v.Path | Should -Be (Join-Path $pool.Source 'custom/v1')
            $v.Path | Should -Exist
            $v.Size | Should -BeNullOrEmpty
            $v.SizeEnforced | Should -BeFalse
            $v.Config.Count | Should -Be 0
            Invoke-DbQuery "select name, type, state from volumes" | Should -Be 'v1|custom|ready'
        }

        It 'records -Size, warns that dir does not enforce it, and reports Size in bytes' {
            $v = Add-StorageVolume p v1 -Size 1GiB -WarningVariable w -WarningAction SilentlyContinue
            $v.Config['size'] | Should -Be '1GiB'
            $v.Size | Should -Be $GiB
            $v.SizeEnforced | Should -BeFalse
            @($w).Count | Should -Be 1
            "$($w[0])" | Should -BeLike '*not enforced*'
        }

        It 'lists volumes of all pools or of one pool, sorted' {
            $null = New-StoragePool q -Driver dir
            foreach ($n in 'b', 'a', 'c') { $null = Add-StorageVolume p $n }
            $null = Add-StorageVolume q z
            $all = @(Get-StorageVolume)
            ($all | ForEach-Object { "$($_.Pool)/$($_.Name)" }) | Should -Be @('p/a', 'p/b', 'p/c', 'q/z')
            (Get-StorageVolume -Pool p).Name | Should -Be @('a', 'b', 'c')
            (Get-StorageVolume p b).Name | Should -Be 'b'
            (Get-StorageVolume p -Type custom).Name | Should -Be @('a', 'b', 'c')
            @(Get-StorageVolume p -Type container).Count | Should -Be 0
        }

        It 'supports wildcards for pool and volume names' {
            $null = New-StoragePool pq -Driver dir
            foreach ($n in 'web1', 'web2', 'db1') { $null = Add-StorageVolume p $n }
            $null = Add-StorageVolume pq web9
            (Get-StorageVolume p 'web*').Name | Should -Be @('web1', 'web2')
            (Get-StorageVolume 'p*' 'web*' | ForEach-Object { "$($_.Pool)/$($_.Name)" }) | Should -Be @('p/web1', 'p/web2', 'pq/web9')
            (Get-StorageVolume p 'WEB?').Name | Should -Be @('web1', 'web2')
            (Get-StorageVolume '*' '*1').Name | Should -Be @('db1', 'web1')
            @(Get-StorageVolume p 'none*' -ErrorVariable e).Count | Should -Be 0
            $e.Count | Should -Be 0
            @(Get-StorageVolume 'none*' -ErrorVariable e).Count | Should -Be 0
            $e.Count | Should -Be 0
        }

        It 'sets description and config with Set-StorageVolume' {
            $null = Add-StorageVolume p v1
            Set-StorageVolume p v1 -Description 'new' -Config @{ size = '2GiB'; 'user.app' = 'db' } -WarningAction SilentlyContinue
            $v = Get-StorageVolume p v1
            $v.Description | Should -Be 'new'
            $v.Size | Should -Be (2 * $GiB)
            $v.Config['user.app'] | Should -Be 'db'
            @($v.Config.Keys) | Should -Be @('size', 'user.app')
        }

        It 'unsets a key given as $null in -Config' {
            $null = Add-StorageVolume p v1 -Size 1GiB -Config @{ 'user.x' = '1' } -WarningAction SilentlyContinue
            Set-StorageVolume p v1 -Config @{ size = $null }
            $v = Get-StorageVolume p v1
            $v.Config.ContainsKey('size') | Should -BeFalse
            $v.Size | Should -BeNullOrEmpty
            $v.Config['user.x'] | Should -Be '1'
        }

        It 'applies the pool''s volume.size default to new volumes, and -Size overrides it' {
            $null = New-StoragePool sized -Driver dir -Config @{ 'volume.size' = '3GiB' }
            $a = Add-StorageVolume sized a -WarningAction SilentlyContinue
            $a.Config['size'] | Should -Be '3GiB'
            $a.Size | Should -Be (3 * $GiB)
            $b = Add-StorageVolume sized b -Size 1GiB -WarningAction SilentlyContinue
            $b.Size | Should -Be $GiB
            # changing the default later does not change existing volumes
            Set-StoragePool sized -Config @{ 'volume.size' = '5GiB' }
            (Get-StorageVolume sized a).Size | Should -Be (3 * $GiB)
            (Add-StorageVolume sized c -WarningAction SilentlyContinue).Size | Should -Be (5 * $GiB)
            # unsetting the default: new volumes have no size
            Set-StoragePool sized -Config @{ 'volume.size' = $null }
            (Add-StorageVolume sized d).Config.ContainsKey('size') | Should -BeFalse
        }

        It 'renames a volume, moving its directory and files' {
            $v = Add-StorageVolume p old
            Set-Content (Join-Path $v.Path 'f.txt') 'payload'
            Rename-StorageVolume p old new
            { Get-StorageVolume p old -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeNotFound,*'
            $n = Get-StorageVolume p new
            $n.Path | Should -Be (Join-Path $pool.Source 'custom/new')
            Get-Content (Join-Path $n.Path 'f.txt') | Should -Be 'payload'
            $v.Path | Should -Not -Exist
            Invoke-DbQuery "select name, state from volumes" | Should -Be 'new|ready'
        }

        It 'renaming to the same name is a no-op' {
            $null = Add-StorageVolume p v1
            $before = Get-StateSnapshot
            Rename-StorageVolume p v1 v1
            Get-StateSnapshot | Should -Be $before
        }

        It 'copies a volume within a pool, files included, and keeps config and description' {
            $v = Add-StorageVolume p src -Size 1GiB -Description 'orig' -WarningAction SilentlyContinue
            $null = New-Item -ItemType Directory (Join-Path $v.Path 'sub')
            Set-Content (Join-Path $v.Path 'sub/f.txt') 'payload'
            Copy-StorageVolume p src dst
            $c = Get-StorageVolume p dst
            Get-Content (Join-Path $c.Path 'sub/f.txt') | Should -Be 'payload'
            $c.Size | Should -Be $GiB
            $c.Description | Should -Be 'orig'
            # the source is untouched, and the copy is independent
            Set-Content (Join-Path $c.Path 'sub/f.txt') 'changed'
            Get-Content (Join-Path $v.Path 'sub/f.txt') | Should -Be 'payload'
            @(Get-ChildItem -Force (Join-Path $pool.Source 'custom') -Filter '.tmp-*').Count | Should -Be 0
        }

        It 'copies a volume to another pool under the same name' {
            $q = New-StoragePool q -Driver dir -Source (Join-Path $t.Ext 'q')
            $v = Add-StorageVolume p v1
            Set-Content (Join-Path $v.Path 'f.txt') 'x'
            Copy-StorageVolume p v1 -TargetPool q
            $c = Get-StorageVolume q v1
            $c.Path | Should -Be (Join-Path $q.Source 'custom/v1')
            Get-Content (Join-Path $c.Path 'f.txt') | Should -Be 'x'
            (Get-StorageVolume p v1).Name | Should -Be 'v1'
        }

        It 'removes a volume and its directory' {
            $v = Add-StorageVolume p v1
            Set-Content (Join-Path $v.Path 'f.txt') 'x'
            Remove-StorageVolume p v1
            $v.Path | Should -Not -Exist
            @(Get-StorageVolume -Pool p).Count | Should -Be 0
            @(Invoke-DbQuery 'select count(*) from volumes') | Should -Be '0'
            # and the name can be used again
            (Add-StorageVolume p v1).Name | Should -Be 'v1'
        }

        It 'the same volume name may exist in two pools' {
            $null = New-StoragePool q -Driver dir
            $null = Add-StorageVolume p same
            $null = Add-StorageVolume q same
            @(Get-StorageVolume '*' same).Count | Should -Be 2
            Remove-StorageVolume q same
            (Get-StorageVolume p same).Name | Should -Be 'same'
        }
    }

    Context '-Property' {
        BeforeEach {
            $null = Add-StorageVolume p v -Size 1GiB -Config @{ 'user.purpose' = 'logs' } -WarningAction SilentlyContinue
        }

        It 'size is a bare [long] of bytes' {
            $s = Get-StorageVolume p v -Property size
            $s | Should -BeOfType ([long])
            $s | Should -Be $GiB
        }

        It 'used is a bare [long] that grows with the files' {
            $u0 = Get-StorageVolume p v -Property used
            $u0 | Should -BeOfType ([long])
            $path = Get-StorageVolume p v -Property path
            [IO.File]::WriteAllBytes((Join-Path $path 'blob'), [byte[]]::new(1MB))
            $u1 = Get-StorageVolume p v -Property Used
            $u1 | Should -BeGreaterOrEqual ($u0 + 1MB)
        }

        It 'a user.* config key is its string' {
            Get-StorageVolume p v -Property 'user.purpose' | Should -Be 'logs'
        }

        It 'size_enforced and created-at are typed' {
            Get-StorageVolume p v -Property size_enforced | Should -BeOfType ([bool])
            Get-StorageVolume p v -Property created-at | Should -BeOfType ([datetime])
        }

        It 'an unknown property is PropertyNotFound' {
            $e = { Get-StorageVolume p v -Property nosuch -ErrorAction Stop } | Should -Throw -ErrorId 'PropertyNotFound,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            # A config key that is not set writes nothing and is no error (lxc storage volume get prints nothing).
            $err = $null
            @(Get-StorageVolume p v -Property 'user.other' -ErrorVariable err) | Should -BeNullOrEmpty
            $err | Should -BeNullOrEmpty
        }
    }

    Context 'pipeline binding' {
        It 'Get-StoragePool p | Get-StorageVolume lists the pool''s volumes' {
            $null = New-StoragePool q -Driver dir
            $null = Add-StorageVolume p v1
            $null = Add-StorageVolume q v2
            (Get-StoragePool p | Get-StorageVolume).Name | Should -Be 'v1'
            (Get-StoragePool | Get-StorageVolume).Name | Should -Be @('v1', 'v2')
        }

        It 'Get-StorageVolume -Pool p | Remove-StorageVolume removes all of that pool''s volumes and nothing else' {
            $null = New-StoragePool q -Driver dir
            foreach ($n in 1..5) { $null = Add-StorageVolume p "v$n" }
            $null = Add-StorageVolume q keep
            Get-StorageVolume -Pool p | Remove-StorageVolume
            @(Get-StorageVolume -Pool p).Count | Should -Be 0
            @(Get-ChildItem -Force (Join-Path $pool.Source 'custom')).Count | Should -Be 0
            (Get-StorageVolume -Pool q).Name | Should -Be 'keep'
        }

        It 'pipes a volume into Set-, Rename- and Copy-StorageVolume' {
            $null = Add-StorageVolume p v1
            Get-StorageVolume p v1 | Set-StorageVolume -Config @{ 'user.k' = 'v' }
            (Get-StorageVolume p v1).Config['user.k'] | Should -Be 'v'
            Get-StorageVolume p v1 | Rename-StorageVolume -NewName v2
            Get-StorageVolume p v2 | Copy-StorageVolume -NewName v3
            (Get-StorageVolume p).Name | Should -Be @('v2', 'v3')
        }
    }

    Context 'output and -PassThru' {
        BeforeEach { $null = Add-StorageVolume p v }

        It 'Set-StorageVolume outputs nothing without -PassThru and the volume with it' {
            Set-StorageVolume p v -Description a | Should -BeNullOrEmpty
            $o = Set-StorageVolume p v -Description b -PassThru
            $o | Should -BeOfType ([ContainerPS.StorageVolume])
            $o.Description | Should -Be 'b'
        }

        It 'Rename-StorageVolume outputs nothing without -PassThru and the renamed volume with it' {
            Rename-StorageVolume p v w | Should -BeNullOrEmpty
            $o = Rename-StorageVolume p w x -PassThru
            $o | Should -BeOfType ([ContainerPS.StorageVolume])
            $o.Name | Should -Be 'x'
        }

        It 'Copy-StorageVolume outputs nothing without -PassThru and the copy with it' {
            Copy-StorageVolume p v c1 | Should -BeNullOrEmpty
            $o = Copy-StorageVolume p v c2 -PassThru
            $o | Should -BeOfType ([ContainerPS.StorageVolume])
            $o.Name | Should -Be 'c2'
            $o.Pool | Should -Be 'p'
        }

        It 'Remove-StorageVolume outputs nothing' {
            Remove-StorageVolume p v | Should -BeNullOrEmpty
        }
    }

    Context '-WhatIf changes nothing' {
        BeforeEach {
            $null = New-StoragePool q -Driver dir
            $v = Add-StorageVolume p v
            Set-Content (Join-Path $v.Path 'f.txt') 'x'
            $before = Get-StateSnapshot
        }

        It '<Command> -WhatIf' -ForEach @(
            @{ Command = 'Add-StorageVolume'; Action = { Add-StorageVolume p new -Size 1GiB -WhatIf } }
            @{ Command = 'Set-StorageVolume'; Action = { Set-StorageVolume p v -Config @{ size = '1GiB' } -Description d -PassThru -WhatIf } }
            @{ Command = 'Rename-StorageVolume'; Action = { Rename-StorageVolume p v w -PassThru -WhatIf } }
            @{ Command = 'Copy-StorageVolume'; Action = { Copy-StorageVolume p v w -PassThru -WhatIf } }
            @{ Command = 'Copy-StorageVolume -TargetPool'; Action = { Copy-StorageVolume p v -TargetPool q -WhatIf } }
            @{ Command = 'Remove-StorageVolume'; Action = { Remove-StorageVolume p v -WhatIf } }
            @{ Command = 'Remove-StorageVolume (pipeline)'; Action = { Get-StorageVolume -Pool p | Remove-StorageVolume -WhatIf } }
        ) {
            & $Action | Should -BeNullOrEmpty
            Get-StateSnapshot | Should -Be $before
        }
    }

    Context 'rejected input leaves no trace' {
        BeforeEach {
            $null = New-StoragePool q -Driver dir
            $v = Add-StorageVolume p v -Config @{ 'user.keep' = 'yes' }
            $null = Add-StorageVolume p other
            Set-Content (Join-Path $v.Path 'f.txt') 'x'
            $before = Get-StateSnapshot
        }

        It 'rejects volume name <Show> in Add-, Rename- and Copy-StorageVolume with InvalidName' -ForEach @(
            @{ Name = 'a/b'; Show = 'a/b' }
            @{ Name = '..'; Show = '..' }
            @{ Name = 'a..b'; Show = 'a..b' }
            @{ Name = '-x'; Show = '-x' }
            @{ Name = '.tmp-v'; Show = '.tmp-v' }
            @{ Name = "a`tb"; Show = 'a<TAB>b' }
            @{ Name = "a`nb"; Show = 'a<LF>b' }
            @{ Name = ('v' * 64); Show = '64 characters' }
        ) {
            $e = { Add-StorageVolume p $Name -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidName,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $e.Exception.Message | Should -Not -Match '[\x00-\x1f]'
            { Rename-StorageVolume p v $Name -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidName,*'
            { Copy-StorageVolume p v $Name -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidName,*'
            { Copy-StorageVolume p v $Name -TargetPool q -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidName,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'accepts a 63-character volume name' {
            $n = 'v' * 63
            (Add-StorageVolume p $n).Name | Should -Be $n
            Join-Path $pool.Source "custom/$n" | Should -Exist
        }

        It 'rejects a duplicate volume with VolumeExists' {
            $e = { Add-StorageVolume p v -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeExists,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'ResourceExists'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects renaming onto an existing volume with VolumeExists' {
            { Rename-StorageVolume p v other -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeExists,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects copying onto an existing volume with VolumeExists' {
            { Copy-StorageVolume p v other -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeExists,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects copying a volume onto itself with VolumeExists' {
            { Copy-StorageVolume p v -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeExists,*'
            { Copy-StorageVolume p v v -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeExists,*'
            { Copy-StorageVolume p v -TargetPool p -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeExists,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects a stray directory in the way of a new volume with VolumeExists and leaves the directory alone' {
            $stray = Join-Path $pool.Source 'custom/stray'
            $null = New-Item -ItemType Directory $stray
            Set-Content (Join-Path $stray 'mine.txt') 'not yours'
            $before = Get-StateSnapshot
            { Add-StorageVolume p stray -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeExists,*'
            Get-StateSnapshot | Should -Be $before
            Get-Content (Join-Path $stray 'mine.txt') | Should -Be 'not yours'
        }

        It 'Add-StorageVolume rejects config <Key>=<Value> with <Id>' -ForEach @(
            @{ Key = 'nosuch'; Value = 'x'; Id = 'InvalidConfigKey' }
            @{ Key = 'zfs.blocksize'; Value = '16KiB'; Id = 'InvalidConfigKey' }
            @{ Key = 'btrfs.mount_options'; Value = 'compress=zstd'; Id = 'InvalidConfigKey' }
            @{ Key = 'source'; Value = '/tmp/x'; Id = 'InvalidConfigKey' }
            @{ Key = 'size'; Value = '12XB'; Id = 'InvalidConfigValue' }
            @{ Key = 'size'; Value = '-1'; Id = 'InvalidConfigValue' }
            @{ Key = 'size'; Value = '0'; Id = 'InvalidConfigValue' }
            @{ Key = 'size'; Value = 'lots'; Id = 'InvalidConfigValue' }
            @{ Key = 'volatile.idmap'; Value = 'x'; Id = 'ConfigKeyReadOnly' }
        ) {
            $e = { Add-StorageVolume p new -Config @{ $Key = $Value } -ErrorAction Stop } | Should -Throw -ErrorId "$Id,*" -PassThru
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            Get-StateSnapshot | Should -Be $before
        }

        It 'Add-StorageVolume -Size <Size> is InvalidConfigValue' -ForEach @(
            @{ Size = '12XB' }
            @{ Size = '-1' }
            @{ Size = '1,5GiB' }
        ) {
            { Add-StorageVolume p new -Size $Size -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidConfigValue,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'Set-StorageVolume rejects config <Key>=<Value> with <Id>' -ForEach @(
            @{ Key = 'nosuch'; Value = 'x'; Id = 'InvalidConfigKey' }
            @{ Key = 'zfs.pool_name'; Value = 'tank'; Id = 'InvalidConfigKey' }
            @{ Key = 'size'; Value = '12XB'; Id = 'InvalidConfigValue' }
            @{ Key = 'size'; Value = '-1'; Id = 'InvalidConfigValue' }
            @{ Key = 'volatile.x'; Value = '1'; Id = 'ConfigKeyReadOnly' }
        ) {
            { Set-StorageVolume p v -Config @{ $Key = $Value } -Description changed -ErrorAction Stop } | Should -Throw -ErrorId "$Id,*"
            Get-StateSnapshot | Should -Be $before
        }

        It '<Command> on a missing pool gives PoolNotFound' -ForEach @(
            @{ Command = 'Add-StorageVolume'; Action = { Add-StorageVolume nope v -ErrorAction Stop } }
            @{ Command = 'Get-StorageVolume'; Action = { Get-StorageVolume nope -ErrorAction Stop } }
            @{ Command = 'Get-StorageVolume -Name'; Action = { Get-StorageVolume nope v -ErrorAction Stop } }
            @{ Command = 'Set-StorageVolume'; Action = { Set-StorageVolume nope v -Description d -ErrorAction Stop } }
            @{ Command = 'Rename-StorageVolume'; Action = { Rename-StorageVolume nope v w -ErrorAction Stop } }
            @{ Command = 'Copy-StorageVolume'; Action = { Copy-StorageVolume nope v w -ErrorAction Stop } }
            @{ Command = 'Copy-StorageVolume -TargetPool'; Action = { Copy-StorageVolume p v -TargetPool nope -ErrorAction Stop } }
            @{ Command = 'Remove-StorageVolume'; Action = { Remove-StorageVolume nope v -ErrorAction Stop } }
        ) {
            $e = $Action | Should -Throw -ErrorId 'PoolNotFound,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            Get-StateSnapshot | Should -Be $before
        }

        It '<Command> on a missing volume gives VolumeNotFound' -ForEach @(
            @{ Command = 'Get-StorageVolume'; Action = { Get-StorageVolume p nope -ErrorAction Stop } }
            @{ Command = 'Set-StorageVolume'; Action = { Set-StorageVolume p nope -Description d -ErrorAction Stop } }
            @{ Command = 'Rename-StorageVolume'; Action = { Rename-StorageVolume p nope w -ErrorAction Stop } }
            @{ Command = 'Copy-StorageVolume'; Action = { Copy-StorageVolume p nope w -ErrorAction Stop } }
            @{ Command = 'Remove-StorageVolume'; Action = { Remove-StorageVolume p nope -ErrorAction Stop } }
        ) {
            $e = $Action | Should -Throw -ErrorId 'VolumeNotFound,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            Get-StateSnapshot | Should -Be $before
        }

        It 'Get-StorageVolume writes VolumeNotFound for a missing literal name but still returns the others' {
            $r = @(Get-StorageVolume p v, nope -ErrorVariable e -ErrorAction SilentlyContinue)
            $r.Name | Should -Be 'v'
            $e.Count | Should -Be 1
            $e[0].FullyQualifiedErrorId | Should -BeLike 'VolumeNotFound,*'
        }
    }
}
