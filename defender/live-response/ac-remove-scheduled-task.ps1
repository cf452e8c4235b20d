<#
.SYNOPSIS
  Action Center for Slack: remove a scheduled task, keeping its definition for undo.
.DESCRIPTION
  Run by Defender live response (RunScript) for a `remove_scheduled_task` action. -TaskPath is
  the task's full path, e.g. \Microsoft\Windows\Updater\Check. Its definition is exported to
  task.xml under %ProgramData%\ActionCenter\<ActionId>\ (read by ac-restore-scheduled-task.ps1),
  then the task is unregistered. Exits 0 when the task is gone, non-zero with the reason otherwise.
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
    if (-not $name) { throw "'$TaskPath' names a folder, not a task" }
    $task = Get-ScheduledTask -TaskPath $folder -TaskName $name
    $backup = Join-Path $env:ProgramData "ActionCenter\$ActionId"
    New-Item -ItemType Directory -Force -Path $backup | Out-Null
    Export-ScheduledTask -TaskPath $task.TaskPath -TaskName $task.TaskName |
        Set-Content -LiteralPath (Join-Path $backup 'task.xml') -Encoding Unicode
    Unregister-ScheduledTask -TaskPath $task.TaskPath -TaskName $task.TaskName -Confirm:$false
    if (Get-ScheduledTask -TaskPath $folder -TaskName $name -ErrorAction SilentlyContinue) { throw "task '$full' is still there" }
    Write-Output "Removed scheduled task '$full'; its definition is saved in $backup\task.xml"
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-remove-scheduled-task: $($_.Exception.Message)"
    exit 1
}
