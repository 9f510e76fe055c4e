#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Generates the MAML help of ContainerPS (en-US/ContainerPS.dll-Help.xml) from the help sources.
.DESCRIPTION
    Imports the built module (run `dotnet pwsh ./build.ps1 -Task Build` first) and, for every exported
    cmdlet, combines the hand-written help source <Cmdlet-Name>.help.psd1 next to this script with the
    live command metadata (parameter sets, types, mandatory, position, pipeline input, wildcards,
    aliases, ValidateSet values, default values, OutputType) into one MAML file that Get-Help reads.

    Why not PlatyPS (Microsoft.PowerShell.PlatyPS 1.0, which writes MAML from markdown): no version of
    it, under that name or as platyPS, is served by the package sources this project builds from
    (checked 2026-12-06), and the build installs nothing from elsewhere. The generator stays until it is.

    A help source is a PowerShell data file:
        @{
            Synopsis    = 'One sentence.'
            Description = 'Paragraphs, separated by a blank line.'
            Parameters  = @{
                Name = 'Description of -Name.'
                Type = @{ Description = '...'; DefaultValue = 'custom' }   # optional override of the default
            }
            Inputs      = @( @{ Type = 'ContainerPS.StoragePool'; Description = '...' } )   # optional; else derived
            Outputs     = @{ 'ContainerPS.StoragePool' = '...' }          # optional descriptions of OutputType types
            Examples    = @( @{ Title = '...'; Code = '...'; Remarks = '...' } )
            Notes       = '...'                                           # optional
            Links       = @( 'Get-StoragePool', @{ Text = '...'; Uri = 'https://...' } )   # optional
        }

    Text is split into paragraphs at blank lines; the lines of a paragraph are kept as written
    (keep them under about 76 characters, 72 in parameter, input, output and notes text).

    The script fails with a terminating error (exit code 1 under pwsh -File), listing every problem,
    when a cmdlet has no help source, a source cannot be read or has an unknown key, a synopsis or
    description is missing, a parameter has no description, a source describes a parameter or output
    type the cmdlet does not have, or a cmdlet has no example with code. Common parameters (Verbose,
    ErrorAction, ...) are left to Get-Help's <CommonParameters>; -WhatIf and -Confirm are listed with
    a standard description unless the source gives one. The output is deterministic: the same module
    and sources give a byte-identical file (UTF-8 without BOM, LF line ends).
.EXAMPLE
    dotnet pwsh -NoProfile -File src/ContainerPS/Help/New-ContainerPSHelp.ps1
