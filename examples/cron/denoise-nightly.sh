#!/usr/bin/env bash
# Nightly digit-denoise run for cron: logs to a file, keeps a JSON report per night,
# and passes digit-denoise's exit code on so cron (or a monitor) sees failures.
#
#   SCANS    the archive to read (never modified)
#   OUT      where the denoised tree goes (must differ from SCANS)
#   LOGS     where logs and reports go
#   VENV     the virtual environment digit-denoise is installed in
set -uo pipefail
SCANS=${SCANS:-/srv/scans}
OUT=${OUT:-/srv/scans-denoised}
LOGS=${LOGS:-/var/log/digit-denoise}
VENV=${VENV:-/opt/digit-denoise/.venv}
mkdir -p "$LOGS"
stamp=$(date +%Y-%m-%d)

# stderr goes to a file too (failed and flagged files are listed there), and cron should mail only
# the one-line verdicts below.
"$VENV/bin/digit-denoise" run "$SCANS" "$OUT" \
    --quiet --max-failures 1000 \
    --log-file "$LOGS/digit-denoise.log" \
    --report "$LOGS/report-$stamp.json" \
    2>>"$LOGS/stderr.log"
code=$?
case $code in
    0)   ;;                                                        # all done
    1)   if [ -f "$LOGS/report-$stamp.json" ]; then where="$LOGS/report-$stamp.json"; else where="$LOGS/stderr.log"; fi
         echo "digit-denoise: some files failed or the run stopped early (a full disk?), see $where" >&2 ;;
    3)   echo "digit-denoise: the previous run is still going; skipped tonight" >&2; code=0 ;;
    4)   echo "digit-denoise: no image files under $SCANS; is the share mounted?" >&2 ;;
    130) echo "digit-denoise: interrupted; the next run finishes the rest" >&2 ;;
    70)  echo "digit-denoise: internal error (a bug), see $LOGS/stderr.log" >&2 ;;
    *)   echo "digit-denoise: failed with exit code $code (usage, config or model error), see $LOGS/stderr.log" >&2 ;;
esac
exit $code
