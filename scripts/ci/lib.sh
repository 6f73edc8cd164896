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

# Key notices (reconciler/notify.py) are optional: GATEWAYCTL_NOTIFY ses|smtp (empty or none: no
# emails) needs GATEWAYCTL_NOTIFY_FROM; GATEWAYCTL_GUIDE_URL links the employee guide in them.
need_notify_env() {
  case "${GATEWAYCTL_NOTIFY:-none}" in
    "" | none) ;;
    ses | smtp) need_env GATEWAYCTL_NOTIFY_FROM ;;
    *) die "GATEWAYCTL_NOTIFY must be ses, smtp or none, not '${GATEWAYCTL_NOTIFY}'" ;;
  esac
}

need_gatewayctl() {
  [[ -x "${GATEWAYCTL}" ]] || die "${GATEWAYCTL} not found; run \`make setup\` first"
}
