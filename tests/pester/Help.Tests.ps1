#Requires -Version 7.4
# Help of ContainerPS: every exported cmdlet has real help (synopsis, description, examples, a
# description for every parameter), about_ContainerPS exists, and the committed MAML file is what
# src/ContainerPS/Help/New-ContainerPSHelp.ps1 generates from the help sources today.

BeforeDiscovery {
    Import-Module "$PSScriptRoot/../../ContainerPS.psd1" -Force
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    $cmdlets = @((Get-Module ContainerPS).ExportedCmdlets.Values | Sort-Object Name | ForEach-Object {
            @{
                Name       = $_.Name
                Parameters = @($_.Parameters.Keys | Where-Object { $common -notcontains $_ } | Sort-Object)
            }
        })
}

BeforeAll {
    $Repo = (Resolve-Path "$PSScriptRoot/../..").ProviderPath
    Import-Module "$Repo/ContainerPS.psd1" -Force
    $Generator = "$Repo/src/ContainerPS/Help/New-ContainerPSHelp.ps1"
    $CommittedHelp = "$Repo/en-US/ContainerPS.dll-Help.xml"
}

Describe 'Help of <Name>' -ForEach $cmdlets {
    BeforeAll {
        $help = Get-Help -Name $Name -Full
    }

    It 'comes from the MAML file' {
        $help.ModuleName | Should -Be 'ContainerPS'
        $help.PSObject.Properties.Name | Should -Contain 'examples'
    }

    It 'has a synopsis that is not the generated syntax' {
        $synopsis = ([string]$help.Synopsis).Trim()
        $synopsis | Should -Not -BeNullOrEmpty
        $synopsis | Should -Not -BeLike "$Name *"
        $synopsis | Should -Not -Be $Name
        $synopsis | Should -Not -Match '\[<CommonParameters>\]'
    }

    It 'has a description' {
        ($help.description.Text -join "`n").Trim() | Should -Not -BeNullOrEmpty
    }

    It 'has at least one example with code' {
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterThan 0
        foreach ($e in $examples) {
            ([string]$e.code).Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'lists its output types' {
        $declared = @((Get-Command $Name).OutputType | ForEach-Object Name)
        $listed = @($help.returnValues.returnValue.type.name)
        foreach ($t in $declared) { $listed | Should -Contain $t }
    }

    It 'describes -<_>' -ForEach $Parameters {
        $p = Get-Help -Name $Name -Parameter $_
        ($p.description.Text -join "`n").Trim() | Should -Not -BeNullOrEmpty
    }
}

Describe 'about_ContainerPS' {
    It 'is found by Get-Help' {
        $text = Get-Help -Name about_ContainerPS | Out-String
        $text | Should -Match 'TOPIC\s+about_ContainerPS'
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match 'CONTAINERPS_ROOT'
    }
}

Describe 'New-ContainerPSHelp.ps1' {
    BeforeAll {
        $Temp = Join-Path ([System.IO.Path]::GetTempPath()) ('containerps-help-' + [guid]::NewGuid())
        New-Item -ItemType Directory -Path $Temp | Out-Null

        # A copy of the help sources to break in one way per test.
        function New-SourceCopy([string] $Name) {
            $dir = Join-Path $Temp $Name
            New-Item -ItemType Directory -Path $dir | Out-Null
            Copy-Item -Path "$Repo/src/ContainerPS/Help/*.help.psd1" -Destination $dir
            return $dir
        }
    }

    AfterAll {
        Remove-Item -LiteralPath $Temp -Recurse -Force -ErrorAction SilentlyContinue
        # The generator re-imports the module; leave it imported for whatever runs next.
        Import-Module "$Repo/ContainerPS.psd1" -Force
    }

    It 'regenerates the committed en-US/ContainerPS.dll-Help.xml byte for byte' {
        $out = Join-Path $Temp 'regenerated.xml'
        & $Generator -OutputPath $out
        $out | Should -Exist
        $fresh = [System.IO.File]::ReadAllBytes($out)
        $committed = [System.IO.File]::ReadAllBytes($CommittedHelp)
        $same = [System.Linq.Enumerable]::SequenceEqual($fresh, $committed)
        $because = 'the committed help must match the help sources; regenerate it with: dotnet pwsh -NoProfile -File src/ContainerPS/Help/New-ContainerPSHelp.ps1'
        $same | Should -BeTrue -Because $because
    }

    It 'writes well-formed XML with the MAML namespaces' {
        [xml] $doc = Get-Content -Raw -LiteralPath $CommittedHelp
        $ns = [System.Xml.XmlNamespaceManager]::new($doc.NameTable)
        $ns.AddNamespace('command', 'http://schemas.microsoft.com/maml/dev/command/2004/10')
        $names = @($doc.SelectNodes('//command:command/command:details/command:name', $ns) | ForEach-Object InnerText)
        $names | Should -Be @((Get-Module ContainerPS).ExportedCmdlets.Keys | Sort-Object)
    }

    It 'fails when a cmdlet has no help source' {
        $src = New-SourceCopy 'missing-source'
        Remove-Item -LiteralPath (Join-Path $src 'Get-StoragePool.help.psd1')
        $out = Join-Path $Temp 'missing-source.xml'
        { & $Generator -SourcePath $src -OutputPath $out } | Should -Throw '*Get-StoragePool: no help source*'
        $out | Should -Not -Exist
    }

    It 'fails when a parameter has no description' {
        $src = New-SourceCopy 'missing-parameter'
        $file = Join-Path $src 'Add-StorageVolume.help.psd1'
        $text = (Get-Content -Raw -LiteralPath $file) -replace "(?m)^\s+Description = 'A free-text description of the volume.'\r?\n", ''
        Set-Content -LiteralPath $file -Value $text -NoNewline
        { & $Generator -SourcePath $src -OutputPath (Join-Path $Temp 'missing-parameter.xml') } |
            Should -Throw '*Add-StorageVolume: parameter -Description has no description*'
    }

    It 'fails when a cmdlet has no example' {
        $src = New-SourceCopy 'missing-example'
        $file = Join-Path $src 'Remove-StoragePool.help.psd1'
        Set-Content -LiteralPath $file -Value "@{ Synopsis = 'x'; Description = 'y'; Parameters = @{ Name = 'n'; Force = 'f' } }"
        { & $Generator -SourcePath $src -OutputPath (Join-Path $Temp 'missing-example.xml') } |
            Should -Throw '*Remove-StoragePool: no example*'
    }

    It 'escapes XML special characters' {
        $src = New-SourceCopy 'escaping'
        $file = Join-Path $src 'Get-StoragePool.help.psd1'
        $text = (Get-Content -Raw -LiteralPath $file) -replace "Synopsis    = '[^']*'", "Synopsis    = 'Gets <pools> & ""more"" ]]> too'"
        Set-Content -LiteralPath $file -Value $text -NoNewline
        $out = Join-Path $Temp 'escaping.xml'
        & $Generator -SourcePath $src -OutputPath $out
        [xml] $doc = Get-Content -Raw -LiteralPath $out
        $doc.helpItems.command | Where-Object { $_.details.name -eq 'Get-StoragePool' } |
            ForEach-Object { $_.details.description.para } | Should -Be 'Gets <pools> & "more" ]]> too'
    }
}
