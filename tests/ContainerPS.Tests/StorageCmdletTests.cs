using System.Management.Automation;

namespace ContainerPS.Tests;

public sealed class StorageCmdletTests : IDisposable
{
    private readonly HostedPowerShell ps = new();

    public void Dispose() => ps.Dispose();

    [Fact]
    public void The_manifest_exports_exactly_the_cmdlets_that_exist_with_formats_and_types()
    {
        var names = ps.Ok("(Get-Module ContainerPS).ExportedCmdlets.Keys | Sort-Object").Select(o => o.ToString()).ToArray();
        var listed = ps.Ok("(Import-PowerShellDataFile (Join-Path (Get-Module ContainerPS).ModuleBase 'ContainerPS.psd1')).CmdletsToExport | Sort-Object")
            .Select(o => o.ToString()).ToArray();
        Assert.Equal(listed, names); // every name in the manifest is a real cmdlet
        Assert.Contains("New-StoragePool", names);
        Assert.Contains("New-Container", names);
        Assert.Contains("Import-ContainerImage", names);
        Assert.Equal("True", ps.Ok("[bool](Get-FormatData ContainerPS.StoragePool)").Single().ToString());
        Assert.Equal("True", ps.Ok("[bool](Get-TypeData ContainerPS.StoragePool)").Single().ToString());
    }

    [Fact]
    public void Cmdlets_emit_typed_objects_that_pipe_into_each_other()
    {
        var pool = ps.Ok("New-StoragePool -Name p -Driver dir").Single();
        Assert.Equal("ContainerPS.StoragePool", pool.TypeNames[0]);
        Assert.Equal("dir", pool.Properties["Driver"].Value);
        ps.Ok("Add-StorageVolume p a; Add-StorageVolume p b -Size 1GiB");
        var vols = ps.Ok("Get-StoragePool p | Get-StorageVolume");
        Assert.Equal(new[] { "a", "b" }, vols.Select(v => v.Properties["Name"].Value));
        Assert.All(vols, v => Assert.Equal("ContainerPS.StorageVolume", v.TypeNames[0]));
        Assert.Equal(1L << 30, ps.Ok("Get-StorageVolume p b -Property size").Single().BaseObject);
        Assert.Empty(ps.Ok("Get-StorageVolume -Pool p | Remove-StorageVolume -Confirm:$false"));
        Assert.Empty(ps.Ok("Get-StorageVolume -Pool p"));
    }

    [Fact]
    public void Errors_carry_stable_ids_and_categories_and_are_non_terminating()
    {
        ps.Ok("New-StoragePool p -Driver dir; Add-StorageVolume p a; Add-StorageVolume p b");
        var (output, errors, _) = ps.Run("'a','missing','b' | ForEach-Object { [pscustomobject]@{ Pool = 'p'; Name = $_ } } | Remove-StorageVolume -Confirm:$false; 'after'");
        Assert.Equal("after", output.Single().ToString());
        var e = Assert.Single(errors);
        Assert.StartsWith("VolumeNotFound,", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
        Assert.Empty(ps.Ok("Get-StorageVolume p"));

        (_, errors, _) = ps.Run("New-StoragePool 'a/b' -Driver dir");
        Assert.StartsWith("InvalidName,", Assert.Single(errors).FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, errors[0].CategoryInfo.Category);

        (_, errors, _) = ps.Run("Get-StoragePool nope -ErrorAction Stop");
        Assert.StartsWith("PoolNotFound,", Assert.Single(errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void WhatIf_changes_nothing()
    {
        ps.Ok("New-StoragePool p -Driver dir; Add-StorageVolume p a");
        ps.Ok("""
            New-StoragePool q -Driver dir -WhatIf
            Add-StorageVolume p b -WhatIf
            Set-StoragePool p -Config @{ 'user.x' = '1' } -WhatIf
            Set-StorageVolume p a -Config @{ 'user.x' = '1' } -WhatIf
            Rename-StorageVolume p a c -WhatIf
            Copy-StorageVolume p a d -WhatIf
            Remove-StorageVolume p a -WhatIf
            Remove-StoragePool p -Force -WhatIf
            """);
        Assert.Equal("p", ps.Ok("(Get-StoragePool).Name").Single().ToString());
        Assert.Equal("a", ps.Ok("(Get-StorageVolume p).Name").Single().ToString());
        Assert.Empty(ps.Ok("(Get-StoragePool p).Config.Keys | Where-Object { $_ -like 'user.*' }"));
        Assert.Equal(new[] { "a" }, Directory.GetDirectories(Path.Join(ps.Root, "storage-pools", "p", "custom")).Select(Path.GetFileName));
    }

    [Fact]
    public void Tables_read_like_lxc_storage_list()
    {
        ps.Ok("New-StoragePool p -Driver dir -Description 'fast disks'; Add-StorageVolume p data -Size 2GiB");
        var pools = string.Join("\n", ps.Ok("Get-StoragePool | Out-String -Width 200").Select(o => o.ToString()));
        Assert.Matches(@"Name\s+Driver\s+Source\s+Description\s+UsedBy\s+Used\s+Size\s+Status", pools);
        Assert.Matches(@"p\s+dir\s+/\S+/storage-pools/p\s+fast disks\s+1\s", pools);
        var vols = string.Join("\n", ps.Ok("Get-StorageVolume p | Out-String -Width 200").Select(o => o.ToString()));
        Assert.Contains("Pool: p", vols);
        Assert.Matches(@"custom\s+data\s+0\s+\S+\s+2GiB\*\s+Created", vols);
    }

    [Fact]
    public void Objects_survive_remoting_serialization_with_their_views()
    {
        ps.Ok("New-StoragePool p -Driver dir -Config @{ 'user.tier' = 'ssd' }; Add-StorageVolume p v");
        var script = """
            $d = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize((Get-StoragePool p)))
            $d.PSObject.TypeNames[0]
            $d.Config['user.tier']
            $d.Size -gt 0
            ($d | Out-String -Width 200) -match 'Driver\s+Source'
            ($d | Get-StorageVolume).Name
            """;
        var output = ps.Ok(script).Select(o => o.ToString()).ToArray();
        Assert.Equal(new[] { "Deserialized.ContainerPS.StoragePool", "ssd", "True", "True", "v" }, output);
    }
}
