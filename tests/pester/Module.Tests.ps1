#Requires -Version 7.4
# The module in a pwsh session: the engine and the libraries it uses load into the module's own
# load context, so another module's versions of them cannot clash with ContainerPS; the contract
# (the objects cmdlets emit, errors) stays in the default context, where scripts name its types;
# Remove-Module takes the module's resolving handler away, and Import-Module again works.
# Each case runs in a fresh child pwsh (a load context lives as long as its process).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:t = New-TestRoot
    $env:CONTAINERPS_ROOT = $t.Root
    # Prints, for each name, where its assembly is loaded: "NAME VERSION CONTEXT" (nothing when not loaded).
    $script:Where = @'
function Where-Loaded([string[]] $Names) {
    foreach ($a in [AppDomain]::CurrentDomain.GetAssemblies()) {
        $n = $a.GetName()
        if ($n.Name -in $Names) { "$($n.Name) $($n.Version) $([System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($a).Name)" }
    }
}
function Get-ResolvingHandlers {
    $field = [System.Runtime.Loader.AssemblyLoadContext].GetField('_resolving', [Reflection.BindingFlags]'NonPublic,Instance')
    $handlers = $field.GetValue([System.Runtime.Loader.AssemblyLoadContext]::Default)
    if ($handlers) { $handlers.GetInvocationList() | ForEach-Object { $_.Method.DeclaringType.FullName + '.' + $_.Method.Name } }
}
'@
    # Runs a script in a fresh child pwsh (with the helpers above) and returns its output lines; it must succeed.
    function Invoke-Child([string] $Script, [switch] $NoImport) {
        $r = Wait-ChildPwsh (Start-ChildPwsh -NoImport:$NoImport -Script ($Where + $Script)) -TimeoutSeconds 120
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
        @($r.Stdout -split "`n" | ForEach-Object Trim | Where-Object { $_ })
    }
}

AfterAll {
    Stop-ChildPwsh
    Remove-TestRoot $t
    Remove-Item Env:CONTAINERPS_ROOT -ErrorAction SilentlyContinue
}

Describe 'the module and its load context' {
    It 'loads the engine, SQLite and CliWrap into its own context and the contract into the default one' {
        $lines = Invoke-Child @'
$null = Get-ContainerImage
$null = Test-ContainerCheckpoint   # runs criu through CliWrap
Where-Loaded 'ContainerPS', 'ContainerPS.Model', 'ContainerPS.Engine', 'Microsoft.Data.Sqlite', 'SQLitePCLRaw.core', 'CliWrap'
"type " + [ContainerPS.Container].Assembly.GetName().Name + " " + [ContainerPS.Engine.Errors]::ById['ContainerNotFound'].Kind
'@
        $lines | Should -Contain 'type ContainerPS.Model NotFound'
        $expected = @{ 'ContainerPS' = 'Default'; 'ContainerPS.Model' = 'Default'; 'ContainerPS.Engine' = 'ContainerPS'; 'Microsoft.Data.Sqlite' = 'ContainerPS'; 'SQLitePCLRaw.core' = 'ContainerPS'; 'CliWrap' = 'ContainerPS' }
        foreach ($n in $expected.Keys) {
            $loaded = @($lines | Where-Object { $_ -like "$n *" })
            $loaded | Should -HaveCount 1 -Because "$n is loaded once: $($lines -join '; ')"
            ($loaded[0] -split ' ')[2] | Should -Be $expected[$n] -Because "$n belongs in that context"
        }
    }

    It 'works in a session where another module already loaded an older CliWrap into the default context' {
        # An assembly named CliWrap, version 1.0.0.0, as another module might ship.
        $old = Join-Path $t.Ext 'other-module/CliWrap.dll'
        $null = New-Item -ItemType Directory -Force (Split-Path $old)
        $b = [System.Reflection.Emit.PersistedAssemblyBuilder]::new([System.Reflection.AssemblyName]::new('CliWrap, Version=1.0.0.0'), [object].Assembly)
        $null = $b.DefineDynamicModule('CliWrap').DefineType('CliWrap.OtherModule', [System.Reflection.TypeAttributes]'Public,Sealed,Abstract').CreateType()
        $b.Save($old)
        [System.Reflection.AssemblyName]::GetAssemblyName($old).Version | Should -Be '1.0.0.0'

        $lines = Invoke-Child -NoImport @"
Add-Type -Path '$old'
Import-Module '$(Get-ModulePath)'
`$c = Test-ContainerCheckpoint
"criu " + [bool]`$c.Version
Where-Loaded 'CliWrap'
"@
        $lines | Should -Contain 'criu True'
        $lines | Should -Contain 'CliWrap 1.0.0.0 Default'
        $lines | Should -Contain 'CliWrap 3.10.5.0 ContainerPS'
    }

    It 'Remove-Module takes its resolving handler away, and importing again works' {
        $lines = Invoke-Child -NoImport @"
Import-Module '$(Get-ModulePath)'
`$null = Get-ContainerImage
"imported " + ((Get-ResolvingHandlers | Where-Object { `$_ -like 'ContainerPS.*' }) -join ',')
Remove-Module ContainerPS
"removed " + ((Get-ResolvingHandlers | Where-Object { `$_ -like 'ContainerPS.*' }) -join ',')
Import-Module '$(Get-ModulePath)'
Import-Module '$(Get-ModulePath)' -Force
"again " + ((Get-ResolvingHandlers | Where-Object { `$_ -like 'ContainerPS.*' }) -join ',')
`$null = New-StoragePool p -Driver dir
"pools " + (Get-StoragePool).Name
"@
        $lines | Should -Contain 'imported ContainerPS.Commands.EngineLoadContext.ResolveEngine'
        $lines | Should -Contain 'removed'
        $lines | Should -Contain 'again ContainerPS.Commands.EngineLoadContext.ResolveEngine'
        $lines | Should -Contain 'pools p'
    }
}
