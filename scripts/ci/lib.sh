# shellcheck shell=bash
# Shared by scripts/ci/*. Those scripts are each CI job's whole logic: the workflows only
# authenticate and call them, and the deploy rehearsal (tests/rehearsal) calls the same scripts.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The Terraform root CI deploys; a relative TF_ROOT is taken from the repository root.
TF_ROOT="$(cd "${REPO_ROOT}" && realpath -m "${TF_ROOT:-terraform/environments/production}")"
GATEWAYCTL="${GATEWAYCTL:-${REPO_ROOT}/.venv/bin/gatewayctl}"

log() { printf '%s\n' "$*" >&2; }

# An error annotation on GitHub, a plain line anywhere else.
die() {
  printf '::error::%s\n' "$*" >&2
  exit 1
}

need_env() {
  local v
  for v in "$@"; do
    [[ -n "${!v:-}" ]] || die "${v} is not set; see docs/runbook.md (\"Repository settings\")"
  done
}

# `name=value` for later steps (GitHub's step outputs); nothing elsewhere.
step_output() {
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT}"; fi
}

# Append stdin to the job summary on GitHub; elsewhere drop it (the caller also keeps a file).
job_summary() {
  if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then cat >>"${GITHUB_STEP_SUMMARY}"; else cat >/dev/null; fi
}

# Hide a value in GitHub's logs before it can appear there. Outside Actions, print nothing at all.
mask() {
  if [[ "${GITHUB_ACTIONS:-}" == "true" ]]; then printf '::add-mask::%s\n' "$1"; fi
}

# The value of a Secrets Manager secret, or of one JSON field of it. Never printed.
secret_value() { # $1 secret id, $2 optional JSON field
  local raw
  raw="$(aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text)" ||
    die "cannot read secret $1 (does the role allow secretsmanager:GetSecretValue on it?)"
  if [[ -n "${2:-}" ]]; then
    python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$2" <<<"${raw}" ||
      die "secret $1 has no JSON field $2"
  else
    printf '%s\n' "${raw}"
  fi
}

# Load the gateway credential named by a secret into LITELLM_MASTER_KEY (masked first).
gateway_key_from_secret() { # $1 secret id, $2 optional JSON field
  local key
  key="$(secret_value "$@")"
  [[ -n "${key}" ]] || die "secret $1 is empty"
  mask "${key}"
  export LITELLM_MASTER_KEY="${key}"
}

# Key notices and budget alerts (reconciler/notifications/notify.py) are optional: GATEWAYCTL_NOTIFY ses|smtp (empty or
# none: no emails) needs GATEWAYCTL_NOTIFY_FROM; smtp also needs GATEWAYCTL_SMTP_HOST, takes
# GATEWAYCTL_SMTP_PORT (default 587) and GATEWAYCTL_SMTP_USERNAME with GATEWAYCTL_SMTP_PASSWORD (both or
# neither). GATEWAYCTL_GUIDE_URL links the employee guide in them. Prints what is wrong, nothing if all is well.
notify_env_problem() {
  case "${GATEWAYCTL_NOTIFY:-none}" in
    "" | none) return 0 ;;
    ses | smtp) ;;
    *)
      printf "GATEWAYCTL_NOTIFY must be ses, smtp or none, not '%s'" "${GATEWAYCTL_NOTIFY}"
      return 0
      ;;
  esac
  if [[ -z "${GATEWAYCTL_NOTIFY_FROM:-}" ]]; then
    printf 'GATEWAYCTL_NOTIFY=%s needs GATEWAYCTL_NOTIFY_FROM (the sender address)' "${GATEWAYCTL_NOTIFY}"
  elif [[ "${GATEWAYCTL_NOTIFY}" == smtp && -z "${GATEWAYCTL_SMTP_HOST:-}" ]]; then
    printf 'GATEWAYCTL_NOTIFY=smtp needs GATEWAYCTL_SMTP_HOST (the relay)'
  elif [[ "${GATEWAYCTL_NOTIFY}" == smtp && ! "${GATEWAYCTL_SMTP_PORT:-587}" =~ ^[0-9]+$ ]]; then
    printf 'GATEWAYCTL_SMTP_PORT must be a port number'
  elif [[ "${GATEWAYCTL_NOTIFY}" == smtp && "${GATEWAYCTL_SMTP_USERNAME:+set}" != "${GATEWAYCTL_SMTP_PASSWORD:+set}" ]]; then
    printf 'GATEWAYCTL_SMTP_USERNAME and GATEWAYCTL_SMTP_PASSWORD go together: set both or neither'
  fi
}

# The jobs that change keys (reconcile, rotate): a notification setting that is wrong is a warning up
# front, never a reason to leave a revocation undone. gatewayctl goes ahead and records each notice it
# could not send in the audit log; the first run after the setting is fixed sends them.
warn_notify_env() {
  local problem
  problem="$(notify_env_problem)"
  [[ -n "${problem}" ]] || return 0
  printf '::warning::%s. Keys are still changed; the notices due are recorded as not delivered in the audit log and sent by the first run after the setting is fixed (docs/runbook.md, "Repository settings")\n' \
    "${problem}" >&2
  printf '> **Warning:** notifications are not configured: %s\n\n' "${problem}" | job_summary
}

# The budget alerts, whose whole job is the email: a wrong setting stops them before anything is read.
need_notify_env() {
  local problem
  problem="$(notify_env_problem)"
  [[ -z "${problem}" ]] || die "${problem}; see docs/runbook.md (\"Repository settings\")"
}

need_gatewayctl() {
  [[ -x "${GATEWAYCTL}" ]] || die "${GATEWAYCTL} not found; run \`make setup\` first"
}
