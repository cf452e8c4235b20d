<#
.SYNOPSIS
  Action Center for Slack: restore a file Microsoft Defender Antivirus quarantined, checked by hash.
.DESCRIPTION
  Undo of a `quarantine_file` action, run by Defender live response (RunScript). Microsoft
  documents no API for this; its documented way is MpCmdRun.exe -Restore on the device, which
  this script runs:
  - with -Path, the file quarantined from that path is restored there (MpCmdRun -Restore -FilePath);
  - without it (a quarantine done in the portal names only the file's hashes), each quarantined
    file Defender's detection history names is restored into a scratch folder first, and only the
    one whose SHA-256 matches is moved back to where it was; any other is scanned again, which
    quarantines it again.
  The restored file's SHA-256 must equal -Sha256. What was restored is recorded in restored.json
  under %ProgramData%\ActionCenter\<ActionId>\. Exits 0 when the file is back, non-zero otherwise.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Sha256,
    [string]$Sha1,
    [string]$Path,
    [Parameter(Mandatory = $true)][long]$ActionId
)
$ErrorActionPreference = 'Stop'

function Find-MpCmdRun {
    # An updated platform runs from ProgramData; the inbox copy stays in Program Files.
    $platform = Join-Path $env:ProgramData 'Microsoft\Windows Defender\Platform'
    $newest = Get-ChildItem -LiteralPath $platform -Directory -ErrorAction SilentlyContinue |
        Sort-Object { [version]($_.Name -replace '-.*$', '') } -Descending |
        ForEach-Object { Join-Path $_.FullName 'MpCmdRun.exe' } |
        Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
    if ($newest) { return $newest }
    $inbox = Join-Path $env:ProgramFiles 'Windows Defender\MpCmdRun.exe'
    if (Test-Path -LiteralPath $inbox) { return $inbox }
    throw 'MpCmdRun.exe was not found: is Microsoft Defender Antivirus installed?'
}

function Test-Hash([string]$File) {
    (Get-FileHash -LiteralPath $File -Algorithm SHA256).Hash -ieq $Sha256
}

try {
    $mp = Find-MpCmdRun
    $backup = Join-Path $env:ProgramData "ActionCenter\$ActionId"
    New-Item -ItemType Directory -Force -Path $backup | Out-Null
    $restored = $null
    if ($Path) {
        $output = & $mp -Restore -FilePath $Path 2>&1
        if ($LASTEXITCODE -ne 0) { throw "MpCmdRun -Restore -FilePath '$Path' failed with exit code ${LASTEXITCODE}: $output" }
        if (-not (Test-Path -LiteralPath $Path)) { throw "MpCmdRun restored nothing at '$Path'" }
        if (-not (Test-Hash $Path)) { throw "the file restored at '$Path' does not have SHA-256 $Sha256" }
        $restored = $Path
    }
    else {
        $candidates = @(Get-MpThreatDetection | ForEach-Object { $_.Resources } |
                Where-Object { $_ -like 'file:_*' } | ForEach-Object { $_.Substring(6) } |
                Where-Object { -not (Test-Path -LiteralPath $_) } | Select-Object -Unique)
        if ($candidates.Count -eq 0) { throw "Defender's detection history names no quarantined file that is not on disk" }
        $scratch = Join-Path $backup 'scratch'
        foreach ($candidate in $candidates) {
            New-Item -ItemType Directory -Force -Path $scratch | Out-Null
            & $mp -Restore -FilePath $candidate -Path $scratch 2>&1 | Out-Null
            if ($LASTEXITCODE -ne 0) { continue }
            $copy = Join-Path $scratch (Split-Path -Leaf $candidate)
            if (-not (Test-Path -LiteralPath $copy)) { continue }
            if (Test-Hash $copy) {
                New-Item -ItemType Directory -Force -Path (Split-Path -Parent $candidate) | Out-Null
                Move-Item -LiteralPath $copy -Destination $candidate
                $restored = $candidate
                break
            }
            # Not the file asked for: scanning it quarantines it again.
            & $mp -Scan -ScanType 3 -File $copy 2>&1 | Out-Null
        }
        Remove-Item -LiteralPath $scratch -Recurse -Force -ErrorAction SilentlyContinue
        if (-not $restored) { throw "no quarantined file has SHA-256 $Sha256 (looked at $($candidates.Count))" }
    }
    [pscustomobject]@{ Sha256 = $Sha256; Sha1 = $Sha1; Path = $restored; RestoredAt = (Get-Date).ToUniversalTime().ToString('o') } |
        ConvertTo-Json | Set-Content -LiteralPath (Join-Path $backup 'restored.json') -Encoding UTF8
    Write-Output "Restored '$restored' (SHA-256 $Sha256)"
    exit 0
}
catch {
    $ErrorActionPreference = 'Continue'
    Write-Error "ac-restore-file: $($_.Exception.Message)"
    exit 1
}
