<#
.SYNOPSIS
  Action Center for Slack: register again the scheduled task that ac-remove-scheduled-task.ps1 removed.
.DESCRIPTION
  Undo of a `remove_scheduled_task` action, run by Defender live response (RunScript). Registers
  the task.xml saved under %ProgramData%\ActionCenter\<ActionId>\ at its old path. A task that
  ran as a user with a stored password comes back without the password: Windows never exports
  it, so such a task needs its credentials set again. Records the restore in restored.json.
  Exits 0 when the task is back, non-zero with the reason otherwise.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$TaskPath,
    [Parameter(Mandatory = $true)][long]$ActionId
)
$ErrorActionPreference = 'Stop'
try {
    $full = if ($TaskPath.StartsWith('\')) { $TaskPath } else { "\$TaskPath" }
    $cut = $full.LastIndexOf('\')
    $folder = $full.Substring(0, $cut + 1)
    $name = $full.Substring($cut + 1)
    $backup = Join-Path $env:ProgramData "ActionCenter\$ActionId"
    $file = Join-Path $backup 'task.xml'
    if (-not (Test-Path -LiteralPath $file)) { throw "nothing was saved for action $ActionId ($file is missing)" }
    Register-ScheduledTask -Xml (Get-Content -LiteralPath $file -Raw) -TaskPath $folder -TaskName $name | Out-Null
    if (-not (Get-ScheduledTask -TaskPath $folder -TaskName $name -ErrorAction SilentlyContinue)) { throw "task '$full' did not come back" }
    [pscustomobject]@{ TaskPath = $full; RestoredAt = (Get-Date).ToUniversalTime().ToString('o') } |
        ConvertTo-Json | Set-Content -LiteralPath (Join-Path $backup 'restored.json') -Encoding UTF8
    Write-Output "Registered scheduled task '$full' again from $file"
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-restore-scheduled-task: $($_.Exception.Message)"
    exit 1
}
