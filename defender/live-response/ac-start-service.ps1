<#
.SYNOPSIS
  Action Center for Slack: give a stopped service back its start type, and start it if it ran.
.DESCRIPTION
  Undo of a `stop_service` action, run by Defender live response (RunScript). Reads service.json,
  which ac-stop-service.ps1 saved under %ProgramData%\ActionCenter\<ActionId>\, restores the
  start type and starts the service if it was running. Records the restore in restored.json.
  Exits 0 when the service is as it was, non-zero with the reason otherwise.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [Parameter(Mandatory = $true)][long]$ActionId
)
$ErrorActionPreference = 'Stop'
try {
    $backup = Join-Path $env:ProgramData "ActionCenter\$ActionId"
    $file = Join-Path $backup 'service.json'
    if (-not (Test-Path -LiteralPath $file)) { throw "nothing was saved for action $ActionId ($file is missing)" }
    $saved = Get-Content -LiteralPath $file -Raw | ConvertFrom-Json
    if ($saved.Name -ne $Name) { throw "the state saved for action $ActionId is of service '$($saved.Name)', not '$Name'" }
    $service = Get-Service -Name $Name
    Set-Service -Name $service.Name -StartupType $saved.StartType
    if ($saved.Status -eq 'Running') {
        Start-Service -Name $service.Name
        $service.WaitForStatus('Running', [TimeSpan]::FromSeconds(60))
    }
    [pscustomobject]@{ Name = $Name; RestoredAt = (Get-Date).ToUniversalTime().ToString('o') } |
        ConvertTo-Json | Set-Content -LiteralPath (Join-Path $backup 'restored.json') -Encoding UTF8
    Write-Output "Service '$Name' is back to $($saved.StartType)$(if ($saved.Status -eq 'Running') { ' and running' })"
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-start-service: $($_.Exception.Message)"
    exit 1
}
