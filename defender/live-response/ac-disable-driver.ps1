<#
.SYNOPSIS
  Action Center for Slack: disable a kernel driver, remembering how it started.
.DESCRIPTION
  Run by Defender live response (RunScript) for a `disable_driver` action. Saves the driver's
  start mode and state to driver.json under %ProgramData%\ActionCenter\<ActionId>\ (read by
  ac-enable-driver.ps1), sets its start type to disabled and stops it. A driver that refuses to
  stop stays loaded until the next restart and does not load again; the output says so.
  Exits 0 when the driver is disabled, non-zero with the reason otherwise.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [Parameter(Mandatory = $true)][long]$ActionId
)
$ErrorActionPreference = 'Stop'
try {
    $driver = Get-CimInstance -ClassName Win32_SystemDriver | Where-Object { $_.Name -eq $Name } | Select-Object -First 1
    if (-not $driver) { throw "driver '$Name' does not exist" }
    $backup = Join-Path $env:ProgramData "ActionCenter\$ActionId"
    New-Item -ItemType Directory -Force -Path $backup | Out-Null
    [pscustomobject]@{ Name = $driver.Name; StartMode = $driver.StartMode; State = $driver.State; PathName = $driver.PathName } |
        ConvertTo-Json | Set-Content -LiteralPath (Join-Path $backup 'driver.json') -Encoding UTF8
    & sc.exe config $driver.Name start= disabled | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "sc.exe config '$($driver.Name)' start= disabled failed with exit code $LASTEXITCODE" }
    $note = ''
    if ($driver.State -eq 'Running') {
        & sc.exe stop $driver.Name | Out-Null
        if ($LASTEXITCODE -ne 0) { $note = "; it did not stop (sc.exe exit code $LASTEXITCODE) and stays loaded until the next restart" }
    }
    Write-Output "Disabled driver '$($driver.Name)' (was $($driver.StartMode), $($driver.State))$note; saved to $backup"
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-disable-driver: $($_.Exception.Message)"
    exit 1
}
