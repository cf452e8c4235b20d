<#
.SYNOPSIS
  Action Center for Slack: stop a process by id, by image path, or by both.
.DESCRIPTION
  Run by Defender live response (RunScript) for a `stop_process` action. With both -ProcessId and
  -ImagePath, the process with that id is stopped only if it runs that image, so that an id the
  system has since given to another program is not killed. With -ImagePath alone, every process
  running that image is stopped. What was stopped (id, image, command line) is recorded in
  processes.json under %ProgramData%\ActionCenter\<ActionId>\; a stopped process cannot be undone.
  Exits 0 when no such process runs any more, non-zero with the reason otherwise.
#>
[CmdletBinding()]
param(
    [int]$ProcessId,
    [string]$ImagePath,
    [Parameter(Mandatory = $true)][long]$ActionId
)
$ErrorActionPreference = 'Stop'
try {
    if (-not $ProcessId -and -not $ImagePath) { throw 'give -ProcessId, -ImagePath or both' }
    $all = Get-CimInstance -ClassName Win32_Process
    $targets = @($all | Where-Object {
            (-not $ProcessId -or $_.ProcessId -eq $ProcessId) -and
            (-not $ImagePath -or ($_.ExecutablePath -and $_.ExecutablePath -ieq $ImagePath))
        })
    if ($targets.Count -eq 0) {
        $what = @(); if ($ProcessId) { $what += "id $ProcessId" }; if ($ImagePath) { $what += "image '$ImagePath'" }
        throw "no process runs with $($what -join ' and ')"
    }
    $backup = Join-Path $env:ProgramData "ActionCenter\$ActionId"
    New-Item -ItemType Directory -Force -Path $backup | Out-Null
    $targets | Select-Object ProcessId, ExecutablePath, CommandLine, ParentProcessId |
        ConvertTo-Json | Set-Content -LiteralPath (Join-Path $backup 'processes.json') -Encoding UTF8
    foreach ($process in $targets) { Stop-Process -Id $process.ProcessId -Force }
    Start-Sleep -Milliseconds 500
    $left = @($targets | Where-Object { Get-Process -Id $_.ProcessId -ErrorAction SilentlyContinue })
    if ($left.Count -gt 0) { throw "process(es) $(@($left.ProcessId) -join ', ') still run" }
    Write-Output "Stopped $($targets.Count) process(es): $(@($targets.ProcessId) -join ', '); recorded in $backup"
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-stop-process: $($_.Exception.Message)"
    exit 1
}
