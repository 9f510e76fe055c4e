#Requires -Version 7.4
# Storage pools through the real cmdlets: create/list/get/set/remove, -Property, pipelines,
# -WhatIf, and every rejected input leaving no trace on disk or in the state database.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
}

Describe 'Storage pools' {
    BeforeEach { $t = New-TestRoot }
    AfterEach { Remove-TestRoot }

    Context 'create, list, get, set, remove' {
        It 'creates a dir pool in the default place and returns it' {
            $p = New-StoragePool p1 -Driver dir -Description 'first pool'
            $p | Should -BeOfType ([ContainerPS.StoragePool])
            $p.Name | Should -Be 'p1'
            $p.Driver | Should -Be 'dir'
            $p.Description | Should -Be 'first pool'
            $p.Source | Should -Be (Join-Path $t.Root 'storage-pools/p1')
            $p.Config['source'] | Should -Be $p.Source
            $p.Status | Should -Be 'Created'
            $p.UsedBy.Count | Should -Be 0
            $p.CreatedAt | Should -BeOfType ([datetime])
            foreach ($d in 'custom', 'containers', 'images') {
                Join-Path $p.Source $d | Should -Exist
            }
            Invoke-DbQuery "select name, driver, state from pools" | Should -Be 'p1|dir|ready'
        }

        It 'lists pools sorted by name and gets one by name' {
            $null = New-StoragePool zeta -Driver dir
            $null = New-StoragePool alpha -Driver dir
            (Get-StoragePool).Name | Should -Be @('alpha', 'zeta')
            $a = Get-StoragePool alpha
            $a.Name | Should -Be 'alpha'
            @(Get-StoragePool alpha).Count | Should -Be 1
        }

        It 'returns nothing and no error when there are no pools' {
            @(Get-StoragePool -ErrorVariable e).Count | Should -Be 0
            $e.Count | Should -Be 0
        }

        It 'supports wildcards in Get-StoragePool (case-insensitive, no error when nothing matches)' {
            foreach ($n in 'web1', 'web2', 'db1') { $null = New-StoragePool $n -Driver dir }
            (Get-StoragePool 'web*').Name | Should -Be @('web1', 'web2')
            (Get-StoragePool 'WEB?').Name | Should -Be @('web1', 'web2')
            (Get-StoragePool '*1').Name | Should -Be @('db1', 'web1')
            (Get-StoragePool 'web*', 'db1', 'web1').Name | Should -Be @('web1', 'web2', 'db1')
            @(Get-StoragePool 'nomatch*' -ErrorVariable e).Count | Should -Be 0
            $e.Count | Should -Be 0
        }

        It 'writes PoolNotFound for a literal name that matches nothing, and still returns the others' {
            $null = New-StoragePool p1 -Driver dir
            $r = @(Get-StoragePool p1, nope -ErrorVariable e -ErrorAction SilentlyContinue)
            $r.Name | Should -Be 'p1'
            $e.Count | Should -Be 1
            $e[0].FullyQualifiedErrorId | Should -BeLike 'PoolNotFound,*'
            $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $e[0].TargetObject | Should -Be 'nope'
        }

        It 'sets description and config with Set-StoragePool' {
            $null = New-StoragePool p1 -Driver dir
            Set-StoragePool p1 -Description 'new text' -Config @{ 'user.owner' = 'ops'; 'volume.size' = '2GiB' }
            $p = Get-StoragePool p1
            $p.Description | Should -Be 'new text'
            $p.Config['user.owner'] | Should -Be 'ops'
            $p.Config['volume.size'] | Should -Be '2GiB'
            # Config is sorted by key
            @($p.Config.Keys) | Should -Be @('source', 'user.owner', 'volume.size')
        }

        It 'keeps the description when Set-StoragePool gives only -Config' {
            $null = New-StoragePool p1 -Driver dir -Description 'keep me'
            Set-StoragePool p1 -Config @{ 'user.a' = 'b' }
            (Get-StoragePool p1).Description | Should -Be 'keep me'
        }

        It 'unsets a key given as $null in -Config' {
            $null = New-StoragePool p1 -Driver dir -Config @{ 'user.a' = '1'; 'user.b' = '2' }
            Set-StoragePool p1 -Config @{ 'user.a' = $null }
            $p = Get-StoragePool p1
            $p.Config.ContainsKey('user.a') | Should -BeFalse
            $p.Config['user.b'] | Should -Be '2'
        }

        It 'stores non-string config values as invariant strings' {
            $null = New-StoragePool p1 -Driver dir -Config @{ 'user.n' = 42; 'user.flag' = $true }
            (Get-StoragePool p1 -Property 'user.n') | Should -Be '42'
            (Get-StoragePool p1 -Property 'user.flag') | Should -Be 'true'
        }

        It 'removes an empty pool and its directory' {
            $p = New-StoragePool p1 -Driver dir
            $out = Remove-StoragePool p1 -Confirm:$false
            $out | Should -BeNullOrEmpty
            $p.Source | Should -Not -Exist
            @(Get-StoragePool).Count | Should -Be 0
            @(Invoke-DbQuery 'select count(*) from pools') | Should -Be '0'
        }

        It 'removes several pools given by name' {
            foreach ($n in 'a1', 'a2', 'b1') { $null = New-StoragePool $n -Driver dir }
            Remove-StoragePool a1, a2 -Confirm:$false
            (Get-StoragePool).Name | Should -Be 'b1'
        }

        It 'removes a pool with volumes with -Force, volumes and directories included' {
            $p = New-StoragePool p1 -Driver dir
            $null = Add-StorageVolume p1 v1
            $null = Add-StorageVolume p1 v2
            Set-Content (Join-Path $p.Source 'custom/v1/data.txt') 'hello'
            Remove-StoragePool p1 -Force -Confirm:$false
            @(Get-StoragePool).Count | Should -Be 0
            $p.Source | Should -Not -Exist
            @(Invoke-DbQuery 'select count(*) from volumes') | Should -Be '0'
        }

        It 'can recreate a pool with the same name after removal' {
            $null = New-StoragePool p1 -Driver dir
            Remove-StoragePool p1 -Confirm:$false
            $p = New-StoragePool p1 -Driver dir
            $p.Name | Should -Be 'p1'
            Join-Path $p.Source 'custom' | Should -Exist
        }

        It 'shows what uses a pool in UsedBy' {
            $null = New-StoragePool p1 -Driver dir
            $null = Add-StorageVolume p1 v1
            $null = Add-StorageVolume p1 v2
            (Get-StoragePool p1).UsedBy | Should -Be @('custom/v1', 'custom/v2')
        }
    }

    Context '-Property' {
        BeforeEach { $null = New-StoragePool p1 -Driver dir -Config @{ 'user.team' = 'storage' } }

        It 'returns the source as a bare string' {
            $v = Get-StoragePool p1 -Property source
            $v | Should -BeOfType ([string])
            $v | Should -Be (Join-Path $t.Root 'storage-pools/p1')
        }

        It 'returns used and size as [long] bytes' {
            $used = Get-StoragePool p1 -Property used
            $used | Should -BeOfType ([long])
            $used | Should -BeGreaterThan 0
            $size = Get-StoragePool p1 -Property Size
            $size | Should -BeOfType ([long])
            $size | Should -BeGreaterOrEqual $used
        }

        It 'accepts property names in any case and with _ or -' {
            Get-StoragePool p1 -Property created_at | Should -BeOfType ([datetime])
            Get-StoragePool p1 -Property CREATED-AT | Should -BeOfType ([datetime])
            Get-StoragePool p1 -Property driver | Should -Be 'dir'
        }

        It 'returns a user.* config key as its string' {
            Get-StoragePool p1 -Property 'user.team' | Should -Be 'storage'
        }

        It 'gives PropertyNotFound for an unknown property' {
            $e = { Get-StoragePool p1 -Property nosuch -ErrorAction Stop } | Should -Throw -ErrorId 'PropertyNotFound,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }

        It 'returns one value per pool for a wildcard' {
            $null = New-StoragePool p2 -Driver dir
            @(Get-StoragePool 'p*' -Property name) | Should -Be @('p1', 'p2')
        }
    }

    Context 'pipeline binding' {
        It 'Get-StoragePool p | Get-StorageVolume lists that pool''s volumes only' {
            $null = New-StoragePool p -Driver dir
            $null = New-StoragePool q -Driver dir
            $null = Add-StorageVolume p v1
            $null = Add-StorageVolume p v2
            $null = Add-StorageVolume q other
            $vols = @(Get-StoragePool p | Get-StorageVolume)
            $vols.Name | Should -Be @('v1', 'v2')
            $vols.Pool | Sort-Object -Unique | Should -Be 'p'
        }

        It 'Get-StoragePool p | Remove-StoragePool -Force removes it and only it' {
            $p = New-StoragePool p -Driver dir
            $null = New-StoragePool q -Driver dir
            $null = Add-StorageVolume p v1
            Get-StoragePool p | Remove-StoragePool -Force -Confirm:$false
            (Get-StoragePool).Name | Should -Be 'q'
            $p.Source | Should -Not -Exist
        }

        It 'removes every pool matched by a wildcard through the pipeline' {
            foreach ($n in 'tmp1', 'tmp2', 'keep') { $null = New-StoragePool $n -Driver dir }
            Get-StoragePool 'tmp*' | Remove-StoragePool -Confirm:$false
            (Get-StoragePool).Name | Should -Be 'keep'
        }
    }

    Context 'output and -PassThru' {
        It 'Set-StoragePool outputs nothing without -PassThru and the pool with it' {
            $null = New-StoragePool p1 -Driver dir
            $out = Set-StoragePool p1 -Description x
            $out | Should -BeNullOrEmpty
            $out = Set-StoragePool p1 -Description y -PassThru
            $out | Should -BeOfType ([ContainerPS.StoragePool])
            $out.Description | Should -Be 'y'
        }

        It 'Remove-StoragePool outputs nothing' {
            $null = New-StoragePool p1 -Driver dir
            $out = Remove-StoragePool p1 -Confirm:$false
            $out | Should -BeNullOrEmpty
        }
    }

    Context '-WhatIf changes nothing' {
        BeforeEach {
            $null = New-StoragePool p -Driver dir
            $null = Add-StorageVolume p v
            $before = Get-StateSnapshot
        }

        It 'New-StoragePool -WhatIf in a fresh state root creates nothing at all' {
            Remove-TestRoot
            $t = New-TestRoot
            New-StoragePool q -Driver dir -WhatIf | Should -BeNullOrEmpty
            Get-ChildItem -Force $t.Root | Should -BeNullOrEmpty
        }

        It 'New-StoragePool -WhatIf (default source)' {
            New-StoragePool q -Driver dir -WhatIf | Should -BeNullOrEmpty
            Get-StateSnapshot | Should -Be $before
            (Get-StoragePool).Name | Should -Be 'p'
        }

        It 'New-StoragePool -WhatIf (new -Source directory)' {
            New-StoragePool q -Driver dir -Source (Join-Path $t.Ext 'q') -WhatIf | Should -BeNullOrEmpty
            Get-StateSnapshot | Should -Be $before
            Join-Path $t.Ext 'q' | Should -Not -Exist
        }

        It 'Set-StoragePool -WhatIf' {
            Set-StoragePool p -Config @{ 'user.x' = 'y' } -Description changed -PassThru -WhatIf | Should -BeNullOrEmpty
            Get-StateSnapshot | Should -Be $before
            (Get-StoragePool p).Description | Should -Be ''
        }

        It 'Remove-StoragePool -Force -WhatIf' {
            Remove-StoragePool p -Force -WhatIf
            Get-StateSnapshot | Should -Be $before
            (Get-StoragePool p).UsedBy | Should -Be 'custom/v'
        }
    }

    Context 'rejected names leave no trace' {
        BeforeEach {
            $null = New-StoragePool existing -Driver dir
            $before = Get-StateSnapshot
        }

        It 'rejects pool name <Show> with InvalidName' -ForEach @(
            @{ Name = 'a/b'; Show = 'a/b' }
            @{ Name = '..'; Show = '..' }
            @{ Name = '.'; Show = '.' }
            @{ Name = 'a..b'; Show = 'a..b' }
            @{ Name = '-x'; Show = '-x' }
            @{ Name = '.hidden'; Show = '.hidden' }
            @{ Name = "a`tb"; Show = 'a<TAB>b' }
            @{ Name = "a`nb"; Show = 'a<LF>b' }
            @{ Name = 'a b'; Show = 'a<SPACE>b' }
            @{ Name = ('a' * 64); Show = '64 characters' }
        ) {
            $e = { New-StoragePool $Name -Driver dir -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidName,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            # the message never carries control characters raw
            $e.Exception.Message | Should -Not -Match '[\x00-\x1f]'
            Get-StateSnapshot | Should -Be $before
        }

        It 'accepts a 63-character name' {
            $n = 'a' * 63
            (New-StoragePool $n -Driver dir).Name | Should -Be $n
            Remove-StoragePool $n -Confirm:$false
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects a duplicate pool name with PoolExists and leaves the first pool alone' {
            $e = { New-StoragePool existing -Driver dir -ErrorAction Stop } | Should -Throw -ErrorId 'PoolExists,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'ResourceExists'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects a duplicate pool name even with a different -Source' {
            { New-StoragePool existing -Driver dir -Source (Join-Path $t.Ext 'other') -ErrorAction Stop } | Should -Throw -ErrorId 'PoolExists,*'
            Get-StateSnapshot | Should -Be $before
        }
    }

    Context 'rejected drivers and sources leave no trace' {
        BeforeEach {
            $null = New-StoragePool existing -Driver dir
            $before = Get-StateSnapshot
        }

        It 'rejects an unknown driver with UnknownDriver' {
            $e = { New-StoragePool p -Driver nosuch -ErrorAction Stop } | Should -Throw -ErrorId 'UnknownDriver,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects -Driver lvm with DriverNotSupported' {
            $e = { New-StoragePool p -Driver lvm -ErrorAction Stop } | Should -Throw -ErrorId 'DriverNotSupported,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'NotImplemented'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects a -Source that is a file with InvalidSource' {
            $file = Join-Path $t.Ext 'afile'
            Set-Content -LiteralPath $file 'x'
            $before = Get-StateSnapshot
            $e = { New-StoragePool p -Driver dir -Source $file -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSource,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            Get-StateSnapshot | Should -Be $before
            Get-Content -LiteralPath $file | Should -Be 'x'
        }

        It 'rejects a -Source inside the state root with SourceInsideRoot' {
            { New-StoragePool p -Driver dir -Source (Join-Path $t.Root 'mypool') -ErrorAction Stop } | Should -Throw -ErrorId 'SourceInsideRoot,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects the state root itself as -Source with SourceInsideRoot' {
            { New-StoragePool p -Driver dir -Source $t.Root -ErrorAction Stop } | Should -Throw -ErrorId 'SourceInsideRoot,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects a -Source reaching into the state root through a symlink with SourceInsideRoot' {
            $link = Join-Path $t.Ext 'link'
            $null = New-Item -ItemType SymbolicLink -Path $link -Target $t.Root
            $before = Get-StateSnapshot
            { New-StoragePool p -Driver dir -Source (Join-Path $link 'pool') -ErrorAction Stop } | Should -Throw -ErrorId 'SourceInsideRoot,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects a non-empty foreign directory with SourceNotEmpty and leaves its files alone' {
            $dir = Join-Path $t.Ext 'full'
            $null = New-Item -ItemType Directory $dir
            Set-Content (Join-Path $dir 'precious.txt') 'keep'
            $before = Get-StateSnapshot
            { New-StoragePool p -Driver dir -Source $dir -ErrorAction Stop } | Should -Throw -ErrorId 'SourceNotEmpty,*'
            Get-StateSnapshot | Should -Be $before
            Get-Content (Join-Path $dir 'precious.txt') | Should -Be 'keep'
        }

        It 'rejects a relative -Source with InvalidSource' {
            { New-StoragePool p -Driver dir -Source 'relative/dir' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSource,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects a -Source whose parent does not exist with InvalidSource' {
            { New-StoragePool p -Driver dir -Source (Join-Path $t.Ext 'missing/child') -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSource,*'
            Get-StateSnapshot | Should -Be $before
            Join-Path $t.Ext 'missing' | Should -Not -Exist
        }

        It 'rejects a -Source with a control character with InvalidSource' {
            { New-StoragePool p -Driver dir -Source (Join-Path $t.Ext "a`nb") -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSource,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects a -Source already used by another pool' {
            $src = Join-Path $t.Ext 'shared'
            $null = New-StoragePool first -Driver dir -Source $src
            $before = Get-StateSnapshot
            $e = { New-StoragePool second -Driver dir -Source $src -ErrorAction Stop } | Should -Throw -PassThru
            (Get-ErrorId $e) | Should -BeIn @('SourceInUse', 'SourceNotEmpty')
            Get-StateSnapshot | Should -Be $before
            (Get-StoragePool).Name | Should -Be @('existing', 'first')
        }

        It 'rejects another pool''s default source given as -Source' {
            $src = (Get-StoragePool existing).Source
            $e = { New-StoragePool second -Driver dir -Source $src -ErrorAction Stop } | Should -Throw -PassThru
            (Get-ErrorId $e) | Should -BeIn @('SourceInUse', 'SourceNotEmpty', 'SourceInsideRoot')
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects a -Source inside another pool''s source (removing that pool would wipe this one)' {
            $null = New-StoragePool outer -Driver dir -Source (Join-Path $t.Ext 'outer')
            $before = Get-StateSnapshot
            foreach ($inner in 'outer/custom/inner', 'outer/inner') {
                $e = { New-StoragePool inner -Driver dir -Source (Join-Path $t.Ext $inner) -ErrorAction Stop } | Should -Throw -PassThru
                (Get-ErrorId $e) | Should -BeIn @('SourceInUse', 'InvalidSource')
                Get-StateSnapshot | Should -Be $before
            }
        }

        It 'rejects a non-empty leftover at the default location with SourceNotEmpty' {
            $left = Join-Path $t.Root 'storage-pools/p'
            $null = New-Item -ItemType Directory $left
            Set-Content (Join-Path $left 'old.txt') 'left over'
            $before = Get-StateSnapshot
            { New-StoragePool p -Driver dir -ErrorAction Stop } | Should -Throw -ErrorId 'SourceNotEmpty,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'rejects -Source and config source that disagree with InvalidSource' {
            { New-StoragePool p -Driver dir -Source (Join-Path $t.Ext 'a') -Config @{ source = (Join-Path $t.Ext 'b') } -ErrorAction Stop } |
                Should -Throw -ErrorId 'InvalidSource,*'
            Get-StateSnapshot | Should -Be $before
        }
    }

    Context 'rejected config leaves no trace' {
        BeforeEach {
            $null = New-StoragePool existing -Driver dir -Config @{ 'user.keep' = 'yes' }
            $before = Get-StateSnapshot
        }

        It 'New-StoragePool rejects config <Key>=<Value> with <Id>' -ForEach @(
            @{ Key = 'nosuch'; Value = 'x'; Id = 'InvalidConfigKey' }
            @{ Key = 'zfs.pool_name'; Value = 'tank'; Id = 'InvalidConfigKey' }
            @{ Key = 'btrfs.mount_options'; Value = 'compress=zstd'; Id = 'InvalidConfigKey' }
            @{ Key = 'lvm.vg_name'; Value = 'vg0'; Id = 'InvalidConfigKey' }
            @{ Key = 'volume.nosuch'; Value = 'x'; Id = 'InvalidConfigKey' }
            @{ Key = 'volume.zfs.remove_snapshots'; Value = 'true'; Id = 'InvalidConfigKey' }
            @{ Key = 'volume.size'; Value = '12XB'; Id = 'InvalidConfigValue' }
            @{ Key = 'volume.size'; Value = '-1'; Id = 'InvalidConfigValue' }
            @{ Key = 'volume.size'; Value = '0'; Id = 'InvalidConfigValue' }
            @{ Key = 'volume.size'; Value = '1.5GiB'; Id = 'InvalidConfigValue' }
            @{ Key = 'volatile.initial_source'; Value = 'x'; Id = 'ConfigKeyReadOnly' }
            @{ Key = 'user.'; Value = 'x'; Id = 'InvalidConfigKey' }
        ) {
            $e = { New-StoragePool p -Driver dir -Config @{ $Key = $Value } -ErrorAction Stop } | Should -Throw -ErrorId "$Id,*" -PassThru
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            Get-StateSnapshot | Should -Be $before
        }

        It 'Set-StoragePool rejects config <Key>=<Value> with <Id>' -ForEach @(
            @{ Key = 'nosuch'; Value = 'x'; Id = 'InvalidConfigKey' }
            @{ Key = 'zfs.pool_name'; Value = 'tank'; Id = 'InvalidConfigKey' }
            @{ Key = 'btrfs.mount_options'; Value = 'compress=zstd'; Id = 'InvalidConfigKey' }
            @{ Key = 'volume.size'; Value = '12XB'; Id = 'InvalidConfigValue' }
            @{ Key = 'volume.size'; Value = '-1'; Id = 'InvalidConfigValue' }
            @{ Key = 'volatile.x'; Value = '1'; Id = 'ConfigKeyReadOnly' }
            @{ Key = 'source'; Value = '/tmp/elsewhere'; Id = 'ConfigKeyReadOnly' }
        ) {
            { Set-StoragePool existing -Config @{ $Key = $Value } -ErrorAction Stop } | Should -Throw -ErrorId "$Id,*"
            Get-StateSnapshot | Should -Be $before
        }

        It 'Set-StoragePool rejects unsetting source with ConfigKeyReadOnly' {
            { Set-StoragePool existing -Config @{ source = $null } -ErrorAction Stop } | Should -Throw -ErrorId 'ConfigKeyReadOnly,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'a rejected key in a Set-StoragePool batch applies none of the batch' {
            { Set-StoragePool existing -Config @{ 'user.new' = 'x'; 'nosuch' = 'y' } -Description changed -ErrorAction Stop } |
                Should -Throw -ErrorId 'InvalidConfigKey,*'
            Get-StateSnapshot | Should -Be $before
        }

        It 'accepts a valid volume.size default' {
            $p = New-StoragePool p -Driver dir -Config @{ 'volume.size' = '10GiB' }
            $p.Config['volume.size'] | Should -Be '10GiB'
        }
    }

    Context 'missing pools' {
        BeforeEach {
            $null = New-StoragePool existing -Driver dir
            $before = Get-StateSnapshot
        }

        It '<Command> on a missing pool gives PoolNotFound' -ForEach @(
            @{ Command = 'Get-StoragePool'; Action = { Get-StoragePool nope -ErrorAction Stop } }
            @{ Command = 'Set-StoragePool'; Action = { Set-StoragePool nope -Config @{ 'user.a' = 'b' } -ErrorAction Stop } }
            @{ Command = 'Remove-StoragePool'; Action = { Remove-StoragePool nope -Confirm:$false -ErrorAction Stop } }
            @{ Command = 'Remove-StoragePool -Force'; Action = { Remove-StoragePool nope -Force -Confirm:$false -ErrorAction Stop } }
        ) {
            $e = $Action | Should -Throw -ErrorId 'PoolNotFound,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            Get-StateSnapshot | Should -Be $before
        }
    }

    Context 'removal of a pool in use' {
        It 'refuses without -Force with PoolInUse and removes nothing' {
            $null = New-StoragePool p -Driver dir
            $v = Add-StorageVolume p v1
            Set-Content (Join-Path $v.Path 'data.txt') 'keep'
            $before = Get-StateSnapshot
            $e = { Remove-StoragePool p -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'PoolInUse,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'ResourceBusy'
            $e.Exception.Message | Should -BeLike '*custom/v1*'
            Get-StateSnapshot | Should -Be $before
            (Get-StorageVolume p v1).Name | Should -Be 'v1'
        }
    }

    Context 'sources given with -Source' {
        It 'a pool in an existing empty directory: removal keeps the directory but removes what ContainerPS created' {
            $src = Join-Path $t.Ext 'mine'
            $null = New-Item -ItemType Directory $src
            $p = New-StoragePool p -Driver dir -Source $src
            $p.Source | Should -Be $src
            $null = Add-StorageVolume p v1
            Join-Path $src 'custom/v1' | Should -Exist
            Remove-StoragePool p -Force -Confirm:$false
            $src | Should -Exist
            @(Get-ChildItem -Force -LiteralPath $src).Count | Should -Be 0
            @(Get-StoragePool).Count | Should -Be 0
        }

        It 'a pool whose -Source did not exist: removal removes the directory' {
            $src = Join-Path $t.Ext 'created-by-pool'
            $p = New-StoragePool p -Driver dir -Source $src
            $src | Should -Exist
            Join-Path $src 'custom' | Should -Exist
            $null = Add-StorageVolume p v1
            Remove-StoragePool p -Force -Confirm:$false
            $src | Should -Not -Exist
            Get-ChildItem -Force -LiteralPath $t.Ext | Should -BeNullOrEmpty
        }

        It 'removing a pool whose directory holds a foreign file neither fails with a raw exception nor leaves the pool stuck' {
            $p = New-StoragePool own -Driver dir
            Set-Content (Join-Path $p.Source 'readme.txt') 'not created by ContainerPS'
            $err = $null
            try { Remove-StoragePool own -Confirm:$false -ErrorAction Stop } catch { $err = $_ }
            if ($err) {
                $err.FullyQualifiedErrorId | Should -Not -BeLike 'System.*' -Because 'errors carry a stable ContainerPS error ID'
                (Get-StoragePool own).Status | Should -Be 'Created' -Because 'a refused removal must leave the pool as it was'
                (Add-StorageVolume own v).Name | Should -Be 'v'
            } else {
                @(Get-StoragePool).Name | Should -Not -Contain 'own'
            }
            # a new process is not blocked by what happened
            $r = Wait-ChildPwsh (Start-ChildPwsh -Script '$null = Get-StoragePool; "ok"')
            $r.Stderr | Should -BeNullOrEmpty
            $r.ExitCode | Should -Be 0
        }

        It 'canonicalises a -Source given through a symlink' {
            $real = Join-Path $t.Ext 'real'
            $null = New-Item -ItemType Directory $real
            $link = Join-Path $t.Ext 'alias'
            $null = New-Item -ItemType SymbolicLink -Path $link -Target $real
            $p = New-StoragePool p -Driver dir -Source (Join-Path $link 'pool')
            $p.Source | Should -Be (Join-Path $real 'pool')
            Join-Path $real 'pool/custom' | Should -Exist
        }

        It 'accepts the source as config key source' {
            $src = Join-Path $t.Ext 'viaconfig'
            $p = New-StoragePool p -Driver dir -Config @{ source = $src }
            $p.Source | Should -Be $src
            Join-Path $src 'custom' | Should -Exist
        }
    }
}
