#!/usr/bin/env bash
# pip-audit over the locked dependencies (requirements.lock). Fails on any known vulnerability; reports the
# packages the vulnerability service has no record of (a private mirror, or versions newer than its data)
# rather than failing on them, since "could not audit" is not "vulnerable". The tool lives in its own venv.
set -euo pipefail
cd "$(dirname "$0")/.."
AUDIT_VENV=${AUDIT_VENV:-/var/tmp/compliance-ci/pip-audit}
if [ ! -x "$AUDIT_VENV/bin/pip-audit" ]; then
    python3 -m venv "$AUDIT_VENV"
    "$AUDIT_VENV/bin/pip" install --quiet --disable-pip-version-check pip-audit
fi
report=$(mktemp)
trap 'rm -f "$report"' EXIT
"$AUDIT_VENV/bin/pip-audit" -r requirements.lock --no-deps --disable-pip --progress-spinner off \
    --format json --output "$report" 2>/dev/null || status=$?
python3 - "$report" "${status:-0}" <<'PY'
import json
import sys

report, status = sys.argv[1], int(sys.argv[2])
try:
    deps = json.load(open(report))["dependencies"]
except (OSError, ValueError, KeyError):
    sys.exit(f"pip-audit produced no report (exit {status}): is the vulnerability service reachable?")
vulnerable = [d for d in deps if d.get("vulns")]
unaudited = [d for d in deps if "skip_reason" in d]
print(f"pip-audit: {len(deps)} locked packages, {len(deps) - len(unaudited)} audited, "
      f"{len(vulnerable)} with known vulnerabilities, {len(unaudited)} not known to the service")
for d in unaudited:
    print(f"  not audited: {d['name']} {d.get('version', '')}: {d['skip_reason']}")
for d in vulnerable:
    print(f"  VULNERABLE: {d['name']} {d['version']}: " + ", ".join(v["id"] for v in d["vulns"]))
sys.exit(1 if vulnerable else 0)
PY