#>
[CmdletBinding()]
param(
    # Where to write the MAML file.
    [string] $OutputPath = (Join-Path $PSScriptRoot '../../../en-US/ContainerPS.dll-Help.xml'),
    # The module manifest to import.
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../../ContainerPS.psd1'),
    # The directory holding the <Cmdlet-Name>.help.psd1 sources.
    [string] $SourcePath = $PSScriptRoot
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$NsMaml = 'http://schemas.microsoft.com/maml/2004/10'
$NsCommand = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$NsDev = 'http://schemas.microsoft.com/maml/dev/2004/10'
$NsMSHelp = 'http://msdn.microsoft.com/mshelp'

$CommonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters
$OptionalCommonParameters = [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
$StandardDescriptions = @{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}
$SourceKeys = 'Synopsis', 'Description', 'Parameters', 'Inputs', 'Outputs', 'Examples', 'Notes', 'Links'

$problems = [System.Collections.Generic.List[string]]::new()
function Add-Problem([string] $Message) { $problems.Add($Message) }

# ---------------------------------------------------------------------------------------------- text

function ConvertTo-Paragraph([object] $Text) {
    # Paragraphs at blank lines; CRLF normalised; each paragraph's lines kept, trailing spaces trimmed.
    if ($null -eq $Text) { return , @() }
    $t = ([string]$Text) -replace "`r`n?", "`n"
    $paras = foreach ($p in ($t -split "\n[ \t]*\n")) {
        $lines = @($p -split "\n" | ForEach-Object { $_.TrimEnd() })
        $body = ($lines -join "`n").Trim("`n")
        if ($body.Trim().Length -gt 0) { $body }
    }
    return , @($paras)
}

function Test-Text([object] $Text) {
    return ($null -ne $Text) -and ([string]$Text).Trim().Length -gt 0
}

function Get-OrdinalSorted($Items) {
    # Culture-independent order, so the output is the same on every machine.
    $a = [string[]]@(foreach ($i in $Items) { if ($null -ne $i) { [string]$i } })
    [Array]::Sort($a, [StringComparer]::Ordinal)
    return $a
}

function Get-TypeName([type] $Type, [switch] $Short) {
    # Short: how the syntax shows it (String, String[], Hashtable, SwitchParameter).
    $t = $Type
    $suffix = ''
    while ($t.IsArray) { $suffix += '[]'; $t = $t.GetElementType() }
    $nullable = [Nullable]::GetUnderlyingType($t)
    if ($nullable) { $t = $nullable }
    $name = if ($Short) { $t.Name } else { $t.FullName }
    if ($t.IsGenericType) {
        $base = ($name -split '`')[0]
        $args_ = $t.GetGenericArguments() | ForEach-Object { Get-TypeName $_ -Short:$Short }
        $name = "$base[$($args_ -join ', ')]"
    }
    return $name + $suffix
}

# ---------------------------------------------------------------------------------------------- metadata

function Get-PipelineText([bool] $ByValue, [bool] $ByPropertyName) {
    if ($ByValue -and $ByPropertyName) { return 'True (ByValue, ByPropertyName)' }
    if ($ByValue) { return 'True (ByValue)' }
    if ($ByPropertyName) { return 'True (ByPropertyName)' }
    return 'False'
}

function Get-DefaultValues([System.Management.Automation.CmdletInfo] $Command) {
    # The values a fresh instance of the cmdlet class starts with (property initialisers).
    $values = @{}
    try {
        $instance = [Activator]::CreateInstance($Command.ImplementingType)
    } catch {
        return $values
    }
    try {
        foreach ($p in $Command.Parameters.Values) {
            try {
                $prop = $Command.ImplementingType.GetProperty($p.Name)
                if ($null -eq $prop -or -not $prop.CanRead) { continue }
                $values[$p.Name] = $prop.GetValue($instance)
            } catch {
                continue # unknown default: documented as None
            }
        }
    } finally {
        if ($instance -is [System.IDisposable]) { $instance.Dispose() }
    }
    return $values
}

function Format-DefaultValue([object] $Value, [type] $Type) {
    if ($Type -eq [System.Management.Automation.SwitchParameter]) {
        if ($null -ne $Value -and $Value.IsPresent) { return 'True' } else { return 'False' }
    }
    if ($null -eq $Value) { return 'None' }
    if ($Value -is [string]) { if ($Value.Length -eq 0) { return 'None' } else { return $Value } }
    if ($Value -is [System.Collections.ICollection]) {
        if ($Value.Count -eq 0) { return 'None' }
        return (@($Value | ForEach-Object { [System.Convert]::ToString($_, [cultureinfo]::InvariantCulture) }) -join ', ')
    }
    if ($Value -is [bool]) { return $Value.ToString() }
    return [System.Convert]::ToString($Value, [cultureinfo]::InvariantCulture)
}

function Get-ParameterModel([System.Management.Automation.CmdletInfo] $Command, [hashtable] $Source) {
    # One record per documented parameter, merged over parameter sets, in the order of the first set.
    $defaults = Get-DefaultValues $Command
    $described = if ($Source.ContainsKey('Parameters') -and $Source['Parameters']) { $Source['Parameters'] } else { @{} }
    $models = [ordered]@{}
    foreach ($set in (Get-OrderedParameterSet $Command)) {
        foreach ($p in (Get-OrderedSetParameter $set)) {
            if ($models.Contains($p.Name)) { continue }
            $meta = $Command.Parameters[$p.Name]
            $entry = $described[$p.Name]
            $description = $null
            $default = $null
            if ($entry -is [hashtable]) {
                $description = $entry['Description']
                if ($entry.ContainsKey('DefaultValue')) { $default = [string]$entry['DefaultValue'] }
            } elseif ($null -ne $entry) {
                $description = [string]$entry
            }
            if (-not (Test-Text $description) -and $StandardDescriptions.ContainsKey($p.Name)) {
                $description = $StandardDescriptions[$p.Name]
            }
            if (-not (Test-Text $description)) {
                Add-Problem "$($Command.Name): parameter -$($p.Name) has no description in $($Command.Name).help.psd1."
            }
            $inSets = @($meta.ParameterSets.Values)
            $mandatoryEverywhere = @($inSets | Where-Object { -not $_.IsMandatory }).Count -eq 0
            $positions = @($inSets | ForEach-Object { $_.Position } | Where-Object { $_ -ge 0 } | Sort-Object -Unique)
            $allPositional = @($inSets | Where-Object { $_.Position -lt 0 }).Count -eq 0
            if ($null -eq $default) {
                $default = if ($mandatoryEverywhere) { 'None' } else { Format-DefaultValue $defaults[$p.Name] $meta.ParameterType }
            }
            $validValues = @($meta.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } |
                ForEach-Object { $_.ValidValues })
            $models[$p.Name] = [pscustomobject]@{
                Name          = $p.Name
                Type          = $meta.ParameterType
                Description   = $description
                Required      = $mandatoryEverywhere
                Position      = if ($allPositional -and $positions.Count -eq 1) { [string]$positions[0] } else { 'named' }
                Pipeline      = Get-PipelineText (@($inSets | Where-Object ValueFromPipeline).Count -gt 0) (@($inSets | Where-Object ValueFromPipelineByPropertyName).Count -gt 0)
                Globbing      = @($meta.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count -gt 0
                Aliases       = @(Get-OrdinalSorted $meta.Aliases)
                DefaultValue  = $default
                ValidValues   = $validValues
                IsSwitch      = $meta.SwitchParameter
            }
        }
    }
    foreach ($key in (Get-OrdinalSorted $described.Keys)) {
        if (-not $models.Contains($key)) {
            Add-Problem "$($Command.Name): $($Command.Name).help.psd1 describes -$key, which the cmdlet does not have."
        }
    }
    return $models
}

function Get-OrderedParameterSet([System.Management.Automation.CmdletInfo] $Command) {
    # The default set first, then the others by name.
    $sets = @($Command.ParameterSets)
    $default = @($sets | Where-Object IsDefault)
    $rest = @(foreach ($n in (Get-OrdinalSorted ($sets | Where-Object { -not $_.IsDefault } | ForEach-Object Name))) { $sets | Where-Object Name -eq $n })
    return @($default + $rest)
}

function Get-OrderedSetParameter([System.Management.Automation.CommandParameterSetInfo] $Set) {
    # Positional by position, then mandatory named, then optional named (each in declaration order);
    # common parameters are left out (WhatIf and Confirm stay: they are part of what the cmdlet does).
    $params = @($Set.Parameters | Where-Object { $CommonParameters -notcontains $_.Name -and $_.Name -ne 'UseTransaction' })
    $i = 0
    $indexed = foreach ($p in $params) { [pscustomobject]@{ P = $p; I = $i++ } }
    $positional = @($indexed | Where-Object { $_.P.Position -ge 0 } | Sort-Object { $_.P.Position }, { $_.I })
    $mandatory = @($indexed | Where-Object { $_.P.Position -lt 0 -and $_.P.IsMandatory -and $OptionalCommonParameters -notcontains $_.P.Name })
    $optional = @($indexed | Where-Object { $_.P.Position -lt 0 -and -not $_.P.IsMandatory -and $OptionalCommonParameters -notcontains $_.P.Name })
    $optionalCommon = @($indexed | Where-Object { $OptionalCommonParameters -contains $_.P.Name })
    return @(($positional + $mandatory + $optional + $optionalCommon) | ForEach-Object { $_.P })
}

# ---------------------------------------------------------------------------------------------- writing

function Write-Para([System.Xml.XmlWriter] $W, [object] $Text) {
    $paras = ConvertTo-Paragraph $Text
    if ($paras.Count -eq 0) {
        $W.WriteStartElement('maml', 'para', $NsMaml); $W.WriteEndElement()
        return
    }
    foreach ($p in $paras) { $W.WriteElementString('maml', 'para', $NsMaml, $p) }
}

function Write-Description([System.Xml.XmlWriter] $W, [object] $Text) {
    $W.WriteStartElement('maml', 'description', $NsMaml)
    Write-Para $W $Text
    $W.WriteEndElement()
}

function Write-Type([System.Xml.XmlWriter] $W, [string] $Name) {
    $W.WriteStartElement('dev', 'type', $NsDev)
    $W.WriteElementString('maml', 'name', $NsMaml, $Name)
    $W.WriteStartElement('maml', 'uri', $NsMaml); $W.WriteEndElement()
    $W.WriteEndElement()
}

function Write-Parameter([System.Xml.XmlWriter] $W, $Model, $Required, $Position, $Pipeline, [switch] $InSyntax) {
    $W.WriteStartElement('command', 'parameter', $NsCommand)
    $W.WriteAttributeString('required', $(if ($Required) { 'true' } else { 'false' }))
    $W.WriteAttributeString('variableLength', $(if ($Model.Type.IsArray) { 'true' } else { 'false' }))
    $W.WriteAttributeString('globbing', $(if ($Model.Globbing) { 'true' } else { 'false' }))
    $W.WriteAttributeString('pipelineInput', $Pipeline)
    $W.WriteAttributeString('position', $Position)
    $W.WriteAttributeString('aliases', $(if ($Model.Aliases.Count) { $Model.Aliases -join ', ' } else { 'none' }))
    $W.WriteElementString('maml', 'name', $NsMaml, $Model.Name)
    Write-Description $W $Model.Description
    if ($InSyntax -and $Model.ValidValues.Count -gt 0) {
        $W.WriteStartElement('command', 'parameterValueGroup', $NsCommand)
        foreach ($v in $Model.ValidValues) {
            $W.WriteStartElement('command', 'parameterValue', $NsCommand)
            $W.WriteAttributeString('required', 'false')
            $W.WriteAttributeString('command', 'variableLength', $NsCommand, 'false')
            $W.WriteString([string]$v)
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    } elseif (-not ($InSyntax -and $Model.IsSwitch)) {
        $W.WriteStartElement('command', 'parameterValue', $NsCommand)
        $W.WriteAttributeString('required', $(if ($Model.IsSwitch) { 'false' } else { 'true' }))
        $W.WriteAttributeString('variableLength', $(if ($Model.Type.IsArray) { 'true' } else { 'false' }))
        $W.WriteString((Get-TypeName $Model.Type -Short))
        $W.WriteEndElement()
    }
    Write-Type $W (Get-TypeName $Model.Type)
    $W.WriteElementString('dev', 'defaultValue', $NsDev, $Model.DefaultValue)
    $W.WriteEndElement()
}

function Get-InputModel([System.Management.Automation.CmdletInfo] $Command, [hashtable] $Source, $Models) {
    if ($Source.ContainsKey('Inputs') -and $null -ne $Source['Inputs']) {
        $list = foreach ($i in @($Source['Inputs'])) {
            if ($i -isnot [hashtable] -or -not (Test-Text $i['Type'])) {
                Add-Problem "$($Command.Name): each Inputs entry needs a Type."
                continue
            }
            [pscustomobject]@{ Type = [string]$i['Type']; Description = $i['Description'] }
        }
        return @($list)
    }
    # Derived: each parameter type that takes pipeline input, with the parameters it binds to.
    $byType = [ordered]@{}
    foreach ($m in $Models.Values) {
        if ($m.Pipeline -eq 'False') { continue }
        $t = Get-TypeName $m.Type
        if (-not $byType.Contains($t)) { $byType[$t] = [pscustomobject]@{ ByValue = [System.Collections.Generic.List[string]]::new(); ByName = [System.Collections.Generic.List[string]]::new() } }
        if ($m.Pipeline -match 'ByValue') { $byType[$t].ByValue.Add("-$($m.Name)") }
        if ($m.Pipeline -match 'ByPropertyName') { $byType[$t].ByName.Add($m.Name) }
    }
    if ($byType.Count -eq 0) {
        return @([pscustomobject]@{ Type = 'None'; Description = 'You cannot pipe objects to this cmdlet.' })
    }
    return @(foreach ($t in $byType.Keys) {
            $parts = @()
            if ($byType[$t].ByValue.Count) { $parts += "You can pipe a $t to $($byType[$t].ByValue -join ', ')." }
            if ($byType[$t].ByName.Count) { $parts += "Objects with a $($byType[$t].ByName -join ', ') property of this type bind to the parameter of that name." }
            [pscustomobject]@{ Type = $t; Description = $parts -join ' ' }
        })
}

function Get-OutputModel([System.Management.Automation.CmdletInfo] $Command, [hashtable] $Source) {
    $described = if ($Source.ContainsKey('Outputs') -and $Source['Outputs']) { $Source['Outputs'] } else { @{} }
    $types = @($Command.OutputType | ForEach-Object { if ($_.Type) { $_.Type.FullName } else { $_.Name } } | Select-Object -Unique)
    if ($types.Count -eq 0) { $types = @('None') }
    foreach ($key in (Get-OrdinalSorted $described.Keys)) {
        if ($types -notcontains $key) {
            Add-Problem "$($Command.Name): Outputs describes '$key', which is not an OutputType of the cmdlet ($($types -join ', '))."
        }
    }
    return @(foreach ($t in $types) {
            $d = $described[$t]
            if (-not (Test-Text $d) -and $t -eq 'None') { $d = 'This cmdlet returns no output.' }
            [pscustomobject]@{ Type = $t; Description = $d }
        })
}

function Write-Command([System.Xml.XmlWriter] $W, [System.Management.Automation.CmdletInfo] $Command, [hashtable] $Source) {
    $models = Get-ParameterModel $Command $Source

    $W.WriteStartElement('command', 'command', $NsCommand)
    $W.WriteAttributeString('xmlns', 'maml', $null, $NsMaml)
    $W.WriteAttributeString('xmlns', 'command', $null, $NsCommand)
    $W.WriteAttributeString('xmlns', 'dev', $null, $NsDev)
    $W.WriteAttributeString('xmlns', 'MSHelp', $null, $NsMSHelp)

    $W.WriteStartElement('command', 'details', $NsCommand)
    $W.WriteElementString('command', 'name', $NsCommand, $Command.Name)
    $W.WriteElementString('command', 'verb', $NsCommand, $Command.Verb)
    $W.WriteElementString('command', 'noun', $NsCommand, $Command.Noun)
    Write-Description $W $Source['Synopsis']
    $W.WriteEndElement()

    Write-Description $W $Source['Description']

    $W.WriteStartElement('command', 'syntax', $NsCommand)
    foreach ($set in (Get-OrderedParameterSet $Command)) {
        $W.WriteStartElement('command', 'syntaxItem', $NsCommand)
        $W.WriteElementString('maml', 'name', $NsMaml, $Command.Name)
        foreach ($p in (Get-OrderedSetParameter $set)) {
            $position = if ($p.Position -ge 0) { [string]$p.Position } else { 'named' }
            Write-Parameter $W $models[$p.Name] $p.IsMandatory $position (Get-PipelineText $p.ValueFromPipeline $p.ValueFromPipelineByPropertyName) -InSyntax
        }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'parameters', $NsCommand)
    foreach ($m in $models.Values) {
        Write-Parameter $W $m $m.Required $m.Position $m.Pipeline
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'inputTypes', $NsCommand)
    foreach ($i in (Get-InputModel $Command $Source $models)) {
        $W.WriteStartElement('command', 'inputType', $NsCommand)
        Write-Type $W $i.Type
        Write-Description $W $i.Description
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'returnValues', $NsCommand)
    foreach ($o in (Get-OutputModel $Command $Source)) {
        $W.WriteStartElement('command', 'returnValue', $NsCommand)
        Write-Type $W $o.Type
        Write-Description $W $o.Description
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('maml', 'alertSet', $NsMaml)
    $W.WriteStartElement('maml', 'alert', $NsMaml)
    Write-Para $W $(if ($Source.ContainsKey('Notes')) { $Source['Notes'] } else { $null })
    $W.WriteEndElement()
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'examples', $NsCommand)
    $n = 0
    foreach ($e in @($Source['Examples'] | Where-Object { $_ -is [hashtable] })) {
        $n++
        $title = if ($e.ContainsKey('Title') -and (Test-Text $e['Title'])) { "Example ${n}: $(([string]$e['Title']).Trim())" } else { "Example $n" }
        $W.WriteStartElement('command', 'example', $NsCommand)
        $dashes = '-' * [Math]::Max(4, [Math]::Min(26, [Math]::Floor((76 - $title.Length - 2) / 2)))
        $W.WriteElementString('maml', 'title', $NsMaml, "$dashes $title $dashes")
        $code = (([string]$e['Code']) -replace "`r`n?", "`n").Trim("`n") -split "`n" | ForEach-Object { $_.TrimEnd() }
        $W.WriteElementString('dev', 'code', $NsDev, ($code -join "`n"))
        $W.WriteStartElement('dev', 'remarks', $NsDev)
        Write-Para $W $e['Remarks']
        $W.WriteElementString('maml', 'para', $NsMaml, '') # a blank line before the next example
        $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('maml', 'relatedLinks', $NsMaml)
    if ($Source.ContainsKey('Links')) {
        foreach ($l in @($Source['Links'])) {
            $text, $uri = if ($l -is [hashtable]) { [string]$l['Text'], [string]$l['Uri'] } else { [string]$l, '' }
            $W.WriteStartElement('maml', 'navigationLink', $NsMaml)
            $W.WriteElementString('maml', 'linkText', $NsMaml, $text)
            $W.WriteElementString('maml', 'uri', $NsMaml, $uri)
            $W.WriteEndElement()
        }
    }
    $W.WriteEndElement()

    $W.WriteEndElement() # command:command
}

# ---------------------------------------------------------------------------------------------- main

if (-not (Test-Path -LiteralPath $SourcePath -PathType Container)) { throw "New-ContainerPSHelp: the help source directory $SourcePath does not exist." }
$module = Import-Module (Resolve-Path -LiteralPath $ModulePath).ProviderPath -Force -PassThru
$commands = @(foreach ($n in (Get-OrdinalSorted $module.ExportedCmdlets.Keys)) { $module.ExportedCmdlets[$n] })
if ($commands.Count -eq 0) { throw "Module $ModulePath exports no cmdlets: build it first (dotnet pwsh ./build.ps1 -Task Build)." }

$sources = [ordered]@{}
foreach ($c in $commands) {
    $file = Join-Path $SourcePath "$($c.Name).help.psd1"
    if (-not (Test-Path -LiteralPath $file)) {
        Add-Problem "$($c.Name): no help source $file."
        continue
    }
    try {
        $s = Import-PowerShellDataFile -LiteralPath $file
    } catch {
        Add-Problem "$($c.Name): cannot read ${file}: $($_.Exception.Message)"
        continue
    }
    foreach ($key in (Get-OrdinalSorted $s.Keys)) {
        if ($SourceKeys -notcontains $key) { Add-Problem "$($c.Name): unknown key '$key' in $file (known: $($SourceKeys -join ', '))." }
    }
    if (-not (Test-Text $s['Synopsis'])) { Add-Problem "$($c.Name): no Synopsis." }
    if (-not (Test-Text $s['Description'])) { Add-Problem "$($c.Name): no Description." }
    foreach ($key in 'Parameters', 'Outputs') {
        if ($s.ContainsKey($key) -and $null -ne $s[$key] -and $s[$key] -isnot [hashtable]) {
            Add-Problem "$($c.Name): $key must be a hashtable."
            $s.Remove($key)
        }
    }
    $examples = @(if ($s.ContainsKey('Examples')) { $s['Examples'] })
    if ($examples.Count -eq 0) { Add-Problem "$($c.Name): no example." }
    foreach ($e in $examples) {
        if ($e -isnot [hashtable] -or -not (Test-Text $e['Code'])) { Add-Problem "$($c.Name): an example has no Code." }
    }
    $sources[$c.Name] = $s
}
$orphans = Get-OrdinalSorted (Get-ChildItem -LiteralPath $SourcePath -Filter '*.help.psd1' | ForEach-Object Name |
        Where-Object { $commands.Name -notcontains ($_ -replace '\.help\.psd1$') })
foreach ($o in $orphans) { Add-Problem "${o}: help source for a cmdlet the module does not export." }

$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.IndentChars = '  '
$settings.NewLineChars = "`n"
$settings.NewLineHandling = [System.Xml.NewLineHandling]::Replace
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$settings.CheckCharacters = $true
$buffer = [System.IO.MemoryStream]::new()
$w = [System.Xml.XmlWriter]::Create($buffer, $settings)
$w.WriteStartDocument()
$w.WriteStartElement('helpItems', 'http://msh')
$w.WriteAttributeString('schema', 'maml')
foreach ($c in $commands) {
    if ($sources.Contains($c.Name)) {
        Write-Command $w $c $sources[$c.Name]
    }
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Flush()
$w.Dispose()

if ($problems.Count -gt 0) {
    # A terminating error: the caller's try/catch sees it, and `pwsh -File` exits with code 1.
    throw "New-ContainerPSHelp: $($problems.Count) problem(s); $OutputPath was not written:`n  " + ($problems -join "`n  ")
}

$bytes = $buffer.ToArray()
$bytes = $bytes + [byte[]](0x0A)
$full = [System.IO.Path]::GetFullPath($OutputPath, (Get-Location).ProviderPath)
$dir = [System.IO.Path]::GetDirectoryName($full)
if (-not [System.IO.Directory]::Exists($dir)) { [void][System.IO.Directory]::CreateDirectory($dir) }
[System.IO.File]::WriteAllBytes($full, $bytes)
Write-Verbose "Wrote $full ($($commands.Count) cmdlets)."
