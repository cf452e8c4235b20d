<#
.SYNOPSIS
  Action Center for Slack: give a disabled driver back its start mode, and start it if it ran.
.DESCRIPTION
  Undo of a `disable_driver` action, run by Defender live response (RunScript). Reads driver.json,
  which ac-disable-driver.ps1 saved under %ProgramData%\ActionCenter\<ActionId>\, restores the
  start mode and starts the driver if it was running. Records the restore in restored.json.
  Exits 0 when the driver is as it was, non-zero with the reason otherwise.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [Parameter(Mandatory = $true)][long]$ActionId
)
$ErrorActionPreference = 'Stop'
try {
    $backup = Join-Path $env:ProgramData "ActionCenter\$ActionId"
    $file = Join-Path $backup 'driver.json'
    if (-not (Test-Path -LiteralPath $file)) { throw "nothing was saved for action $ActionId ($file is missing)" }
    $saved = Get-Content -LiteralPath $file -Raw | ConvertFrom-Json
    if ($saved.Name -ne $Name) { throw "the state saved for action $ActionId is of driver '$($saved.Name)', not '$Name'" }
    # Win32_SystemDriver's StartMode names, as sc.exe spells them.
    $start = @{ Boot = 'boot'; System = 'system'; Auto = 'auto'; Manual = 'demand'; Disabled = 'disabled' }[$saved.StartMode]
    if (-not $start) { throw "unknown saved start mode '$($saved.StartMode)'" }
    & sc.exe config $Name start= $start | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "sc.exe config '$Name' start= $start failed with exit code $LASTEXITCODE" }
    if ($saved.State -eq 'Running') {
        & sc.exe start $Name | Out-Null
        # 1056: already running.
        if ($LASTEXITCODE -ne 0 -and $LASTEXITCODE -ne 1056) { throw "sc.exe start '$Name' failed with exit code $LASTEXITCODE" }
    }
    [pscustomobject]@{ Name = $Name; RestoredAt = (Get-Date).ToUniversalTime().ToString('o') } |
        ConvertTo-Json | Set-Content -LiteralPath (Join-Path $backup 'restored.json') -Encoding UTF8
    Write-Output "Driver '$Name' is back to $($saved.StartMode)$(if ($saved.State -eq 'Running') { ' and running' })"
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-enable-driver: $($_.Exception.Message)"
    exit 1
}
