<#
.SYNOPSIS
  Action Center for Slack: put back the registry value or key that ac-remove-registry-key.ps1 removed.
.DESCRIPTION
  Undo of a `remove_registry_key` action, run by Defender live response (RunScript). Reads what
  the removal saved under %ProgramData%\ActionCenter\<ActionId>\: the value (its kind and data) or
  the exported key, and writes it back. Records what it restored in restored.json next to it.
  Exits 0 when the value or key is back, non-zero with the reason otherwise.
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
    $path = "Registry::$Key"
    if ($ValueName) {
        $file = Join-Path $backup 'registry-value.json'
        if (-not (Test-Path -LiteralPath $file)) { throw "nothing was saved for action $ActionId ($file is missing)" }
        $saved = Get-Content -LiteralPath $file -Raw | ConvertFrom-Json
        if ($saved.Key -ne $Key -or $saved.ValueName -ne $ValueName) {
            throw "the copy saved for action $ActionId is of '$($saved.Key)\$($saved.ValueName)', not '$Key\$ValueName'"
        }
        $data = switch ($saved.Kind) {
            'Binary' { [byte[]]$saved.Data }
            'MultiString' { [string[]]$saved.Data }
            'DWord' { [int]$saved.Data }
            'QWord' { [long]$saved.Data }
            default { [string]$saved.Data }
        }
        if (-not (Test-Path -LiteralPath $path)) { New-Item -Path $path -Force | Out-Null }
        New-ItemProperty -LiteralPath $path -Name $ValueName -PropertyType $saved.Kind -Value $data -Force | Out-Null
        if ((Get-Item -LiteralPath $path).GetValueNames() -notcontains $ValueName) { throw "registry value '$ValueName' did not come back" }
    }
    else {
        $file = Join-Path $backup 'registry-key.reg'
        if (-not (Test-Path -LiteralPath $file)) { throw "nothing was saved for action $ActionId ($file is missing)" }
        & reg.exe import $file 2>&1 | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "reg.exe import of $file failed with exit code $LASTEXITCODE" }
        if (-not (Test-Path -LiteralPath $path)) { throw "registry key '$Key' did not come back" }
    }
    [pscustomobject]@{ Key = $Key; ValueName = $ValueName; RestoredAt = (Get-Date).ToUniversalTime().ToString('o') } |
        ConvertTo-Json | Set-Content -LiteralPath (Join-Path $backup 'restored.json') -Encoding UTF8
    Write-Output "Restored '$Key$(if ($ValueName) { "\$ValueName" })' from $backup"
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-restore-registry-key: $($_.Exception.Message)"
    exit 1
}
