<#
.SYNOPSIS
  Action Center for Slack: stop a service and keep it from starting again, remembering how it was.
.DESCRIPTION
  Run by Defender live response (RunScript) for a `stop_service` action. Saves the service's
  status and start type to service.json under %ProgramData%\ActionCenter\<ActionId>\ (read by
  ac-start-service.ps1), then stops it and sets its start type to Disabled.
  Exits 0 when the service is stopped and disabled, non-zero with the reason otherwise.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Name,
    [Parameter(Mandatory = $true)][long]$ActionId
)
$ErrorActionPreference = 'Stop'
try {
    $service = Get-Service -Name $Name
    $backup = Join-Path $env:ProgramData "ActionCenter\$ActionId"
    New-Item -ItemType Directory -Force -Path $backup | Out-Null
    [pscustomobject]@{ Name = $service.Name; Status = "$($service.Status)"; StartType = "$($service.StartType)" } |
        ConvertTo-Json | Set-Content -LiteralPath (Join-Path $backup 'service.json') -Encoding UTF8
    Set-Service -Name $service.Name -StartupType Disabled
    if ($service.Status -ne 'Stopped') {
        Stop-Service -Name $service.Name -Force
        $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
    }
    Write-Output "Stopped and disabled service '$($service.Name)' (was $($service.Status), $($service.StartType)); saved to $backup"
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-stop-service: $($_.Exception.Message)"
    exit 1
}
