<#
.SYNOPSIS
  Action Center for Slack: remove a registry value, or a whole registry key, and keep it for undo.
.DESCRIPTION
  Run by Defender live response (RunScript) for a `remove_registry_key` action. With -ValueName,
  that value is saved to registry-value.json and removed; without it, the whole key (subkeys and
  values) is exported with reg.exe to registry-key.reg and removed. The copy is kept under
  %ProgramData%\ActionCenter\<ActionId>\, where ac-restore-registry-key.ps1 finds it.
  Exits 0 when the value or key is gone, non-zero with the reason otherwise.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Key,
    [string]$ValueName,
    [Parameter(Mandatory = $true)][long]$ActionId
)
$ErrorActionPreference = 'Stop'
try {
    $backup = Join-Path $env:ProgramData "ActionCenter\$ActionId"
    New-Item -ItemType Directory -Force -Path $backup | Out-Null
    $path = "Registry::$Key"
    if (-not (Test-Path -LiteralPath $path)) { throw "registry key '$Key' does not exist" }
    if ($ValueName) {
        $item = Get-Item -LiteralPath $path
        if ($item.GetValueNames() -notcontains $ValueName) {
            throw "registry value '$ValueName' does not exist under '$Key'"
        }
        $saved = [pscustomobject]@{
            Key       = $Key
            ValueName = $ValueName
            Kind      = $item.GetValueKind($ValueName).ToString()
            # Unexpanded, so that a REG_EXPAND_SZ comes back as it was written.
            Data      = $item.GetValue($ValueName, $null, 'DoNotExpandEnvironmentNames')
        }
        $saved | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath (Join-Path $backup 'registry-value.json') -Encoding UTF8
        Remove-ItemProperty -LiteralPath $path -Name $ValueName
        if ((Get-Item -LiteralPath $path).GetValueNames() -contains $ValueName) { throw "registry value '$ValueName' is still there" }
        Write-Output "Removed registry value '$ValueName' of '$Key' ($($saved.Kind)); saved to $backup"
    }
    else {
        $file = Join-Path $backup 'registry-key.reg'
        & reg.exe export $Key $file /y | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "reg.exe export of '$Key' failed with exit code $LASTEXITCODE" }
        Remove-Item -LiteralPath $path -Recurse -Force
        if (Test-Path -LiteralPath $path) { throw "registry key '$Key' is still there" }
        Write-Output "Removed registry key '$Key'; saved to $file"
    }
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-remove-registry-key: $($_.Exception.Message)"
    exit 1
}
